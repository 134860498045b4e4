// `sweep`, `compare` and `plot` through the real binary: tiny runs (well under a second each),
// dry runs, parallel jobs, a failing cell that does not stop the sweep, and resume after the
// sweep is killed (exactly the missing runs execute, finished reports are left untouched).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "config/run_config.h"
#include "support/report_fixtures.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("integration");

using namespace xb::test;
namespace fs = std::filesystem;

namespace {

// A sweep over listops x {full, linear} x seeds on a model that trains in a blink.
std::string tiny_sweep(const std::string& dir, const std::string& seeds,
                       const std::string& extra = "") {
    write_text(dir + "/tiny.json", R"({
  "task": {"max_len": 40, "n_train": 64, "n_val": 16, "n_test": 16,
           "options": {"min_length": 8, "max_length": 40}},
  "model": {"layers": 1, "dim": 16, "heads": 2, "ffn_dim": 32},
  "train": {"steps": 4, "eval_every": 2, "batch_size": 8}
})");
    write_text(dir + "/sweep.json", R"({"tasks": {"listops": "tiny.json"},
  "variants": ["full", "linear"], "seeds": )" +
                                        seeds + extra + "}");
    return dir + "/sweep.json";
}

// Report file name -> content, for the reports that say completed.
std::map<std::string, std::string> completed_reports(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".json" || e.path().filename() == "sweep.json" ||
            e.path().filename() == "tiny.json")
            continue;
        std::string text = read_text(e.path().string());
        nlohmann::json j = nlohmann::json::parse(text);  // never half a file
        if (j["status"] == "completed") out[e.path().filename().string()] = text;
    }
    return out;
}

}  // namespace

TEST_CASE("sweep cli: dry run lists IDs, and filters and --set apply from the shell") {
    std::string dir = temp_dir("sweepcli");
    std::string sweep = tiny_sweep(dir, "[1, 2]");
    CommandResult r = run_xformer_bench("sweep " + sweep + " --dry-run");
    CHECK(r.exit_code == 0);
    CHECK(r.out ==
          "listops__full__seed1\nlistops__full__seed2\nlistops__linear__seed1\n"
          "listops__linear__seed2\n");
    r = run_xformer_bench("sweep " + sweep + " --dry-run --variants linear --seeds 2");
    CHECK(r.out == "listops__linear__seed2\n");
    r = run_xformer_bench("sweep " + sweep + " --dry-run --variants bigbird");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--variants bigbird: not in") != std::string::npos);
}

TEST_CASE("sweep cli: parallel runs, a failing cell is recorded, rerun skips finished runs") {
    std::string dir = temp_dir("sweeprun");
    // model.heads=3 does not divide model.dim=16: that cell fails, the others run.
    std::string sweep = tiny_sweep(dir, "[1]", R"(, "grid": {"model.heads": [2, 3]})");
    std::string out = dir + "/results";
    CommandResult r = run_xformer_bench("sweep " + sweep + " --jobs 2 --out " + out);
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 1);  // some run failed
    CHECK(r.out.find("4 runs, 4 executed, 0 skipped (done), 2 failed") != std::string::npos);
    nlohmann::json ok = xb::read_json_file(out + "/listops__full__model.heads-2__seed1.json");
    CHECK(ok["status"] == "completed");
    CHECK(ok["label"] == "full__model.heads-2");
    CHECK(ok["config"]["model"]["dim"] == 16);
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    CHECK(ok["environment"]["threads"] == std::max(1, cores / 2));
    nlohmann::json bad = xb::read_json_file(out + "/listops__linear__model.heads-3__seed1.json");
    CHECK(bad["status"] == "failed");
    CHECK(bad["exit_code"] == 2);
    CHECK(bad["error"].get<std::string>().find("must divide model.dim=16") != std::string::npos);

    // compare shows the failed cells as failed, the others as numbers.
    r = run_xformer_bench("compare " + out);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("| full__model.heads-3 | failed | – |") != std::string::npos);
    CHECK(count_occurrences(r.out, "| full__model.heads-2 | ") == 1);
    CHECK(r.err.empty());

    // Rerun: finished runs are skipped, the failed ones are tried again.
    r = run_xformer_bench("sweep " + sweep + " --jobs 2 --out " + out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("4 runs, 2 executed, 2 skipped (done), 2 failed") != std::string::npos);
}

TEST_CASE("sweep cli: killed after k runs, a rerun executes exactly the missing runs") {
    const std::string bin_path = binary_path();
    const char* bin = bin_path.c_str();
    std::string dir = temp_dir("sweepkill");
    std::string sweep = tiny_sweep(dir, "[1, 2, 3, 4]");
    std::string out = dir + "/results";
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);  // its own group, so the kill takes the running child too
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execl(bin, bin, "sweep", sweep.c_str(), "--out", out.c_str(), "--threads", "1",
              (char*)nullptr);
        _exit(127);
    }
    setpgid(pid, pid);
    size_t done_at_kill = 0;
    for (int i = 0; i < 6000 && done_at_kill < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (fs::is_directory(out)) done_at_kill = completed_reports(out).size();
    }
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::map<std::string, std::string> before = completed_reports(out);  // all parse
    REQUIRE(before.size() >= 2);
    REQUIRE_MESSAGE(before.size() < 8, "the sweep finished before it could be killed");

    CommandResult r = run_xformer_bench("sweep " + sweep + " --out " + out + " --threads 1");
    CAPTURE(r.out);
    CHECK(r.exit_code == 0);
    CHECK(count_occurrences(r.out, "done (skipped)") == int(before.size()));
    CHECK(r.out.find(fmt::format("8 runs, {} executed, {} skipped", 8 - before.size(),
                                 before.size())) != std::string::npos);
    std::map<std::string, std::string> after = completed_reports(out);
    CHECK(after.size() == 8);
    for (const auto& entry : before) CHECK_MESSAGE(after[entry.first] == entry.second, entry.first);

    // compare reads the sweep directory: 4 seeds per cell give mean ± std.
    r = run_xformer_bench("compare " + out + " --format json");
    nlohmann::json t = nlohmann::json::parse(r.out);
    CHECK(t["rows"][0]["label"] == "full");
    CHECK(t["rows"][0]["cells"]["listops"]["n"] == 4);
    CHECK(t["rows"][0]["cells"]["listops"].contains("std"));
}

TEST_CASE("compare and plot cli: formats, files, warnings") {
    std::string dir = temp_dir("comparecli");
    FixtureRun f;
    write_fixture_run(dir, f);
    f.variant = "linear";
    f.accuracy = 0.25;
    write_fixture_run(dir, f);
    write_text(dir + "/junk.json", "[1, 2");
    CommandResult r = run_xformer_bench("compare " + dir + " --format csv");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\nlinear,25.00,,1,25.00,,1\n") != std::string::npos);
    CHECK(r.err.find("warning: " + dir + "/junk.json") != std::string::npos);
    r = run_xformer_bench("compare " + dir + " --table efficiency --format latex");
    CHECK(r.out.find("\\toprule") != std::string::npos);
    r = run_xformer_bench("compare " + dir + " --format html --out " + dir + "/page/report.html");
    CHECK(r.exit_code == 0);
    CHECK(read_text(dir + "/page/report.html").find("<table class=\"accuracy\">") !=
          std::string::npos);
    r = run_xformer_bench("plot " + dir + " --kind tradeoff --out " + dir + "/t.svg");
    CHECK(r.exit_code == 0);
    std::string svg = read_text(dir + "/t.svg");
    CHECK(xml_problem(svg) == "");
    CHECK(count_occurrences(svg, "class=\"mark\"") == 2);
    r = run_xformer_bench("compare " + dir + " --format docx");
    CHECK(r.exit_code == 2);
    r = run_xformer_bench("compare " + dir + "/missing");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("missing: no such file or directory") != std::string::npos);
}

TEST_CASE("sweep cli: --cell runs one cell, --status, and --slurm --dry-run skips finished cells") {
    std::string dir = temp_dir("sweepcell");
    std::string sweep = tiny_sweep(dir, "[1, 2]");
    std::string out = dir + "/results";
    const std::string no_slurm = "PATH=/nonexistent";  // no sbatch, sinfo or squeue
    CommandResult r = run_xformer_bench("sweep " + sweep + " --out " + out + " --cell 1");
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(completed_reports(out).size() == 1);
    CHECK(completed_reports(out).count("listops__full__seed2.json") == 1);

    r = run_xformer_bench("sweep " + sweep + " --out " + out + " --status", no_slurm);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("   1  done         listops__full__seed2\n") != std::string::npos);
    CHECK(r.out.find("   3  missing      listops__linear__seed2\n") != std::string::npos);
    CHECK(r.out.find("sweep: 4 cells: 1 done, 3 missing (squeue not reachable") !=
          std::string::npos);

    r = run_xformer_bench("sweep " + sweep + " --out " + out +
                              " --slurm --dry-run --partition p --time 01:00:00 --max-parallel 2",
                          no_slurm);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("#SBATCH --array=0,2-3%2\n") != std::string::npos);
    CHECK(r.out.find("#SBATCH --partition=p\n#SBATCH --time=01:00:00\n") != std::string::npos);
    CHECK(r.out.find(" --threads 1 --cell \"$SLURM_ARRAY_TASK_ID\"\n") != std::string::npos);

    // Bad input: one line, exit 2.
    for (const auto& entry : std::vector<std::pair<std::string, std::string>>{
             {" --cell 4", "--cell 4: the sweep has 4 cells (0-3)"},
             {" --slurm --jobs 2", "--slurm with --jobs"},
             {" --slurm", "--slurm: sbatch not found on PATH"},
             {" --slurm --status", "give at most one of them"}}) {
        const std::string& args = entry.first;
        const std::string& message = entry.second;
        r = run_xformer_bench("sweep " + sweep + " --out " + out + args, no_slurm);
        CAPTURE(args);
        CHECK(r.exit_code == 2);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.err.find(message) != std::string::npos);
    }
    r = run_xformer_bench("sweep " + sweep + " --partition p");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--partition requires --slurm") != std::string::npos);
}

TEST_CASE("sweep cli: a cell stopped mid-run resumes from its checkpoint when the sweep reruns") {
    const std::string dir = temp_dir("sweepresume");
    write_text(dir + "/long.json", R"({
  "task": {"max_len": 40, "n_train": 64, "n_val": 16, "n_test": 16,
           "options": {"min_length": 8, "max_length": 40}},
  "model": {"layers": 1, "dim": 16, "heads": 2, "ffn_dim": 32},
  "train": {"steps": 1500, "eval_every": 300, "batch_size": 8, "checkpoint_every": 10}
})");
    write_text(dir + "/sweep.json", R"({"tasks": {"listops": "long.json"}, "variants": ["full"]})");
    const std::string out = dir + "/results";
    auto checkpoint = [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(out, ec))
            if (e.path().extension() == ".ckpt") return e.path().string();
        return std::string();
    };
    pid_t pid = spawn_xformer_bench({"sweep", dir + "/sweep.json", "--out", out, "--threads", "1"});
    REQUIRE(eventually([&] { return !checkpoint().empty(); }));
    kill(pid, SIGTERM);  // the sweep passes it on: the cell saves a checkpoint and reports
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WEXITSTATUS(status) == 130);
    const std::string ckpt = checkpoint();
    const std::string report = ckpt.substr(0, ckpt.size() - 5);
    std::string log;
    for (const auto& e : fs::directory_iterator(out + "/logs")) log += read_text(e.path().string());
    CAPTURE(log);
    REQUIRE(xb::read_json_file(report)["status"] == "interrupted");

    CommandResult r =
        run_xformer_bench("sweep " + dir + "/sweep.json --out " + out + " --threads 1");
    CAPTURE(r.out);
    CHECK(r.exit_code == 0);
    const nlohmann::json j = xb::read_json_file(report);
    CHECK(j["status"] == "completed");
    CHECK(j["steps"] == 1500);
    CHECK(j["resumed_from_step"].get<int64_t>() >= 10);
    CHECK(j["resumed_from_step"].get<int64_t>() < 1500);
}

TEST_SUITE_END();
