// End to end: a tiny model on a tiny ListOps lowers its loss; the same seed and thread count give
// identical metrics and history; the run report carries every documented field.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/file_io.h"
#include "core/rng.h"
#include "report/run_report.h"
#include "setup/run_setup.h"
#include "support/run_binary.h"
#include "train/trainer.h"

TEST_SUITE_BEGIN("integration");

using namespace xb;

static RunSetup tiny_setup() {
    return load_run_setup("",
                          {"task.max_len=40", "task.n_train=512", "task.n_val=64", "task.n_test=64",
                           "task.options={\"min_length\": 8, \"max_length\": 40, \"max_depth\": 4, "
                           "\"max_args\": 4}",
                           "model.layers=1", "model.dim=32", "model.heads=2", "model.ffn_dim=64",
                           "optim.lr=0.003", "optim.warmup_steps=10", "optim.schedule=constant",
                           "train.batch_size=16", "train.steps=60", "train.eval_every=20"});
}

TEST_CASE("end to end: a tiny ListOps run lowers its loss and reports both test accuracies") {
    const RunSetup setup = tiny_setup();
    const RunConfig& cfg = setup.config;
    auto task = make_task(cfg.task);
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
    RunResult r = train_and_evaluate(setup, *task, data);
    CHECK(r.status == "completed");
    REQUIRE(r.history.size() == 3);
    CHECK(r.history.back().train_loss < r.history.front().train_loss);
    CHECK(r.history.front().train_loss < 2.6);  // below log(10)+: the model is learning something
    REQUIRE(r.test_accuracy.has_value());
    REQUIRE(r.final_test_accuracy.has_value());
    CHECK(r.peak_tensor_bytes > r.param_bytes);
    CHECK(r.forward_s > 0);
    CHECK(r.backward_s > 0);
}

TEST_CASE("end to end: same seed and threads give identical metrics and history") {
    RunSetup setup = tiny_setup();
    RunConfig& cfg = setup.config;
    cfg.train.steps = 40;
    auto task = make_task(cfg.task);
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
    RunResult a = train_and_evaluate(setup, *task, data);
    RunResult b = train_and_evaluate(setup, *task, data);
    REQUIRE(a.history.size() == b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
        CHECK(a.history[i].train_loss == b.history[i].train_loss);
        CHECK(a.history[i].val_accuracy == b.history[i].val_accuracy);
    }
    CHECK(*a.test_accuracy == *b.test_accuracy);
    CHECK(*a.final_test_accuracy == *b.final_test_accuracy);
    CHECK(*a.final_train_loss == *b.final_train_loss);
    cfg.seed = 2;
    RunResult c = train_and_evaluate(setup, *task, data);
    CHECK(c.history[0].train_loss != a.history[0].train_loss);
}

TEST_CASE("end to end: `run` writes a complete report atomically and prints one line") {
    std::string dir = xb::test::temp_dir("run");
    auto r = xb::test::run_xformer_bench(
        "run --quiet --out " + dir +
        " --set task.max_len=40 --set task.n_train=64 --set task.n_val=16 --set task.n_test=16"
        " --set 'task.options={\"min_length\":8,\"max_length\":40}' --set model.layers=1"
        " --set model.dim=16 --set model.heads=2 --set train.steps=4 --set train.eval_every=2"
        " --set train.batch_size=8 --threads 1 --seed 3");
    REQUIRE(r.exit_code == 0);
    CHECK(xb::test::count_lines(r.out) == 1);
    std::string path = dir + "/listops__full__seed3.json";
    REQUIRE(std::filesystem::exists(path));
    nlohmann::json j = read_json_file(path);
    CHECK(j["schema"] == kRunSchema);
    CHECK(j["status"] == "completed");
    for (const char* k :
         {"task", "model", "config", "seed", "metrics", "history", "time", "memory", "environment"})
        CHECK_MESSAGE(j.contains(k), k);
    for (const char* k : {"best_val_accuracy", "best_val_step", "test_accuracy",
                          "final_test_accuracy", "final_train_loss"})
        CHECK_MESSAGE(j["metrics"].contains(k), k);
    for (const char* k : {"total_s", "train_s", "eval_s", "step_mean_s", "forward_s", "backward_s",
                          "optimizer_s", "train_tokens_per_s", "eval_tokens_per_s"})
        CHECK_MESSAGE(j["time"].contains(k), k);
    for (const char* k : {"peak_tensor_bytes", "peak_rss_bytes", "param_bytes"})
        CHECK_MESSAGE(j["memory"].contains(k), k);
    for (const char* k : {"cpu", "threads", "compiler", "build_type", "version", "git_commit"})
        CHECK_MESSAGE(j["environment"].contains(k), k);
    CHECK(j["task"]["splits"]["train"] == 64);
    CHECK(j["config"]["seed"] == 3);
    CHECK(j["history"].size() == 2);
    // RunReport carries every field `run` wrote: read and written again, the file's exact text.
    CHECK(nlohmann::json(j.get<RunReport>()).dump(2) + "\n" == read_file_bytes(path));
    int leftovers = 0;
    for (auto& e : std::filesystem::directory_iterator(dir))
        leftovers += e.path().string().find(".tmp") != std::string::npos;
    CHECK(leftovers == 0);
}

TEST_CASE("end to end: the dual encoder learns a matching task (pair path)") {
    // Each document is drawn from one of two disjoint byte alphabets; the label says whether
    // the two documents of a pair share their alphabet. Neither document alone says anything
    // about the label: only the comparison of u and v in the dual-encoder head does.
    const RunSetup setup = load_run_setup(
        "", {"task.name=retrieval", "task.max_len=24", "model.layers=1", "model.dim=32",
             "model.heads=2", "model.ffn_dim=64", "model.positions=none", "optim.lr=0.003",
             "optim.warmup_steps=10", "optim.schedule=constant", "train.batch_size=32",
             "train.steps=120", "train.eval_every=40"});
    auto task = make_task(setup.config.task);
    Rng rng(3, 1);
    auto doc = [&](int alphabet) {
        std::vector<int32_t> t(size_t(rng.uniform_int(8, 24)));
        for (auto& x : t) x = int32_t(1 + 8 * alphabet + rng.uniform_int(0, 7));
        return t;
    };
    auto split = [&](int n) {
        std::vector<Example> out;
        for (int i = 0; i < n; ++i) {
            int a = int(rng.uniform_int(0, 1)), b = int(rng.uniform_int(0, 1));
            out.push_back(Example{doc(a), doc(b), int32_t(a == b)});
        }
        return out;
    };
    Dataset data{split(1024), split(200), split(200)};
    RunResult r = train_and_evaluate(setup, *task, data);
    REQUIRE(r.test_accuracy.has_value());
    CHECK(*r.test_accuracy > 0.9);
}

TEST_SUITE_END();
