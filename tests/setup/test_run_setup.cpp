// The one place where a config meets the registries: unknown variant and task names and bad
// options fail here naming the key, a task's own sizes fill what a config leaves out, --variant
// replaces the config's variant, and the variant is resolved once.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/memory_pool.h"
#include "setup/run_setup.h"
#include "tasks/task.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

static std::string config_error(const nlohmann::json& j) {
    try {
        run_setup_from_json(j);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST_CASE("setup: unknown variant and task names name the key and the valid names") {
    std::string v = config_error({{"model", {{"attention", {{"variant", "nope"}}}}}});
    CHECK(v.rfind("model.attention.variant: unknown variant 'nope' (valid: full", 0) == 0);
    std::string t = config_error({{"task", {{"name", "chess"}}}});
    CHECK(t.rfind("task.name: unknown task 'chess' (valid: ", 0) == 0);
    // The field rules of config/ come first, as they did before the registries.
    CHECK(config_error({{"model", {{"layers", 0}, {"attention", {{"variant", "nope"}}}}}}) ==
          "model.layers=0 must be at least 1");
}

TEST_CASE("setup: --variant replaces the config's variant, which is resolved once") {
    const std::vector<std::string> overrides = {"model.attention.variant=linear"};
    const RunSetup given = load_run_setup("", overrides);
    CHECK(given.config.model.attention.variant == "linear");
    CHECK(given.variant == &find_variant("linear"));
    const RunSetup replaced = load_run_setup("", overrides, "performer");
    CHECK(replaced.config.model.attention.variant == "performer");
    CHECK(replaced.variant == &find_variant("performer"));
    CHECK_THROWS_WITH_AS(load_run_setup("", overrides, "nope"),
                         doctest::Contains("model.attention.variant: unknown variant 'nope'"),
                         ConfigError);
}

TEST_CASE("setup: checking a variant's options at a long max_len allocates little") {
    // A random synthesizer holds heads x max_len x max_len logits: 268 MB at this length. The
    // throwaway mixer that checks the options is built at a short length.
    RunConfig cfg;
    cfg.task.max_len = 4096;
    cfg.model.attention.variant = "synthesizer";
    MemoryPool& pool = MemoryPool::instance();
    pool.reset_peak();
    const size_t before = pool.current_bytes();
    check_run_setup(cfg);
    CHECK(pool.peak_bytes() - before < (size_t(8) << 20));
    // An option bounded by max_len is judged at the real length, not the short one.
    cfg.model.attention.options = {{"mode", "factorized_random"}, {"k", 100}};
    CHECK_NOTHROW(check_run_setup(cfg));
    cfg.model.attention.options["k"] = 5000;
    CHECK_THROWS_WITH_AS(check_run_setup(cfg),
                         "model.attention.options.k=5000: must be <= max_len=4096", ConfigError);
}

TEST_CASE("setup: fnet and s4d options are read strictly") {
    auto with = [](const char* variant, nlohmann::json options) {
        return config_error(
            {{"model", {{"attention", {{"variant", variant}, {"options", options}}}}}});
    };
    CHECK(with("fnet", {{"normalise", true}}).rfind("model.attention.options.normalise: ", 0) == 0);
    CHECK(with("s4d", {{"state", 5}}) ==
          "model.attention.options.state=5: must be even (N/2 complex conjugate mode pairs)");
    CHECK(with("s4d", {{"init", "legs"}}).rfind("model.attention.options.init: ", 0) == 0);
    CHECK(with("s4d", {{"init", "legs"}}).find("lin, inv") != std::string::npos);
    CHECK(with("s4d", {{"dt_min", 0.5}}).rfind("model.attention.options.dt_min=0.5", 0) == 0);
}

TEST_CASE("setup: task sizes a config leaves out are the task's own defaults, for every task") {
    for (const TaskEntry& task : task_registry()) {
        CAPTURE(task.name);
        const std::string name = fmt::format("task.name=\"{}\"", task.name);
        RunConfig cfg = load_run_setup("", {name}).config;
        CHECK(cfg.task.max_len == task.defaults.max_len);
        CHECK(cfg.task.n_train == task.defaults.n_train);
        CHECK(cfg.task.n_val == task.defaults.n_val);
        CHECK(cfg.task.n_test == task.defaults.n_test);
        // What the config gives wins, key by key.
        RunConfig given = load_run_setup("", {name, "task.max_len=77", "task.n_val=5"}).config;
        CHECK(given.task.max_len == 77);
        CHECK(given.task.n_val == 5);
        CHECK(given.task.n_train == task.defaults.n_train);
    }
}

TEST_CASE("setup: variants without attention probabilities reject model.attention.dropout") {
    for (const VariantEntry& v : variant_registry()) {
        CAPTURE(v.name);
        const bool has_probabilities =
            std::string(v.name) != "linear" && std::string(v.name) != "performer" &&
            std::string(v.name) != "fnet" && std::string(v.name) != "s4d";
        const std::string e =
            config_error({{"model", {{"attention", {{"variant", v.name}, {"dropout", 0.1}}}}}});
        if (has_probabilities) {
            CHECK(e.empty());
        } else {
            CHECK(e.rfind("model.attention.dropout=0.1: the " + std::string(v.name) + " variant",
                          0) == 0);
            CHECK(config_error({{"model", {{"attention", {{"variant", v.name}, {"dropout", 0}}}}}})
                      .empty());
        }
    }
}

TEST_SUITE_END();
