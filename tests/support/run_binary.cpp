// Command-line test helpers; see run_binary.h.
#include "support/run_binary.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace xb::test {

namespace {

std::string from_env(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

}  // namespace

std::string binary_path() { return from_env("XB_BINARY", XB_TEST_BINARY); }

std::string source_dir() { return from_env("XB_SOURCE_DIR", XB_TEST_SOURCE_DIR); }

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

CommandResult run_xformer_bench(const std::string& args, const std::string& env,
                                const std::string& shell) {
    const std::string bin = binary_path();
    std::string dir = temp_dir("cmd");
    std::string cmd = shell + (env.empty() ? "" : "env " + env + " ") + bin + " " + args + " >" +
                      dir + "/out 2>" + dir + "/err";
    int status = std::system(cmd.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text(dir + "/out");
    r.err = read_text(dir + "/err");
    return r;
}

pid_t spawn_xformer_bench(const std::vector<std::string>& args) {
    const std::string bin = binary_path();
    std::vector<std::string> words = {bin};
    words.insert(words.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    return pid;
}

bool eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 3000; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

namespace {

// Every directory temp_dir() made, removed when the test binary exits.
struct TempDirs {
    std::vector<std::filesystem::path> made;
    ~TempDirs() {
        std::error_code ec;
        for (const auto& p : made) std::filesystem::remove_all(p, ec);
    }
};

}  // namespace

std::string temp_dir(const std::string& name) {
    namespace fs = std::filesystem;
    static TempDirs dirs;
    static int counter = 0;
    fs::path p = fs::temp_directory_path() / ("xbench_test_" + std::to_string(::getpid()) + "_" +
                                              name + "_" + std::to_string(counter++));
    fs::remove_all(p);
    fs::create_directories(p);
    dirs.made.push_back(p);
    return p.string();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

int count_lines(const std::string& text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n;
}

int count_occurrences(const std::string& text, const std::string& part) {
    int n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace xb::test
