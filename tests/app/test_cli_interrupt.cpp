// SIGINT during a run: the current step finishes, the report is written with status
// "interrupted", and the exit code is 130.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "config/run_config.h"
#include "support/run_binary.h"

TEST_CASE("cli: SIGINT writes an interrupted report and exits 130") {
    const char* bin = std::getenv("XB_BINARY");
    REQUIRE(bin != nullptr);
    std::string dir = xb::test::temp_dir("interrupt");
    std::string report = dir + "/r.json";
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "run", "--quiet", "--threads", "1", "--report", report.c_str(), "--set",
              "train.steps=1000000", "--set", "task.n_train=64", "--set", "task.n_val=8", "--set",
              "task.n_test=8", "--set", "task.max_len=40", "--set",
              "task.options={\"min_length\":8,\"max_length\":40}", "--set", "model.dim=16", "--set",
              "model.layers=1", "--set", "train.batch_size=4", (char*)nullptr);
        _exit(127);
    }
    // Long enough for the child to start and install its handler even on a loaded machine.
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
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
    const char* bin = std::getenv("XB_BINARY");
    REQUIRE(bin != nullptr);
    std::string dir = xb::test::temp_dir("interrupt2");
    std::string report = dir + "/r.json";
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        // Generating a million pathfinder images takes far longer than this test waits.
        execl(bin, bin, "run", "--quiet", "--threads", "1", "--report", report.c_str(), "--set",
              "task.name=\"pathfinder\"", "--set", "task.max_len=1024", "--set",
              "task.n_train=1000000", (char*)nullptr);
        _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(pid, SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto start = std::chrono::steady_clock::now();
    kill(pid, SIGINT);
    // Poll for up to 5 s; a child still generating then is killed and the test fails.
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        FAIL("the second SIGINT did not end the run within 5 s");
    }
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
    CHECK(waited < 5.0);
    CHECK_FALSE(std::filesystem::exists(report));
}
