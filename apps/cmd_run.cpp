// `xformer-bench run`: train and evaluate one configuration, write one JSON report, print a
// one-line summary. Progress goes to stderr when it is a terminal. Under mpirun the ranks train
// one model data-parallel and rank 0 alone prints and writes the report and the checkpoint
// (<report>.ckpt), which every rank reads when the run resumes.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.h"
#include "core/distributed.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "report/json_file.h"
#include "report/run_report.h"
#include "setup/run_setup.h"
#include "stop_signals.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/trainer.h"

namespace xb::app {

namespace {

struct RunOptions {
    std::string config;
    std::string variant;
    std::vector<std::string> overrides;
    std::optional<uint64_t> seed;
    std::optional<int> threads;
    std::string out = "results";
    std::string report;  // explicit report path; default <out>/<task>__<variant>__seed<seed>.json
    std::string label;   // row label for `compare` (sweeps pass variant + grid settings)
    std::string max_memory;  // refuse larger estimates; "" = the available memory
    bool quiet = false;
    bool resume = false;  // require a checkpoint to continue from
    bool fresh = false;   // ignore (and overwrite) an existing checkpoint
};

// The checkpoint to continue from: the report's own checkpoint when it exists (required with
// --resume), unless --fresh. A checkpoint of another config is refused, naming the keys.
std::optional<Checkpoint> checkpoint_to_resume(const RunOptions& o, const RunConfig& cfg,
                                               const std::string& path) {
    if (o.resume && o.fresh) throw ConfigError("--resume and --fresh: give at most one of them");
    std::optional<Checkpoint> c;
    if (!o.fresh && std::filesystem::exists(path)) {
        c = read_checkpoint(path);
        const std::vector<std::string> keys = differing_config_keys(c->config, to_json(cfg));
        if (!keys.empty())
            throw ConfigError(fmt::format(
                "{}: checkpoint of another config (differs in {}); run with the same config, "
                "or with --fresh to start over",
                path, join_names(keys)));
    } else if (o.resume) {
        throw IoError(fmt::format("{}: no checkpoint to resume from (--resume)", path));
    }
    // Under MPI every rank reads the file; all must have read the same one. The sums of s and s^2
    // equal n*s and n*s^2 on every rank only when all ranks have the same s, so either all
    // ranks go on or all stop here.
    if (world_size() > 1) {
        const double step = c ? double(c->progress.step) : -1.0;
        std::vector<double> v = {step, step * step};
        sum_over_ranks(v);
        const double n = world_size();
        if (v[0] != n * step || v[1] != n * step * step)
            throw IoError(
                fmt::format("{}: the MPI ranks see different checkpoints (is the "
                            "report directory shared by all nodes?)",
                            path));
    }
    return c;
}

std::string percent(const std::optional<double>& v) {
    return v ? fmt::format("{:.2f}%", 100.0 * *v) : "n/a";
}

int run_command(const RunOptions& o) {
    // Taken first, so that an interrupt during data generation also ends in a report.
    take_stop_signals();
    std::vector<std::string> overrides = o.overrides;
    if (o.seed) overrides.push_back(fmt::format("seed={}", *o.seed));
    if (o.threads) overrides.push_back(fmt::format("train.threads={}", *o.threads));
    const RunSetup setup = load_run_setup(o.config, overrides, o.variant);
    const RunConfig& cfg = setup.config;
    set_threads(cfg.train.threads);

    const std::string path = !o.report.empty()
                                 ? o.report
                                 : fmt::format("{}/{}__{}__seed{}.json", o.out, cfg.task.name,
                                               cfg.model.attention.variant, cfg.seed);
    // A configuration that cannot fit stops here, before anything big is allocated.
    check_memory_estimate(setup, std::min(cfg.train.batch_size, cfg.task.n_train), cfg.task.max_len,
                          true, o.max_memory, "train.batch_size", "task.max_len");
    probe_output_file(path);  // before hours of work, not after
    // A checkpoint to continue from is read (and refused when it does not fit) before any work.
    const std::string checkpoint = checkpoint_path_for(path);
    std::optional<Checkpoint> resume = checkpoint_to_resume(o, cfg, checkpoint);
    auto task = make_task(cfg.task);
    Dataset data = load_or_generate(*task, cfg.task, cfg.seed);
    if (world_rank() == 0 && size_t(cfg.train.batch_size) > data.train.size())
        fmt::print(stderr,
                   "warning: train.batch_size={} is more than the {} training examples; every "
                   "batch holds all {}\n",
                   cfg.train.batch_size, data.train.size(), data.train.size());

    ProgressFn progress;
    if (!o.quiet && stderr_is_terminal() && world_rank() == 0) {
        auto start = std::chrono::steady_clock::now();
        progress = [start](int64_t step, int64_t total, double loss, double val, double tps) {
            double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            int64_t eta = int64_t(elapsed / double(step) * double(total - step));
            std::string v = val >= 0 ? fmt::format("{:.1f}%", 100 * val) : "-";
            fmt::print(stderr, "\rstep {}/{}  loss {:.4f}  val {}  {:.0f} tok/s  ETA {}m{:02d}s   ",
                       step, total, loss, v, tps, eta / 60, eta % 60);
            if (step == total) fmt::print(stderr, "\n");
        };
    }
    // One writer per report, from the first step to the written report: a second run (say, a
    // sweep restarted while its old cell still finishes) stops here instead of training the
    // same model into the same file. The lock file (<report>.lock) is removed at the end.
    FileLock report_lock;
    if (world_rank() == 0) {
        const std::filesystem::path parent = std::filesystem::path(path).parent_path();
        if (!parent.empty()) make_directory(parent.string());
        if (!report_lock.try_lock(path + ".lock"))
            throw IoError(
                fmt::format("{}: another xformer-bench process is writing this report "
                            "(its lock {}.lock is held)",
                            path, path));
        // A run killed while writing left these; the lock says that nobody writes them now.
        remove_stale_temporaries(path);
        remove_stale_temporaries(checkpoint);
        // --fresh: the old run's checkpoint goes now, not at the first save (a run killed before
        // it must not continue the old run next time).
        std::error_code ec;
        if (o.fresh) std::filesystem::remove(checkpoint, ec);
    }
    if (resume && world_rank() == 0)
        fmt::print(stderr, "resuming from {} ({}, step {} of {})\n", checkpoint,
                   resume->progress.status, resume->progress.step, cfg.train.steps);
    TrainHooks hooks;
    hooks.progress = progress;
    if (resume) hooks.resume = &*resume;
    if (world_rank() == 0)
        hooks.save = [&checkpoint](const Checkpoint& c) { write_checkpoint(checkpoint, c); };
    RunResult r = train_and_evaluate(setup, *task, data, hooks);
    if (progress && r.status != "completed") fmt::print(stderr, "\n");

    if (world_rank() != 0) return r.status == "interrupted" ? 130 : 0;  // rank 0 alone reports
    RunReport report = make_run_report(cfg, *task, data, r);
    if (!o.label.empty()) report.label = o.label;
    if (resume) report.resumed_from_step = resume->progress.step;
    write_json_atomic(path, report);
    fmt::print(
        "{} {} seed={} [{}]: test {} (best val {} at step {}), final-weights test {}, "
        "{:.1f} s, report {}\n",
        cfg.task.name, cfg.model.attention.variant, cfg.seed, r.status, percent(r.test_accuracy),
        percent(r.best_val_accuracy), r.best_val_step, percent(r.final_test_accuracy), r.total_s,
        path);
    if (r.status == "interrupted") return 130;
    return 0;
}

}  // namespace

Runner setup_run(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    auto* sub =
        app.add_subcommand("run", "Train and evaluate one configuration; write a JSON report");
    sub->add_option("--config", o->config, "Config JSON file (defaults: the struct defaults)")
        ->check(CLI::ExistingFile);
    sub->add_option("--variant", o->variant,
                    "Attention variant (overrides model.attention.variant)");
    sub->add_option("--set", o->overrides, "Override a config key: key.path=value (repeatable)");
    sub->add_option("--seed", o->seed, "Run seed (overrides seed)")->check(non_negative_integer());
    sub->add_option("--threads", o->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
    sub->add_option("--out", o->out, "Directory for the report")->capture_default_str();
    sub->add_option("--report", o->report, "Exact report path (instead of --out naming)");
    sub->add_option("--label", o->label, "Row label in `compare` tables (default: the variant)");
    add_max_memory_option(sub, &o->max_memory);
    sub->add_flag("--quiet,-q", o->quiet, "No progress line");
    sub->add_flag("--resume", o->resume,
                  "Continue from the report's checkpoint <report>.ckpt (an error when there is "
                  "none); without it a checkpoint of the same config is used when present");
    sub->add_flag("--fresh", o->fresh, "Start from step 0 even when a checkpoint exists");
    return [o] { return run_command(*o); };
}

}  // namespace xb::app
