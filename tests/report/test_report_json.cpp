// The JSON forms of the run report and the speed file: each field's name, kind (integer or
// floating point, null for an absent value) and presence against the documented layout, written
// out here by hand; a parse -> write round trip that gives back the same text; and which keys a
// reader requires.
#include <doctest/doctest.h>

#include "core/median.h"
#include "report/run_report.h"
#include "report/speed_report.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using nlohmann::json;

namespace {

RunReport fixed_run_report() {
    RunReport r;
    r.status = "completed";
    r.task = {"listops", 512, 10, 18, false, "generated", {96, 16, 24}};
    r.model = {"bigbird", 12345, 2, 64, 4, 128};
    r.config = {{"seed", 7}};
    r.seed = 7;
    r.steps = 40;
    r.metrics = {0.375, 30, 0.25, std::nullopt, 1.5};
    r.history = {{20, 2.25, 0.125, 1.5}, {40, 1.75, 0.375, 3.0}};
    r.time = {4.0, 3.0, 0.5, 0.075, 1.0, 1.75, 0.25, 0.125, 2048.0, 4096.0};
    r.memory = {1048576, 2097152, 49380, 98760};
    r.environment = {{"cpu", "Fixture CPU"}, {"threads", 2}};
    return r;
}

// The layout of docs/configuration.md ("The JSON report") with fixed_run_report's values.
const char* const kFixedRunReport = R"({
  "config": {"seed": 7},
  "environment": {"cpu": "Fixture CPU", "threads": 2},
  "history": [
    {"elapsed_s": 1.5, "step": 20, "train_loss": 2.25, "val_accuracy": 0.125},
    {"elapsed_s": 3.0, "step": 40, "train_loss": 1.75, "val_accuracy": 0.375}
  ],
  "memory": {"optimizer_bytes": 98760, "param_bytes": 49380, "peak_rss_bytes": 2097152,
             "peak_tensor_bytes": 1048576},
  "metrics": {"best_val_accuracy": 0.375, "best_val_step": 30, "final_test_accuracy": null,
              "final_train_loss": 1.5, "test_accuracy": 0.25},
  "model": {"dim": 64, "ffn_dim": 128, "heads": 4, "layers": 2, "params": 12345,
            "variant": "bigbird"},
  "schema": "xformer-bench/run/1",
  "seed": 7,
  "status": "completed",
  "steps": 40,
  "task": {"max_len": 512, "name": "listops", "num_classes": 10, "pair": false,
           "source": "generated", "splits": {"test": 24, "train": 96, "val": 16},
           "vocab_size": 18},
  "time": {"backward_s": 1.75, "checkpoint_s": 0.125, "eval_s": 0.5, "eval_tokens_per_s": 4096.0,
           "forward_s": 1.0, "optimizer_s": 0.25, "step_mean_s": 0.075, "total_s": 4.0,
           "train_s": 3.0, "train_tokens_per_s": 2048.0}
})";

SpeedResult fixed_speed_result() {
    SpeedResult s;
    s.variant = "linear";
    s.length = 1024;
    s.batch = 8;
    s.steps = 3;
    s.median_step_s = 0.25;
    s.min_step_s = 0.125;
    s.forward_s = 0.0625;
    s.backward_s = 0.15625;
    s.optimizer_s = 0.03125;
    s.tokens_per_s = 32768.0;
    s.peak_tensor_bytes = 3145728;
    s.peak_rss_bytes = 67108864;
    s.params = 302986;
    return s;
}

const char* const kFixedSpeedRecord = R"({"backward_s": 0.15625, "batch": 8, "forward_s": 0.0625,
  "length": 1024, "median_step_s": 0.25, "min_step_s": 0.125, "optimizer_s": 0.03125,
  "params": 302986, "peak_rss_bytes": 67108864, "peak_tensor_bytes": 3145728, "steps": 3,
  "steps_per_s": 4.0, "tokens_per_s": 32768.0, "variant": "linear"})";

// Written, then read and written again: the same text.
template <typename T>
void check_round_trip(const T& value) {
    const std::string text = json(value).dump(2);
    CHECK(json(json::parse(text).get<T>()).dump(2) == text);
}

}  // namespace

TEST_CASE("run report JSON: the documented fields, kinds and nulls, and a round trip") {
    RunReport r = fixed_run_report();
    // dump() tells 4 from 4.0, which json's == does not
    CHECK(json(r).dump() == json::parse(kFixedRunReport).dump());
    check_round_trip(r);

    // label, time.communication_s and resumed_from_step only when set
    r.label = "bigbird__block-64";
    r.communication_s = 0.5;
    r.resumed_from_step = 20;
    json expected = json::parse(kFixedRunReport);
    expected["label"] = "bigbird__block-64";
    expected["time"]["communication_s"] = 0.5;
    expected["resumed_from_step"] = 20;
    CHECK(json(r).dump() == expected.dump());
    check_round_trip(r);
    CHECK(r.row_label() == "bigbird__block-64");
    CHECK(r.steps_per_s() == doctest::Approx(1.0 / 0.075));
}

TEST_CASE("run report JSON: status, task.name and model.variant required, the rest defaults") {
    // The short report a failed sweep cell leaves
    const json failed = {{"schema", "xformer-bench/run/1"},
                         {"status", "failed"},
                         {"task", {{"name", "text"}}},
                         {"model", {{"variant", "linear"}}},
                         {"seed", 2},
                         {"exit_code", 2},
                         {"metrics", {{"test_accuracy", nullptr}}}};
    const RunReport r = failed.get<RunReport>();
    CHECK(r.status == "failed");
    CHECK(r.task.name == "text");
    CHECK(r.task.max_len == 0);
    CHECK(r.model.variant == "linear");
    CHECK(r.row_label() == "linear");
    CHECK(r.seed == 2);
    CHECK(!r.metrics.test_accuracy);
    CHECK(r.steps_per_s() == 0.0);
    CHECK(r.history.empty());
    for (const char* drop : {"status", "task", "model"}) {
        json j = failed;
        j.erase(drop);
        CHECK_THROWS_AS(j.get<RunReport>(), json::exception);
    }
    json no_name = failed;
    no_name["task"].erase("name");
    CHECK_THROWS_AS(no_name.get<RunReport>(), json::exception);
    json no_variant = failed;
    no_variant["model"] = json::object();
    CHECK_THROWS_AS(no_variant.get<RunReport>(), json::exception);
    json bad_history = failed;
    bad_history["history"] = {{{"step", 1}}};  // an evaluation point without its values
    CHECK_THROWS_AS(bad_history.get<RunReport>(), json::exception);
}

TEST_CASE("speed record JSON: the documented fields, optional keys, and a round trip") {
    SpeedResult s = fixed_speed_result();
    CHECK(json(s).dump() == json::parse(kFixedSpeedRecord).dump());
    check_round_trip(s);

    s.ranks = 2;
    s.communication_s = 0.0625;
    SpeedResult base = fixed_speed_result();
    base.median_step_s = 1.0;
    base.peak_tensor_bytes = 12582912;
    base.peak_rss_bytes = 134217728;
    s.vs_baseline = ratios_to(s, base);
    json expected = json::parse(kFixedSpeedRecord);
    expected["ranks"] = 2;
    expected["communication_s"] = 0.0625;
    expected["speedup_vs_baseline"] = 4.0;
    expected["memory_ratio_vs_baseline"] = 0.25;
    expected["rss_ratio_vs_baseline"] = 0.5;
    CHECK(json(s).dump() == expected.dump());
    check_round_trip(s);

    // compare reads records that carry only these four keys; without one it refuses the record
    const json minimal = {
        {"variant", "full"}, {"length", 64}, {"median_step_s", 0.5}, {"peak_tensor_bytes", 1024}};
    const SpeedResult m = minimal.get<SpeedResult>();
    CHECK(m.steps_per_s() == 2.0);
    CHECK(m.batch == 0);
    CHECK(m.ranks == 1);
    CHECK(!m.vs_baseline);
    for (const char* drop : {"variant", "length", "median_step_s", "peak_tensor_bytes"}) {
        json j = minimal;
        j.erase(drop);
        CHECK_THROWS_AS(j.get<SpeedResult>(), json::exception);
    }
}

TEST_CASE("speed file JSON: schema, measured and records, and a round trip") {
    SpeedReport report;
    report.baseline = "full";
    report.isolation = "one child process per (variant, length)";
    report.config = {{"seed", 1}};
    report.measured = SpeedMeasured{{"full", "linear"}, {512, 1024}, 8, 3, 1, 2, "avx2"};
    report.records = {fixed_speed_result()};
    report.environment = {{"simd", "avx2"}, {"threads", 2}};
    const json expected = {{"schema", "xformer-bench/speed/1"},
                           {"baseline", "full"},
                           {"isolation", "one child process per (variant, length)"},
                           {"config", {{"seed", 1}}},
                           {"measured",
                            {{"variants", {"full", "linear"}},
                             {"lengths", {512, 1024}},
                             {"batch", 8},
                             {"steps", 3},
                             {"warmup", 1},
                             {"threads", 2},
                             {"simd", "avx2"}}},
                           {"records", json::array({json::parse(kFixedSpeedRecord)})},
                           {"environment", {{"simd", "avx2"}, {"threads", 2}}}};
    CHECK(json(report).dump() == expected.dump());
    check_round_trip(report);
    // Files of older versions have no "measured"; a file without "records" is refused
    json old = expected;
    old.erase("measured");
    CHECK(!old.get<SpeedReport>().measured);
    old.erase("records");
    CHECK_THROWS_AS(old.get<SpeedReport>(), json::exception);
}

TEST_CASE("median of timings: middle value, mean of the middle two, 0 for none") {
    CHECK(median({}) == 0.0);
    CHECK(median({3.0}) == 3.0);
    CHECK(median({5.0, 1.0, 3.0}) == 3.0);
    CHECK(median({4.0, 1.0, 3.0, 2.0}) == 2.5);
}

TEST_CASE("speed ratios: the last measurement of the baseline at the same length") {
    SpeedResult full = fixed_speed_result(), linear = fixed_speed_result(), other_len;
    full.variant = "full";
    full.median_step_s = 0.5;
    full.peak_tensor_bytes = 2 * linear.peak_tensor_bytes;
    other_len.variant = "full";
    other_len.length = 2048;
    const std::vector<SpeedResult> results = {other_len, full, linear};
    const SpeedResult* base = find_measurement(results, "full", 1024);
    REQUIRE(base == &results[1]);
    CHECK(find_measurement(results, "bigbird", 1024) == nullptr);
    const BaselineRatios q = ratios_to(linear, *base);
    CHECK(q.speedup == 2.0);
    CHECK(q.memory_ratio == 0.5);
    CHECK(q.rss_ratio == 1.0);
}

TEST_SUITE_END();
