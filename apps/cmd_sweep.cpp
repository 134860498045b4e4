// `xformer-bench sweep`: expands a sweep file into runs and executes each as a child `run`
// process (fresh memory figures, crashes contained), up to --jobs at once. Resumable: a run whose
// report exists with status completed or diverged is skipped. A run that fails is recorded as a
// report with status "failed" and does not stop the sweep; the exit code is 1 if any run failed.
// `--cell I` runs cell I alone this way (what a Slurm array task runs); `--slurm` submits the
// unfinished cells as a job array and `--status` lists every cell's state (sweep_slurm.cpp).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "commands.h"
#include "config/run_config.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "model/memory_estimate.h"
#include "process.h"
#include "report/json_file.h"
#include "report/schemas.h"
#include "sweep/sweep.h"
#include "sweep_slurm.h"

namespace xb::app {

namespace {

struct SweepOptions {
    std::string sweep;
    int jobs = 1;
    int threads = 0;         // per run; 0 = max(1, cores / jobs)
    std::string max_memory;  // passed to every run ("" = each run's default)
    std::string out = "results";
    bool dry_run = false;
    std::string tasks, variants, seeds;
    std::vector<std::string> overrides;
    bool jobs_given = false;
    bool slurm = false, status = false;
    std::optional<size_t> cell;  // run this cell alone (Slurm array tasks)
    SlurmOptions cluster;
};

volatile sig_atomic_t g_sweep_stop = 0;
void on_sweep_signal(int) { g_sweep_stop = 1; }

std::vector<uint64_t> parse_seeds(const std::string& text) {
    std::vector<uint64_t> out;
    for (const auto& item : split_list(text, "--seeds")) {
        size_t used = 0;
        try {
            if (item[0] != '-') out.push_back(std::stoull(item, &used));
        } catch (const std::exception&) {
        }
        if (used != item.size() || used == 0)
            throw ConfigError(
                fmt::format("--seeds '{}': '{}' is not a non-negative integer", text, item));
    }
    return out;
}

std::string last_line(const std::string& path) {
    std::ifstream in(path);
    return last_nonempty_line(in);
}

// A failed run leaves a report saying so, so `compare` can show "failed" instead of a gap.
void record_failure(const SweepRun& r, const std::string& report, const std::string& log,
                    int exit_code) {
    write_json_atomic(report, {{"schema", kRunSchema},
                               {"status", "failed"},
                               {"label", r.label},
                               {"sweep_id", r.id},
                               {"task", {{"name", r.task}}},
                               {"model", {{"variant", r.variant}}},
                               {"seed", r.seed},
                               {"exit_code", exit_code},
                               {"error", last_line(log)},
                               {"log", log},
                               {"base_config", r.config},
                               {"overrides", r.overrides},
                               {"metrics", {{"test_accuracy", nullptr}}}});
}

std::string describe(const std::string& report) {
    try {
        nlohmann::json j = read_json_file(report);
        const auto& acc = j["metrics"]["test_accuracy"];
        std::string status = j.value("status", "?");
        if (acc.is_number()) status += fmt::format(", test {:.2f}%", 100 * acc.get<double>());
        if (j.contains("error")) status += ": " + j["error"].get<std::string>();
        return status;
    } catch (const std::exception&) {
        return "no report";
    }
}

void check_modes(const SweepOptions& o) {
    if (o.slurm && o.jobs_given)
        throw ConfigError(
            "--slurm with --jobs: Slurm runs one cell per array task (limit them with "
            "--max-parallel K)");
    if (int(o.slurm) + int(o.status) + int(bool(o.cell)) > 1)
        throw ConfigError("--slurm, --status and --cell: give at most one of them");
}

// What one Slurm array task runs: this binary on the same sweep, filters and overrides, with
// absolute paths (the node's working directory may differ); the array index is appended.
std::vector<std::string> cell_command(const SweepOptions& o) {
    namespace fs = std::filesystem;
    std::vector<std::string> c = {fs::canonical("/proc/self/exe").string(), "sweep",
                                  fs::absolute(o.sweep).string(), "--out",
                                  fs::absolute(o.out).string()};
    if (!o.tasks.empty()) c.insert(c.end(), {"--tasks", o.tasks});
    if (!o.variants.empty()) c.insert(c.end(), {"--variants", o.variants});
    if (!o.seeds.empty()) c.insert(c.end(), {"--seeds", o.seeds});
    for (const auto& s : o.overrides) c.insert(c.end(), {"--set", s});
    if (!o.max_memory.empty()) c.insert(c.end(), {"--max-memory", o.max_memory});
    c.insert(c.end(),
             {"--threads", std::to_string(o.threads > 0 ? o.threads : o.cluster.cpus_per_task),
              "--cell"});
    return c;
}

int sweep_command(const SweepOptions& o) {
    check_modes(o);
    if (!o.max_memory.empty()) parse_byte_size(o.max_memory, "--max-memory");  // before any run
    SweepSpec spec = read_sweep(o.sweep);
    SweepFilter filter;
    if (!o.tasks.empty()) filter.tasks = split_list(o.tasks, "--tasks");
    if (!o.variants.empty()) filter.variants = split_list(o.variants, "--variants");
    if (!o.seeds.empty()) filter.seeds = parse_seeds(o.seeds);
    filter.set = o.overrides;
    std::vector<SweepRun> runs = expand_sweep(spec, filter);
    if (o.status) return print_sweep_status(runs, o.out);
    if (o.slurm) {
        SlurmOptions cluster = o.cluster;
        cluster.dry_run = o.dry_run;
        const std::string name = "xb-" + std::filesystem::path(o.sweep).stem().string();
        return submit_sweep(runs, o.out, name, cluster, cell_command(o));
    }
    if (o.cell) {
        if (*o.cell >= runs.size())
            throw ConfigError(fmt::format("--cell {}: the sweep has {} cells (0-{})", *o.cell,
                                          runs.size(), runs.size() - 1));
        runs = {runs[*o.cell]};
    }
    if (o.dry_run) {
        for (const auto& r : runs) fmt::print("{}\n", r.id);
        return 0;
    }
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    const int threads = o.threads > 0 ? o.threads : std::max(1, cores / o.jobs);
    const std::string log_dir = o.out + "/logs";
    std::filesystem::create_directories(log_dir);

    struct sigaction sa = {};
    sa.sa_handler = on_sweep_signal;  // no SA_RESTART: waiting is interrupted, children stopped
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::map<pid_t, size_t> active;  // child -> run index
    int started = 0, skipped = 0, failed = 0, interrupted = 0, running_elsewhere = 0;
    size_t next = 0;
    auto report_of = [&](size_t i) { return o.out + "/" + runs[i].id + ".json"; };
    auto log_of = [&](size_t i) { return log_dir + "/" + runs[i].id + ".log"; };
    while (next < runs.size() || !active.empty()) {
        while (!g_sweep_stop && next < runs.size() && int(active.size()) < o.jobs) {
            size_t i = next++;
            if (run_is_finished(run_state(report_of(i)))) {
                ++skipped;
                fmt::print("[{}/{}] {} done (skipped)\n", i + 1, runs.size(), runs[i].id);
                continue;
            }
            if (FileLock::held_elsewhere(report_of(i) + ".lock")) {
                ++running_elsewhere;
                fmt::print("[{}/{}] {} is still running in another process (skipped)\n", i + 1,
                           runs.size(), runs[i].id);
                continue;
            }
            std::vector<std::string> args = {"xformer-bench", "run", "--config", runs[i].config};
            for (const auto& s : runs[i].overrides) args.insert(args.end(), {"--set", s});
            args.insert(args.end(),
                        {"--variant", runs[i].variant, "--seed", std::to_string(runs[i].seed),
                         "--threads", std::to_string(threads), "--report", report_of(i), "--label",
                         runs[i].label, "--quiet"});
            if (!o.max_memory.empty()) args.insert(args.end(), {"--max-memory", o.max_memory});
            active[spawn_self(args, log_of(i))] = i;
            ++started;
        }
        if (g_sweep_stop && next < runs.size()) next = runs.size();  // start nothing more
        if (active.empty()) break;
        auto [pid, code] = wait_any_child();
        if (pid < 0) {
            if (g_sweep_stop)  // pass the interrupt on; children write "interrupted" reports
                for (const auto& a : active) kill(a.first, SIGTERM);
            continue;
        }
        auto it = active.find(pid);
        if (it == active.end()) continue;
        size_t i = it->second;
        active.erase(it);
        if (code == 130 || (g_sweep_stop && code != 0)) {
            ++interrupted;
        } else if (code != 0 || !std::filesystem::exists(report_of(i))) {
            record_failure(runs[i], report_of(i), log_of(i), code);
            ++failed;
        }
        fmt::print("[{}/{}] {} {}\n", i + 1, runs.size(), runs[i].id, describe(report_of(i)));
        std::fflush(stdout);
    }
    fmt::print("sweep: {} runs, {} executed, {} skipped (done), {} failed{}{}; reports in {}\n",
               runs.size(), started, skipped, failed,
               interrupted ? fmt::format(", {} interrupted", interrupted) : "",
               running_elsewhere
                   ? fmt::format(", {} still running in another process", running_elsewhere)
                   : "",
               o.out);
    if (g_sweep_stop || interrupted) return 130;
    return failed ? 1 : 0;
}

}  // namespace

Runner setup_sweep(CLI::App& app) {
    auto o = std::make_shared<SweepOptions>();
    auto* sub = app.add_subcommand(
        "sweep", "Run every task x variant x grid x seed of a sweep file (resumable)");
    sub->add_option("sweep", o->sweep, "Sweep JSON file")->required()->check(CLI::ExistingFile);
    auto* jobs =
        sub->add_option("--jobs,-j", o->jobs, "Runs at once; threads are divided between them")
            ->check(CLI::Range(1, 1024))
            ->capture_default_str();
    sub->add_option("--threads", o->threads, "Threads per run (0 = max(1, cores / jobs))")
        ->check(CLI::Range(0, 1024));
    sub->add_option("--out", o->out, "Directory for the reports (one <id>.json per run)")
        ->capture_default_str();
    sub->add_flag("--dry-run", o->dry_run,
                  "List the run IDs, one per line, and run nothing (with --slurm: print the "
                  "sbatch script instead of submitting it)");
    sub->add_option("--tasks", o->tasks, "Only these tasks (comma-separated)");
    sub->add_option("--variants", o->variants, "Only these variant ids (comma-separated)");
    sub->add_option("--seeds", o->seeds, "Only these seeds (comma-separated)");
    sub->add_option("--set", o->overrides,
                    "Override a config key in every run: key.path=value (repeatable)");
    sub->add_option("--max-memory", o->max_memory,
                    "Passed to every run: refuse a run whose estimated peak tensor memory "
                    "exceeds SIZE (default: the available memory when it starts)");
    sub->add_option("--cell", o->cell, "Run only cell I (0-based, as --status numbers them)");
    sub->add_flag("--status", o->status,
                  "List each cell: done, diverged, failed, interrupted, missing (queued, running "
                  "from squeue)");
    auto* slurm = sub->add_flag("--slurm", o->slurm,
                                "Submit the cells still to run as a Slurm job array (sbatch)");
    SlurmOptions& c = o->cluster;
    sub->add_option("--partition", c.partition, "Slurm partition (default: the cluster's)")
        ->needs(slurm);
    sub->add_option("--time", c.time, "Slurm time limit per cell, e.g. 04:00:00")->needs(slurm);
    sub->add_option("--cpus-per-task", c.cpus_per_task, "CPUs per cell; also its --threads")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str()
        ->needs(slurm);
    sub->add_option("--mem", c.mem, "Slurm memory per cell, e.g. 8G")->needs(slurm);
    sub->add_option("--max-parallel", c.max_parallel, "Array tasks running at once (0 = any)")
        ->check(CLI::Range(0, 100000))
        ->needs(slurm);
    return [o, jobs] {
        o->jobs_given = jobs->count() > 0;
        return sweep_command(*o);
    };
}

}  // namespace xb::app
