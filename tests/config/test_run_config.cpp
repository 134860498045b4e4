#include <doctest/doctest.h>

#include <fmt/format.h>

#include "attention/mixer.h"
#include "config/run_config.h"
#include "core/errors.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

static std::string config_error(const nlohmann::json& j) {
    try {
        validate(config_from_json(j));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST_CASE("config: defaults round-trip through JSON") {
    RunConfig def;
    RunConfig back = config_from_json(to_json(def));
    CHECK(to_json(back) == to_json(def));
}

TEST_CASE("config: unknown keys name the full path and the valid keys") {
    std::string e = config_error({{"model", {{"layrs", 4}}}});
    CHECK(e.rfind("model.layrs: unknown key (valid: ", 0) == 0);
    CHECK(e.find("layers") != std::string::npos);
    CHECK(config_error({{"trian", {}}}).rfind("trian: unknown key", 0) == 0);
}

TEST_CASE("config: wrong types name the key and the expected type") {
    CHECK(config_error({{"model", {{"layers", "four"}}}}) ==
          "model.layers: expected an integer, got \"four\"");
    CHECK(config_error({{"model", {{"layers", 2.5}}}}) ==
          "model.layers: expected an integer, got 2.5");
    CHECK(config_error({{"seed", -3}}) == "seed: expected a non-negative integer, got -3");
    CHECK(config_error({{"optim", {{"lr", "fast"}}}}) ==
          "optim.lr: expected a number, got \"fast\"");
}

TEST_CASE("config: cross-field and range rules name keys and values") {
    CHECK(config_error({{"model", {{"heads", 3}, {"dim", 128}}}}) ==
          "model.heads=3 must divide model.dim=128");
    CHECK(config_error({{"task", {{"max_len", -5}}}}) == "task.max_len=-5 must be positive");
    CHECK(config_error({{"task", {{"n_train", 0}}}}) == "task.n_train=0 must be positive");
    CHECK(config_error({{"optim", {{"schedule", "linear"}}}}) ==
          "optim.schedule: unknown value 'linear' (valid: constant, rsqrt, cosine)");
    CHECK(config_error({{"model", {{"dropout", 1.0}}}}) == "model.dropout=1 must be in [0, 1)");
    std::string v = config_error({{"model", {{"attention", {{"variant", "nope"}}}}}});
    CHECK(v.rfind("model.attention.variant: unknown variant 'nope' (valid: full", 0) == 0);
    std::string t = config_error({{"task", {{"name", "chess"}}}});
    CHECK(t.rfind("task.name: unknown task 'chess' (valid: ", 0) == 0);
}

TEST_CASE("config: optimizer group overrides are strict and checked") {
    CHECK(config_error({{"optim", {{"groups", {{"sm", {{"lr", 0.001}}}}}}}}) ==
          "optim.groups.sm: unknown key (valid: ssm)");
    CHECK(config_error({{"optim", {{"groups", {{"ssm", {{"rate", 0.001}}}}}}}}) ==
          "optim.groups.ssm.rate: unknown key (valid: lr, weight_decay)");
    CHECK(config_error({{"optim", {{"groups", {{"ssm", {{"lr", 0}}}}}}}}) ==
          "optim.groups.ssm.lr=0 must be positive (or -1 = optim.lr)");
    CHECK(config_error({{"optim", {{"groups", {{"ssm", {{"weight_decay", -0.5}}}}}}}}) ==
          "optim.groups.ssm.weight_decay=-0.5 must be >= 0 (or -1 = optim.weight_decay)");
}

TEST_CASE("config: fnet and s4d options are read strictly") {
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

TEST_CASE("config: --set overrides apply after the file and parse JSON values") {
    std::string dir = xb::test::temp_dir("config");
    xb::test::write_text(dir + "/c.json", R"({"model": {"layers": 3}, "optim": {"lr": 0.5}})");
    RunConfig c = load_config(dir + "/c.json", {"model.layers=5", "optim.schedule=cosine",
                                                "task.options={\"max_depth\": 4}"});
    CHECK(c.model.layers == 5);
    CHECK(c.optim.lr == 0.5);
    CHECK(c.optim.schedule == "cosine");
    CHECK(c.task.options["max_depth"] == 4);
    CHECK_THROWS_AS(load_config("", {"model.layers"}), ConfigError);
    CHECK_THROWS_WITH_AS(load_config("", {"model.nope=1"}),
                         doctest::Contains("model.nope: unknown key"), ConfigError);
}

TEST_CASE("config: JSON syntax errors give file:line:column") {
    std::string dir = xb::test::temp_dir("config");
    xb::test::write_text(dir + "/bad.json", "{\n  \"model\": {\n    \"layers\": 2,,\n  }\n}\n");
    CHECK_THROWS_WITH_AS(read_json_file(dir + "/bad.json"),
                         (dir + "/bad.json:3:17: invalid JSON").c_str(), ConfigError);
    CHECK_THROWS_AS(read_json_file(dir + "/missing.json"), IoError);
}

TEST_CASE("config: task sizes a config leaves out are the task's own defaults, for every task") {
    for (const TaskEntry& task : task_registry()) {
        CAPTURE(task.name);
        const std::string name = fmt::format("task.name=\"{}\"", task.name);
        RunConfig cfg = load_config("", {name});
        CHECK(cfg.task.max_len == task.defaults.max_len);
        CHECK(cfg.task.n_train == task.defaults.n_train);
        CHECK(cfg.task.n_val == task.defaults.n_val);
        CHECK(cfg.task.n_test == task.defaults.n_test);
        // What the config gives wins, key by key.
        RunConfig given = load_config("", {name, "task.max_len=77", "task.n_val=5"});
        CHECK(given.task.max_len == 77);
        CHECK(given.task.n_val == 5);
        CHECK(given.task.n_train == task.defaults.n_train);
    }
}

TEST_CASE("config: model.head_dim is an error naming its new name, classifier_dim") {
    CHECK(config_error({{"model", {{"head_dim", 64}}}})
              .rfind("model.head_dim: renamed to model.classifier_dim", 0) == 0);
    CHECK(config_from_json({{"model", {{"classifier_dim", 64}}}}).model.classifier_dim == 64);
}

TEST_CASE("config: variants without attention probabilities reject model.attention.dropout") {
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
