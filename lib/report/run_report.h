// The run report: one JSON document per run (schema kRunSchema, "xformer-bench/run/1"). `run`
// writes it and `compare`, `plot` and the HTML report read it back, both through RunReport and
// its to_json/from_json. Field reference: docs/configuration.md ("The JSON report").
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "report/schemas.h"
#include "tasks/task.h"
#include "train/trainer.h"

namespace xb {

struct ReportSplits {
    size_t train = 0, val = 0, test = 0;
};

struct ReportTask {
    std::string name;
    int max_len = 0, num_classes = 0, vocab_size = 0;
    bool pair = false;
    std::string source;  // "generated" or the data directory
    ReportSplits splits;
};

struct ReportModel {
    std::string variant;
    int64_t params = 0;
    int layers = 0, dim = 0, heads = 0, ffn_dim = 0;
};

// Absent accuracies and losses are JSON null.
struct ReportMetrics {
    std::optional<double> best_val_accuracy;
    int64_t best_val_step = 0;
    std::optional<double> test_accuracy, final_test_accuracy, final_train_loss;
};

struct ReportTime {
    double total_s = 0, train_s = 0, eval_s = 0, step_mean_s = 0;
    double forward_s = 0, backward_s = 0, optimizer_s = 0, checkpoint_s = 0;
    double train_tokens_per_s = 0, eval_tokens_per_s = 0;
};

struct ReportMemory {
    size_t peak_tensor_bytes = 0, peak_rss_bytes = 0, param_bytes = 0, optimizer_bytes = 0;
};

struct RunReport {
    std::string status;  // completed | diverged | interrupted (| failed: a sweep cell)
    std::optional<std::string> label;  // `run --label`: the row label in `compare` tables
    ReportTask task;
    ReportModel model;
    nlohmann::json config;  // the whole RunConfig (to_json(RunConfig))
    uint64_t seed = 0;
    int64_t steps = 0;
    ReportMetrics metrics;
    std::vector<EvalPoint> history;
    ReportTime time;
    std::optional<double> communication_s;  // time.communication_s, under MPI only
    ReportMemory memory;
    nlohmann::json environment;  // environment_json()
    std::optional<int64_t> resumed_from_step;

    // compare's view: the row label (label, else the variant) and training steps per second.
    std::string row_label() const { return label.value_or(model.variant); }
    double steps_per_s() const { return time.step_mean_s > 0 ? 1.0 / time.step_mean_s : 0.0; }
};

RunReport make_run_report(const RunConfig& cfg, const Task& task, const Dataset& data,
                          const RunResult& result);

// Keys in the order of the document; nlohmann's objects print them sorted.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReportSplits, train, val, test)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReportTask, name, max_len, num_classes, vocab_size,
                                                pair, source, splits)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReportModel, variant, params, layers, dim, heads,
                                                ffn_dim)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReportTime, total_s, train_s, eval_s, step_mean_s,
                                                forward_s, backward_s, optimizer_s, checkpoint_s,
                                                train_tokens_per_s, eval_tokens_per_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReportMemory, peak_tensor_bytes, peak_rss_bytes,
                                                param_bytes, optimizer_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvalPoint, step, train_loss, val_accuracy, elapsed_s)
void to_json(nlohmann::json& j, const ReportMetrics& m);
void from_json(const nlohmann::json& j, ReportMetrics& m);

// Writes the "schema" key, and label, time.communication_s and resumed_from_step only when set.
void to_json(nlohmann::json& j, const RunReport& r);
// Reads what a report of any status has: status, task.name and model.variant are required (a
// nlohmann::json::exception without them, or for a value of the wrong type); the rest defaults,
// so the short report of a failed sweep cell reads too. The schema is the caller's to check.
void from_json(const nlohmann::json& j, RunReport& r);

}  // namespace xb
