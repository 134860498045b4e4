// Checkpoints from the command line: a run killed with SIGKILL after a checkpoint and run again
// reports exactly what the uninterrupted run reports; --resume, --fresh and a checkpoint of
// another config; `evaluate` re-scores a checkpoint as the run scored it.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "support/run_binary.h"

namespace fs = std::filesystem;
using xb::test::run_xformer_bench;

TEST_SUITE_BEGIN("integration");

namespace {

// A tiny ListOps run with dropout, checkpointed every 10 steps.
std::vector<std::string> tiny_run(const std::string& report, int steps) {
    std::vector<std::string> args = {"run", "--quiet", "--threads", "1", "--report", report};
    for (const std::string& o : std::vector<std::string>{
             "task.max_len=40", "task.n_train=64", "task.n_val=16", "task.n_test=16",
             R"(task.options={"min_length":8,"max_length":40})", "model.layers=1", "model.dim=16",
             "model.heads=2", "model.ffn_dim=32", "model.dropout=0.1", "train.batch_size=8",
             "train.eval_every=" + std::to_string(steps / 5), "train.checkpoint_every=10",
             "train.steps=" + std::to_string(steps)})
        args.insert(args.end(), {"--set", o});
    return args;
}

// The same as one shell string (each word quoted).
std::string shell_words(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += " '" + a + "'";
    return s;
}

// What must not change when a run is interrupted and resumed: everything but times and memory.
void check_same_results(const nlohmann::json& a, const nlohmann::json& b) {
    CHECK(a["status"] == b["status"]);
    CHECK(a["steps"] == b["steps"]);
    CHECK(a["metrics"] == b["metrics"]);  // doubles round-trip exactly through the JSON text
    REQUIRE(a["history"].size() == b["history"].size());
    for (size_t i = 0; i < a["history"].size(); ++i)
        for (const char* k : {"step", "train_loss", "val_accuracy"})
            CHECK(a["history"][i][k] == b["history"][i][k]);
}

}  // namespace

TEST_CASE("cli: a run killed with SIGKILL after a checkpoint resumes to the uninterrupted report") {
    const std::string dir = xb::test::temp_dir("ckpt_kill");
    const int steps = 1500;
    auto whole = run_xformer_bench(shell_words(tiny_run(dir + "/whole.json", steps)));
    REQUIRE(whole.exit_code == 0);

    const std::string report = dir + "/killed.json", checkpoint = report + ".ckpt";
    pid_t pid = xb::test::spawn_xformer_bench(tiny_run(report, steps));
    REQUIRE(xb::test::eventually([&] { return fs::exists(checkpoint); }));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    REQUIRE_MESSAGE(!fs::exists(report), "the run finished before it could be killed");

    auto resumed = run_xformer_bench(shell_words(tiny_run(report, steps)));
    CAPTURE(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(resumed.err.find("resuming from " + checkpoint) != std::string::npos);
    const nlohmann::json a = xb::read_json_file(dir + "/whole.json");
    const nlohmann::json b = xb::read_json_file(report);
    const int64_t from = b["resumed_from_step"];
    CHECK(from >= 10);
    CHECK(from < steps);
    CHECK(from % 10 == 0);
    check_same_results(a, b);
    for (const auto& e : fs::directory_iterator(dir))
        CHECK_MESSAGE(e.path().string().find(".tmp") == std::string::npos, e.path().string());
}

TEST_CASE(
    "cli: --resume needs a checkpoint; one of another config is refused; --fresh ignores it") {
    const std::string dir = xb::test::temp_dir("ckpt_flags");
    const std::string report = dir + "/r.json";
    const std::string args = shell_words(tiny_run(report, 20));
    auto r = run_xformer_bench(args + " --resume");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "error: " + report + ".ckpt: no checkpoint to resume from (--resume)\n");

    REQUIRE(run_xformer_bench(args).exit_code == 0);
    CHECK(fs::exists(report + ".ckpt"));  // kept after the run, for `evaluate`
    const nlohmann::json first = xb::read_json_file(report);
    CHECK(!first.contains("resumed_from_step"));
    // The same command again continues from the finished checkpoint: the same report.
    r = run_xformer_bench(args + " --resume");
    CHECK(r.exit_code == 0);
    const nlohmann::json again = xb::read_json_file(report);
    CHECK(again["resumed_from_step"] == 20);
    check_same_results(first, again);

    r = run_xformer_bench(args + " --set optim.lr=0.01 --set model.dim=8");
    CHECK(r.exit_code == 2);
    CHECK(xb::test::count_lines(r.err) == 1);
    CHECK(r.err.find(report + ".ckpt: checkpoint of another config (differs in model.dim, "
                              "optim.lr)") != std::string::npos);
    r = run_xformer_bench(args + " --set optim.lr=0.01 --fresh");
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("resuming") == std::string::npos);
    CHECK(xb::read_json_file(report)["config"]["optim"]["lr"] == 0.01);
}

TEST_CASE("cli: evaluate re-scores a checkpoint's best and final weights as the run did") {
    const std::string dir = xb::test::temp_dir("ckpt_eval");
    const std::string report = dir + "/r.json";
    REQUIRE(run_xformer_bench(shell_words(tiny_run(report, 40))).exit_code == 0);
    const nlohmann::json run = xb::read_json_file(report);
    struct Case {
        std::string split, weights, metric;
    };
    for (const Case& c :
         {Case{"test", "best", "test_accuracy"}, Case{"test", "final", "final_test_accuracy"},
          Case{"val", "best", "best_val_accuracy"}}) {
        CAPTURE(c.weights);
        auto r = run_xformer_bench("evaluate --checkpoint " + report + ".ckpt --split " + c.split +
                                   " --weights " + c.weights);
        CHECK(r.exit_code == 0);
        CHECK(xb::test::count_lines(r.out) == 1);
        const std::string out = dir + "/r.eval-" + c.split + "-" + c.weights + ".json";
        REQUIRE(fs::exists(out));
        const nlohmann::json e = xb::read_json_file(out);
        CHECK(e["schema"] == "xformer-bench/evaluation/1");
        CHECK(e["accuracy"] == run["metrics"][c.metric]);
        CHECK(e["weights_step"] ==
              (c.weights == "best" ? run["metrics"]["best_val_step"] : run["steps"]));
    }
    // The evaluation reports sit beside the run's and `compare` passes over them silently.
    auto r = run_xformer_bench("compare " + dir);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
}

TEST_SUITE_END();
