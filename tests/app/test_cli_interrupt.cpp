// SIGINT during a run: the current step finishes, the report is written with status
// "interrupted", and the exit code is 130.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/run_config.h"
#include "support/run_binary.h"

TEST_SUITE_BEGIN("integration");

namespace {

// Starts `xformer-bench run --quiet --threads 1 --report REPORT` plus one `--set` per override in
// a child process (stdout discarded) and returns its pid.
pid_t start_run(const std::string& report, const std::vector<std::string>& overrides) {
    std::vector<std::string> args = {"run", "--quiet", "--threads", "1", "--report", report};
    for (const auto& o : overrides) {
        args.push_back("--set");
        args.push_back(o);
    }
    return xb::test::spawn_xformer_bench(args);
}

// Overrides for a tiny ListOps model that trains "forever" (until stopped).
const std::vector<std::string> kEndless = {"task.max_len=40",
                                           "task.n_train=64",
                                           "task.n_val=16",
                                           "task.n_test=16",
                                           R"(task.options={"min_length":8,"max_length":40})",
                                           "model.layers=1",
                                           "model.dim=16",
                                           "model.heads=2",
                                           "model.ffn_dim=32",
                                           "train.batch_size=8",
                                           "train.steps=100000000",
                                           "train.eval_every=100000000"};

std::string status_of(const std::string& report) {
    return xb::read_json_file(report).value("status", "");
}

// Whether process pid has a handler installed for sig (the SigCgt mask of /proc/PID/status).
// True once the child runs the binary under test (not the forked test binary, whose doctest
// handlers it inherits until exec) and has a handler for sig.
bool catches(pid_t pid, int sig) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    if (ec || exe.filename() != std::filesystem::path(xb::test::binary_path()).filename())
        return false;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("SigCgt:", 0) == 0)
            return (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1;
    return false;
}

}  // namespace

TEST_CASE("cli: SIGINT writes an interrupted report and exits 130") {
    std::string report = xb::test::temp_dir("interrupt") + "/r.json";
    pid_t pid = start_run(
        report, {"train.steps=1000000", "task.n_train=64", "task.n_val=8", "task.n_test=8",
                 "task.max_len=40", "task.options={\"min_length\":8,\"max_length\":40}",
                 "model.dim=16", "model.layers=1", "train.batch_size=4"});
    // The report's lock file announces that training has begun (it is taken before step 1).
    REQUIRE(xb::test::eventually([&] { return std::filesystem::exists(report + ".lock"); }));
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    REQUIRE(std::filesystem::exists(report));
    nlohmann::json j = xb::read_json_file(report);
    CHECK(j["status"] == "interrupted");
    CHECK(j["steps"].get<int64_t>() >= 1);
    CHECK(j["steps"].get<int64_t>() < 1000000);
    // The interrupted step is evaluated, so the last history entry is the last step done.
    REQUIRE(j["history"].size() >= 1);
    CHECK(j["history"].back()["step"] == j["steps"]);
    CHECK(!j["metrics"]["test_accuracy"].is_null());
}

TEST_CASE("cli: a second SIGINT ends the run at once, even during data generation") {
    std::string report = xb::test::temp_dir("interrupt2") + "/r.json";
    // Generating a million pathfinder images takes far longer than this test waits.
    pid_t pid = start_run(
        report, {"task.name=\"pathfinder\"", "task.max_len=1024", "task.n_train=1000000"});
    // Once the child catches SIGINT (its handler is installed first thing in `run`), the first
    // SIGINT only asks it to stop after the current step, which is far away.
    REQUIRE(xb::test::eventually([&] { return catches(pid, SIGINT); }));
    kill(pid, SIGINT);
    const auto start = std::chrono::steady_clock::now();
    // Then SIGINT every 20 ms until the child ends (two sent before the first is handled merge
    // into one); a child still running after 5 s is killed and the test fails.
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        kill(pid, SIGINT);
    }
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        FAIL("a second SIGINT did not end the run within 5 s");
    }
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
    CHECK(waited < 5.0);
    CHECK_FALSE(std::filesystem::exists(report));
}

TEST_CASE("cli: a second run on a report being written stops at its lock, exit 2") {
    const std::string dir = xb::test::temp_dir("lock");
    const std::string report = dir + "/r.json";
    pid_t pid = start_run(report, kEndless);
    // The lock is taken just before the first step: the run is training once it exists.
    REQUIRE(xb::test::eventually([&] { return std::filesystem::exists(report + ".lock"); }));
    std::string args = "run --quiet --threads 1 --report " + report;
    for (const auto& o : kEndless) args += " --set '" + o + "'";
    auto second = xb::test::run_xformer_bench(args);
    CHECK(second.exit_code == 2);
    CHECK(second.err.find("another xformer-bench process is writing this report") !=
          std::string::npos);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(status_of(report) == "interrupted");
    CHECK_FALSE(std::filesystem::exists(report + ".lock"));  // released and removed
}

TEST_CASE("cli: the running cell of a sweep killed with SIGKILL stops and reports interrupted") {
    const std::string dir = xb::test::temp_dir("orphan");
    std::string config = R"({"task": {"max_len": 40, "n_train": 64, "n_val": 16, "n_test": 16,
      "options": {"min_length": 8, "max_length": 40}},
      "model": {"layers": 1, "dim": 16, "heads": 2, "ffn_dim": 32},
      "train": {"steps": 100000000, "eval_every": 100000000, "batch_size": 8}})";
    xb::test::write_text(dir + "/endless.json", config);
    xb::test::write_text(dir + "/sweep.json",
                         R"({"tasks": {"listops": "endless.json"}, "variants": ["full"]})");
    const std::string bin_path = xb::test::binary_path();
    const char* bin = bin_path.c_str();
    pid_t sweep = fork();
    if (sweep == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "sweep", (dir + "/sweep.json").c_str(), "--out", (dir + "/out").c_str(),
              "--threads", "1", static_cast<char*>(nullptr));
        _exit(127);
    }
    auto lock_file = [&] {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir + "/out", ec))
            if (e.path().extension() == ".lock") return e.path().string();
        return std::string();
    };
    REQUIRE(xb::test::eventually([&] { return !lock_file().empty(); }));  // the cell is training
    const std::string lock = lock_file();
    const std::string report = lock.substr(0, lock.size() - 5);
    kill(sweep, SIGKILL);
    waitpid(sweep, nullptr, 0);
    // The orphaned cell got SIGTERM from the kernel (parent-death signal): it finishes its step,
    // writes its report and removes its lock.
    CHECK(xb::test::eventually([&] { return !std::filesystem::exists(lock); }));
    CHECK(status_of(report) == "interrupted");
}

TEST_SUITE_END();
