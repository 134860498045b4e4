// Sweeps as Slurm job arrays, and their status; see sweep_slurm.h. Cells are matched to queued
// array tasks through the job records: a record maps each array index to the cell's run ID, so
// a sweep file edited between submissions cannot confuse one cell for another.
#include "sweep_slurm.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>

#include "commands.h"
#include "config/run_config.h"
#include "core/errors.h"
#include "core/file_io.h"
#include "process.h"
#include "report/json_file.h"
#include "report/schemas.h"
#include "sweep/slurm_script.h"

namespace xb::app {

namespace {

namespace fs = std::filesystem;

std::string report_path(const std::string& out, const SweepRun& r) {
    return out + "/" + r.id + ".json";
}

// Run ID -> "queued" or "running" for this sweep's array tasks that squeue lists. *reachable
// says whether squeue answered (when it does not, nothing can be said about the queue).
std::map<std::string, std::string> queued_runs(const std::string& out, bool* reachable) {
    std::map<std::string, std::map<std::string, std::string>> jobs;  // job -> index -> run ID
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out + "/slurm", ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("job-", 0) != 0 || e.path().extension() != ".json") continue;
        try {
            nlohmann::json j = read_json_file(e.path().string());
            for (const auto& [index, id] : j.at("cells").items())
                jobs[j.at("job_id").get<std::string>()][index] = id.get<std::string>();
        } catch (const std::exception&) {
        }
    }
    std::string text;
    *reachable =
        on_path("squeue") && run_program({"squeue", "-h", "-r", "-o", "%F %K %T"}, &text) == 0;
    std::map<std::string, std::string> state;
    if (!*reachable) return state;
    std::istringstream lines(text);
    std::string job, index, slurm_state;
    while (lines >> job >> index >> slurm_state) {
        auto j = jobs.find(job);
        if (j == jobs.end() || !j->second.count(index)) continue;
        const bool running = slurm_state == "RUNNING" || slurm_state == "COMPLETING";
        state[j->second[index]] = running ? "running" : "queued";
    }
    return state;
}

std::string last_line(const std::string& text) {
    std::istringstream in(text);
    return last_nonempty_line(in);
}

// Bad cluster input fails before anything is written or submitted.
void check_cluster_input(const std::string& out, const SlurmOptions& o) {
    if (!o.dry_run && !on_path("sbatch"))
        throw ConfigError(
            "--slurm: sbatch not found on PATH (run where Slurm's commands are, or add "
            "--dry-run to print the script)");
    if (!o.partition.empty() && on_path("sinfo")) {
        std::string text;
        if (run_program({"sinfo", "-h", "-o", "%R"}, &text) == 0) {
            std::vector<std::string> names;
            std::istringstream in(text);
            for (std::string p; in >> p;) names.push_back(p);
            if (std::find(names.begin(), names.end(), o.partition) == names.end())
                throw ConfigError(fmt::format("--partition {}: no such partition (valid: {})",
                                              o.partition, join_names(names)));
        }
    }
    if (o.dry_run) return;  // a dry run writes nothing
    std::error_code ec;
    fs::create_directories(out + "/slurm", ec);
    fs::create_directories(out + "/logs", ec);
    const std::string probe = fmt::format("{}/slurm/.write-test-{}", out, getpid());
    FILE* f = ec ? nullptr : std::fopen(probe.c_str(), "w");
    if (!f)
        throw IoError(fmt::format("--out {}: cannot write there ({})", out,
                                  ec ? ec.message() : std::strerror(errno)));
    std::fclose(f);
    std::remove(probe.c_str());
}

}  // namespace

int submit_sweep(const std::vector<SweepRun>& runs, const std::string& out,
                 const std::string& job_name, const SlurmOptions& o,
                 const std::vector<std::string>& cell_command) {
    check_cluster_input(out, o);
    bool reachable = false;
    const auto queue = queued_runs(out, &reachable);
    std::vector<size_t> cells;
    size_t finished = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
        if (run_is_finished(run_state(report_path(out, runs[i]))))
            ++finished;
        else if (!queue.count(runs[i].id))
            cells.push_back(i);
    }
    if (cells.empty()) {
        fmt::print("sweep: nothing to submit: {} cells, {} finished, {} queued or running\n",
                   runs.size(), finished, queue.size());
        return 0;
    }
    SlurmArray a;
    a.job_name = job_name;
    a.cells = cells;
    a.max_parallel = o.max_parallel;
    a.partition = o.partition;
    a.time = o.time;
    a.mem = o.mem;
    a.cpus_per_task = o.cpus_per_task;
    a.log_pattern = fs::absolute(out).string() + "/logs/slurm-%A_%a.out";
    a.command = cell_command;
    const std::string script = slurm_array_script(a);
    if (o.dry_run) {
        fmt::print("{}", script);
        return 0;
    }
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    std::string path = fmt::format("{}/slurm/sweep-{}.sbatch", out, stamp);
    for (int n = 2; fs::exists(path); ++n)
        path = fmt::format("{}/slurm/sweep-{}-{}.sbatch", out, stamp, n);
    write_file_atomic(path, script);
    std::string text;
    if (run_program({"sbatch", "--parsable", path}, &text) != 0)
        throw UserError(fmt::format("sbatch {}: {}", path, last_line(text)));
    const std::string line = last_line(text);
    const std::string job = line.substr(0, line.find(';'));
    nlohmann::json record = {{"schema", kSlurmJobSchema},
                             {"job_id", job},
                             {"script", path},
                             {"cells", nlohmann::json::object()}};
    for (size_t i : cells) record["cells"][std::to_string(i)] = runs[i].id;
    write_json_atomic(fmt::format("{}/slurm/job-{}.json", out, job), record);
    fmt::print("submitted job {}: array of {} cells ({}) of {}; script {}; reports in {}\n", job,
               cells.size(), slurm_array_spec(cells, o.max_parallel), runs.size(), path, out);
    return 0;
}

int print_sweep_status(const std::vector<SweepRun>& runs, const std::string& out) {
    bool reachable = false;
    const auto queue = queued_runs(out, &reachable);
    std::map<std::string, int> counts;
    for (size_t i = 0; i < runs.size(); ++i) {
        auto q = queue.find(runs[i].id);
        const std::string state =
            q != queue.end() ? q->second : run_state(report_path(out, runs[i]));
        ++counts[state];
        fmt::print("{:>4}  {:<11}  {}\n", i, state, runs[i].id);
    }
    std::vector<std::string> parts;
    for (const char* s :
         {"done", "diverged", "failed", "interrupted", "missing", "queued", "running"})
        if (counts.count(s)) parts.push_back(fmt::format("{} {}", counts[s], s));
    fmt::print("sweep: {} cells: {}{}\n", runs.size(), join_names(parts),
               reachable ? "" : " (squeue not reachable: queued and running cells not shown)");
    return 0;
}

}  // namespace xb::app
