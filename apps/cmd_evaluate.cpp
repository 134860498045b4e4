// `xformer-bench evaluate --checkpoint FILE`: re-scores the model saved in a `run` checkpoint (its
// best-validation or its final weights) on the validation or test split of its task, rebuilt
// from the checkpoint's config, and writes a JSON report (schema xformer-bench/evaluation/1).
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "model/classifier.h"
#include "report/environment.h"
#include "report/json_file.h"
#include "report/schemas.h"
#include "setup/run_setup.h"
#include "train/batching.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace xb::app {

namespace {

struct EvaluateOptions {
    std::string checkpoint;
    std::string split = "test";    // val | test
    std::string weights = "best";  // best | final
    std::optional<int> threads;
    std::string out;     // directory; default: the checkpoint's
    std::string report;  // exact path; default <out>/<checkpoint name>.eval-<split>-<weights>.json
};

std::string default_report_path(const EvaluateOptions& o) {
    namespace fs = std::filesystem;
    std::string name = fs::path(o.checkpoint).filename().string();
    for (const char* suffix : {".ckpt", ".json"})
        if (name.size() > std::strlen(suffix) &&
            name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
            name.resize(name.size() - std::strlen(suffix));
    const fs::path dir = o.out.empty() ? fs::path(o.checkpoint).parent_path() : fs::path(o.out);
    return (dir / fmt::format("{}.eval-{}-{}.json", name, o.split, o.weights)).string();
}

int evaluate_command(const EvaluateOptions& o) {
    using Clock = std::chrono::steady_clock;
    const std::string path = o.report.empty() ? default_report_path(o) : o.report;
    probe_output_file(path);
    Checkpoint c = read_checkpoint(o.checkpoint);
    RunConfig saved = config_from_json(c.config);
    if (o.threads) saved.train.threads = *o.threads;
    const RunSetup setup = check_run_setup(saved);
    const RunConfig& cfg = setup.config;
    set_threads(cfg.train.threads);
    if (o.weights == "best" && c.best.empty())
        throw ConfigError(fmt::format(
            "--weights best: {} has no best-validation weights yet (saved before the first "
            "validation, at step {}); use --weights final",
            o.checkpoint, c.progress.step));

    auto task = make_task(cfg.task);
    const bool pair = task->is_pair();
    Classifier model(cfg.model, *setup.variant, task->vocab_size(), task->num_classes(),
                     cfg.task.max_len, pair, cfg.seed);
    check_matches_model(c, model.params());
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
    const std::vector<Example>& split = o.split == "val" ? data.val : data.test;
    // Buffers that depend on the training step (Performer's redrawn features) are set as they
    // were when the run scored its test split: at its last step. A training-mode forward pass
    // without gradients does that and changes no weight.
    if (c.progress.step > 0 && !split.empty()) {
        NoGradGuard no_grad;
        std::vector<int64_t> first = {0};
        model.forward(make_batch(split, first, 0, 1, pair), true, c.progress.step);
    }
    const std::vector<Tensor>& weights = o.weights == "best" ? c.best : c.params;
    for (size_t i = 0; i < weights.size(); ++i)
        model.params().all()[i].var->value.copy_from(weights[i]);

    const auto t0 = Clock::now();
    int64_t tokens = 0;
    const double accuracy = evaluate_accuracy(model, split, cfg.train.batch_size, 0, pair, &tokens);
    const double eval_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const int64_t weights_step =
        o.weights == "best" ? c.progress.result.best_val_step : c.progress.step;
    nlohmann::json report = {
        {"schema", kEvaluationSchema},
        {"checkpoint", o.checkpoint},
        {"checkpoint_status", c.progress.status},
        {"checkpoint_step", c.progress.step},
        {"weights", o.weights},
        {"weights_step", weights_step},
        {"split", o.split},
        {"examples", split.size()},
        {"accuracy", accuracy},
        {"task", {{"name", cfg.task.name}, {"max_len", cfg.task.max_len}}},
        {"model", {{"variant", cfg.model.attention.variant}, {"params", model.params().count()}}},
        {"config", to_json(cfg)},
        {"seed", cfg.seed},
        {"time", {{"eval_s", eval_s}, {"eval_tokens_per_s", eval_s > 0 ? tokens / eval_s : 0.0}}},
        {"environment", environment_json()},
    };
    write_json_atomic(path, report);
    fmt::print("{} {} seed={} [{} weights, step {}]: {} {:.2f}% of {}, report {}\n", cfg.task.name,
               cfg.model.attention.variant, cfg.seed, o.weights, weights_step, o.split,
               100.0 * accuracy, split.size(), path);
    return 0;
}

}  // namespace

Runner setup_evaluate(CLI::App& app) {
    auto o = std::make_shared<EvaluateOptions>();
    auto* sub = app.add_subcommand(
        "evaluate", "Re-score the model of a run checkpoint (<report>.ckpt); write a JSON report");
    sub->add_option("--checkpoint", o->checkpoint, "Checkpoint file written by `run`")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--split", o->split, "Split to score")
        ->check(CLI::IsMember({"val", "test"}))
        ->capture_default_str();
    sub->add_option("--weights", o->weights, "best (best validation) or final weights")
        ->check(CLI::IsMember({"best", "final"}))
        ->capture_default_str();
    sub->add_option("--threads", o->threads, "Threads (0 = all cores; default: the run's)")
        ->check(CLI::Range(0, 1024));
    sub->add_option("--out", o->out, "Directory for the report (default: the checkpoint's)");
    sub->add_option("--report", o->report,
                    "Exact report path (default <out>/<name>.eval-<split>-<weights>.json)");
    return [o] { return evaluate_command(*o); };
}

}  // namespace xb::app
