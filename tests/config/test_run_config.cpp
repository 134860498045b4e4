#include <doctest/doctest.h>

#include <fmt/format.h>

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

TEST_CASE("config: --set overrides apply after the file and parse JSON values") {
    std::string dir = xb::test::temp_dir("config");
    xb::test::write_text(dir + "/c.json", R"({"model": {"layers": 3}, "optim": {"lr": 0.5}})");
    RunConfig c = config_from_json(config_json_from_text(
        xb::test::read_text(dir + "/c.json"), dir + "/c.json",
        {"model.layers=5", "optim.schedule=cosine", "task.options={\"max_depth\": 4}"}));
    CHECK(c.model.layers == 5);
    CHECK(c.optim.lr == 0.5);
    CHECK(c.optim.schedule == "cosine");
    CHECK(c.task.options["max_depth"] == 4);
    CHECK_THROWS_AS(config_json_from_text("{}", "", {"model.layers"}), ConfigError);
    CHECK_THROWS_WITH_AS(config_from_json(config_json_from_text("{}", "", {"model.nope=1"})),
                         doctest::Contains("model.nope: unknown key"), ConfigError);
}

TEST_CASE("config: JSON syntax errors give file:line:column") {
    std::string dir = xb::test::temp_dir("config");
    xb::test::write_text(dir + "/bad.json", "{\n  \"model\": {\n    \"layers\": 2,,\n  }\n}\n");
    CHECK_THROWS_WITH_AS(read_json_file(dir + "/bad.json"),
                         (dir + "/bad.json:3:17: invalid JSON").c_str(), ConfigError);
    CHECK_THROWS_AS(read_json_file(dir + "/missing.json"), IoError);
}

TEST_CASE("config: model.head_dim is an error naming its new name, classifier_dim") {
    CHECK(config_error({{"model", {{"head_dim", 64}}}})
              .rfind("model.head_dim: renamed to model.classifier_dim", 0) == 0);
    CHECK(config_from_json({{"model", {{"classifier_dim", 64}}}}).model.classifier_dim == 64);
}

TEST_SUITE_END();
