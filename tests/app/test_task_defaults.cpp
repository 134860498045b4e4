// Every registered task works with no config file: `data TASK --preview N`, `data TASK --out DIR`
// and `run --set task.name=TASK` use the task's own defaults (tasks/tasks.def). The split sizes
// are the defaults scaled down 1000 times (keeping their ratios, which the file formats of
// image and pathfinder require); max_len and the options stay the task's defaults.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "config/run_config.h"
#include "support/run_binary.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("integration");

using namespace xb;
using namespace xb::test;

TEST_CASE("cli: data and run work for every registered task with no config file") {
    const std::string dir = temp_dir("task_defaults");
    for (const TaskEntry& task : task_registry()) {
        CAPTURE(task.name);
        const int n_train = std::max(1, task.defaults.n_train / 1000);
        const int n_val = std::max(1, task.defaults.n_val / 1000);
        const int n_test = std::max(1, task.defaults.n_test / 1000);
        const std::string sizes =
            fmt::format(" --set task.n_train={} --set task.n_val={} --set task.n_test={}", n_train,
                        n_val, n_test);

        auto preview = run_xformer_bench(fmt::format("data {} --preview 2", task.name));
        CHECK_MESSAGE(preview.exit_code == 0, preview.err);
        CHECK(count_occurrences(preview.out, "--- train[") == 2);

        const std::string out = dir + "/" + task.name;
        auto data = run_xformer_bench(fmt::format("data {} --out {}", task.name, out) + sizes);
        CHECK_MESSAGE(data.exit_code == 0, data.err);
        CHECK(data.out.find(fmt::format("wrote {} train, {} val, {} test examples of '{}'", n_train,
                                        n_val, n_test, task.name)) != std::string::npos);

        // One training step of a tiny linear-attention model at the task's default max_len.
        const std::string report = dir + "/" + task.name + ".json";
        auto run = run_xformer_bench(
            fmt::format("run --quiet --threads 1 --report {} --set task.name={}", report,
                        task.name) +
            sizes +
            " --set model.layers=1 --set model.dim=8 --set model.heads=1 --set model.ffn_dim=8"
            " --set model.attention.variant=linear --set train.steps=1 --set train.batch_size=2");
        REQUIRE_MESSAGE(run.exit_code == 0, run.err);
        nlohmann::json j = read_json_file(report);
        CHECK(j["status"] == "completed");
        CHECK(j["config"]["task"]["max_len"] == task.defaults.max_len);
        CHECK(j["task"]["splits"]["train"] == n_train);
    }
}

TEST_SUITE_END();
