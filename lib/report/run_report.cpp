// Run report assembly and its JSON form; see run_report.h.
#include "report/run_report.h"

#include "report/environment.h"

namespace xb {

namespace {

std::optional<double> optional_number(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
    return j.at(key).get<double>();
}

nlohmann::json or_null(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

RunReport make_run_report(const RunConfig& cfg, const Task& task, const Dataset& data,
                          const RunResult& r) {
    RunReport report;
    report.status = r.status;
    report.task = {cfg.task.name,
                   cfg.task.max_len,
                   task.num_classes(),
                   task.vocab_size(),
                   task.is_pair(),
                   cfg.task.data_dir.empty() ? "generated" : cfg.task.data_dir,
                   {data.train.size(), data.val.size(), data.test.size()}};
    report.model = {cfg.model.attention.variant,
                    r.params,
                    cfg.model.layers,
                    cfg.model.dim,
                    cfg.model.heads,
                    cfg.model.ffn_dim};
    report.config = to_json(cfg);
    report.seed = cfg.seed;
    report.steps = r.steps_done;
    report.metrics = {r.best_val_accuracy, r.best_val_step, r.test_accuracy, r.final_test_accuracy,
                      r.final_train_loss};
    report.history = r.history;
    ReportTime& t = report.time;
    t.total_s = r.total_s;
    t.train_s = r.train_s;
    t.eval_s = r.eval_s;
    t.step_mean_s = r.steps_done ? r.train_s / double(r.steps_done) : 0.0;
    t.forward_s = r.forward_s;
    t.backward_s = r.backward_s;
    t.optimizer_s = r.optimizer_s;
    t.checkpoint_s = r.checkpoint_s;
    t.train_tokens_per_s = r.train_s > 0 ? double(r.train_tokens) / r.train_s : 0.0;
    t.eval_tokens_per_s = r.eval_s > 0 ? double(r.eval_tokens) / r.eval_s : 0.0;
    report.communication_s = r.communication_s;
    report.memory = {r.peak_tensor_bytes, r.peak_rss_bytes, r.param_bytes, r.optimizer_bytes};
    report.environment = environment_json();
    return report;
}

void to_json(nlohmann::json& j, const ReportMetrics& m) {
    j = {{"best_val_accuracy", or_null(m.best_val_accuracy)},
         {"best_val_step", m.best_val_step},
         {"test_accuracy", or_null(m.test_accuracy)},
         {"final_test_accuracy", or_null(m.final_test_accuracy)},
         {"final_train_loss", or_null(m.final_train_loss)}};
}

void from_json(const nlohmann::json& j, ReportMetrics& m) {
    m.best_val_accuracy = optional_number(j, "best_val_accuracy");
    m.best_val_step = j.value("best_val_step", int64_t(0));
    m.test_accuracy = optional_number(j, "test_accuracy");
    m.final_test_accuracy = optional_number(j, "final_test_accuracy");
    m.final_train_loss = optional_number(j, "final_train_loss");
}

void to_json(nlohmann::json& j, const RunReport& r) {
    j = {{"schema", kRunSchema}, {"status", r.status},   {"task", r.task},
         {"model", r.model},     {"config", r.config},   {"seed", r.seed},
         {"steps", r.steps},     {"metrics", r.metrics}, {"history", r.history},
         {"time", r.time},       {"memory", r.memory},   {"environment", r.environment}};
    if (r.communication_s) j["time"]["communication_s"] = *r.communication_s;
    if (r.label) j["label"] = *r.label;
    if (r.resumed_from_step) j["resumed_from_step"] = *r.resumed_from_step;
}

void from_json(const nlohmann::json& j, RunReport& r) {
    const RunReport none;
    r.status = j.at("status").get<std::string>();
    r.label.reset();
    if (j.contains("label")) r.label = j.at("label").get<std::string>();
    r.task = j.at("task").get<ReportTask>();
    r.task.name = j.at("task").at("name").get<std::string>();  // required, unlike the others
    r.model = j.at("model").get<ReportModel>();
    r.model.variant = j.at("model").at("variant").get<std::string>();
    r.config = j.value("config", none.config);
    r.seed = j.value("seed", none.seed);
    r.steps = j.value("steps", none.steps);
    r.metrics = j.value("metrics", none.metrics);
    r.history = j.value("history", none.history);
    r.time = j.value("time", none.time);
    r.communication_s.reset();
    if (j.contains("time")) r.communication_s = optional_number(j.at("time"), "communication_s");
    r.memory = j.value("memory", none.memory);
    r.environment = j.value("environment", none.environment);
    r.resumed_from_step.reset();
    if (j.contains("resumed_from_step"))
        r.resumed_from_step = j.at("resumed_from_step").get<int64_t>();
}

}  // namespace xb
