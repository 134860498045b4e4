// Run report assembly; see run_report.h.
#include "report/run_report.h"

#include "report/environment.h"

namespace xb {

static nlohmann::json optional_json(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json make_run_report(const RunConfig& cfg, const Task& task, const Dataset& data,
                               const RunResult& r) {
    using nlohmann::json;
    json history = json::array();
    for (const auto& h : r.history)
        history.push_back({{"step", h.step},
                           {"train_loss", h.train_loss},
                           {"val_accuracy", h.val_accuracy},
                           {"elapsed_s", h.elapsed_s}});
    const double step_mean = r.steps_done ? r.train_s / double(r.steps_done) : 0.0;
    json report = {
        {"schema", kRunSchema},
        {"status", r.status},
        {"task",
         {{"name", cfg.task.name},
          {"max_len", cfg.task.max_len},
          {"num_classes", task.num_classes()},
          {"vocab_size", task.vocab_size()},
          {"pair", task.is_pair()},
          {"source", cfg.task.data_dir.empty() ? "generated" : cfg.task.data_dir},
          {"splits",
           {{"train", data.train.size()}, {"val", data.val.size()}, {"test", data.test.size()}}}}},
        {"model",
         {{"variant", cfg.model.attention.variant},
          {"params", r.params},
          {"layers", cfg.model.layers},
          {"dim", cfg.model.dim},
          {"heads", cfg.model.heads},
          {"ffn_dim", cfg.model.ffn_dim}}},
        {"config", to_json(cfg)},
        {"seed", cfg.seed},
        {"steps", r.steps_done},
        {"metrics",
         {{"best_val_accuracy", optional_json(r.best_val_accuracy)},
          {"best_val_step", r.best_val_step},
          {"test_accuracy", optional_json(r.test_accuracy)},
          {"final_test_accuracy", optional_json(r.final_test_accuracy)},
          {"final_train_loss", optional_json(r.final_train_loss)}}},
        {"history", history},
        {"time",
         {{"total_s", r.total_s},
          {"train_s", r.train_s},
          {"eval_s", r.eval_s},
          {"step_mean_s", step_mean},
          {"forward_s", r.forward_s},
          {"backward_s", r.backward_s},
          {"optimizer_s", r.optimizer_s},
          {"checkpoint_s", r.checkpoint_s},
          {"train_tokens_per_s", r.train_s > 0 ? double(r.train_tokens) / r.train_s : 0.0},
          {"eval_tokens_per_s", r.eval_s > 0 ? double(r.eval_tokens) / r.eval_s : 0.0}}},
        {"memory",
         {{"peak_tensor_bytes", r.peak_tensor_bytes},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"param_bytes", r.param_bytes},
          {"optimizer_bytes", r.optimizer_bytes}}},
        {"environment", environment_json()},
    };
    if (r.communication_s) report["time"]["communication_s"] = *r.communication_s;
    return report;
}

}  // namespace xb
