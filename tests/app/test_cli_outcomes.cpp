// Outcomes of the CLI besides a completed run: a run whose loss diverges is a result (status
// "diverged", exit 0, no final-weights test accuracy), and a successful `speed` run writes one
// JSON file with a record per (variant, length), the baseline's ratios being exactly 1.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "core/file_io.h"
#include "report/speed_report.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("integration");

using namespace xb;
using namespace xb::test;

namespace {

const char* const kTinyModel =
    " --set model.layers=1 --set model.dim=16 --set model.heads=2 --set model.ffn_dim=32";

// `run` of a tiny model on short ListOps trees, with extra arguments.
CommandResult tiny_run(const std::string& report, const std::string& extra) {
    return run_xformer_bench("run --quiet --threads 1 --report " + report +
                             " --set task.max_len=40 --set task.n_val=4 --set task.n_test=4"
                             " --set 'task.options={\"min_length\":8,\"max_length\":40}'" +
                             kTinyModel + extra);
}

}  // namespace

TEST_CASE("cli: a run whose loss becomes NaN/Inf reports status diverged and exits 0") {
    const std::string dir = temp_dir("diverge");
    // Adam moves every weight by about lr in its first step: weights of ±1e38 (no clipping, no
    // warmup) whose products overflow float, so the second step's loss is not finite.
    auto r = tiny_run(dir + "/r.json",
                      " --set task.n_train=64 --set optim.lr=1e38 --set optim.schedule=constant"
                      " --set optim.warmup_steps=0 --set optim.clip_norm=0"
                      " --set train.batch_size=8 --set train.steps=50 --set train.eval_every=1");
    CHECK(r.exit_code == 0);  // a divergence is a result, not a failure (README: exit codes)
    CHECK(r.out.find("[diverged]") != std::string::npos);
    REQUIRE(std::filesystem::exists(dir + "/r.json"));
    nlohmann::json j = read_json_file(dir + "/r.json");
    CHECK(j["status"] == "diverged");
    CHECK(j["steps"].get<int>() < 50);
    CHECK(j["metrics"]["final_test_accuracy"].is_null());
}

TEST_CASE("cli: a batch larger than the training split is reported on stderr") {
    const std::string dir = temp_dir("clamp");
    auto r = tiny_run(dir + "/r.json",
                      " --set task.n_train=6 --set train.batch_size=32 --set train.steps=1");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("warning: train.batch_size=32 is more than the 6 training examples") !=
          std::string::npos);
    auto fits = tiny_run(dir + "/fits.json",
                         " --set task.n_train=6 --set train.batch_size=6 --set train.steps=1");
    REQUIRE(fits.exit_code == 0);
    CHECK(fits.err.find("warning") == std::string::npos);
}

TEST_CASE("cli: speed writes one JSON file with a record per variant and length") {
    const std::string dir = temp_dir("speed");
    auto r = run_xformer_bench(
        "speed --variants full,linear --lengths 32,48 --batch 2 --steps 2"
        " --warmup 0 --threads 1 --out " +
        dir + kTinyModel);
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        files.push_back(e.path().string());
    REQUIRE(files.size() == 1);
    CHECK(r.out.find("wrote " + files[0]) != std::string::npos);
    nlohmann::json j = read_json_file(files[0]);
    CHECK(j["schema"] == "xformer-bench/speed/1");
    CHECK(j["baseline"] == "full");
    CHECK(j["config"]["model"]["dim"] == 16);
    CHECK(j["environment"]["threads"] == 1);
    // The embedded config and `measured` describe what ran, not the config file's defaults.
    CHECK(j["config"]["train"]["batch_size"] == 2);
    CHECK(j["config"]["task"]["max_len"] == 48);
    CHECK(j["config"]["model"]["attention"]["variant"] == "full");
    CHECK(j["measured"]["variants"] == nlohmann::json({"full", "linear"}));
    CHECK(j["measured"]["lengths"] == nlohmann::json({32, 48}));
    CHECK(j["measured"]["batch"] == 2);
    CHECK(j["measured"]["steps"] == 2);
    CHECK(j["measured"]["warmup"] == 0);
    CHECK(j["measured"]["threads"] == 1);
    CHECK(j["measured"]["simd"] == j["environment"]["simd"]);
    const std::vector<std::pair<std::string, int>> expected = {
        {"full", 32}, {"full", 48}, {"linear", 32}, {"linear", 48}};
    REQUIRE(j["records"].size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        const nlohmann::json& rec = j["records"][i];
        CAPTURE(rec.dump());
        CHECK(rec["variant"] == expected[i].first);
        CHECK(rec["length"] == expected[i].second);
        CHECK(rec["batch"] == 2);
        CHECK(rec["steps"] == 2);
        CHECK(rec["median_step_s"].get<double>() > 0);
        CHECK(rec["min_step_s"].get<double>() <= rec["median_step_s"].get<double>());
        CHECK(rec["tokens_per_s"].get<double>() > 0);
        CHECK(rec["peak_tensor_bytes"].get<double>() > 0);
        CHECK(rec["params"].get<int64_t>() > 0);
        // Ratios against the baseline (full) at the same length.
        const nlohmann::json& base = j["records"][i % 2];
        CHECK(rec["speedup_vs_baseline"].get<double>() ==
              doctest::Approx(base["median_step_s"].get<double>() /
                              rec["median_step_s"].get<double>()));
        CHECK(rec["memory_ratio_vs_baseline"].get<double>() ==
              doctest::Approx(rec["peak_tensor_bytes"].get<double>() /
                              base["peak_tensor_bytes"].get<double>()));
    }
    CHECK(j["records"][0]["speedup_vs_baseline"] == 1.0);
    // SpeedReport carries every field `speed` wrote: read and written again, the file's exact text.
    CHECK(nlohmann::json(j.get<SpeedReport>()).dump(2) + "\n" == read_file_bytes(files[0]));
}

TEST_SUITE_END();
