// Runs the real xformer-bench binary and captures its exit code, stdout and stderr, for
// command-line tests.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace xb::test {

// The CLI binary under test: $XB_BINARY, else the one built beside this test binary.
std::string binary_path();
// The source tree (for the shipped configs): $XB_SOURCE_DIR, else the one this was built from.
std::string source_dir();

struct CommandResult {
    int exit_code = -1;
    std::string out, err;
};

// args are appended to the binary path as one shell string (quote as needed); env, if given,
// is a list of NAME=value words set for that one command; shell, if given, runs before it in
// the same shell (e.g. "ulimit -f 1; ").
CommandResult run_xformer_bench(const std::string& args, const std::string& env = "",
                                const std::string& shell = "");
// Starts the binary with these arguments (not through a shell) in a child process whose stdout
// goes to /dev/null; returns its pid, for tests that signal or kill the child.
pid_t spawn_xformer_bench(const std::vector<std::string>& args);
// Polls pred() every 20 ms for up to 60 s until it holds; returns whether it did.
bool eventually(const std::function<bool()>& pred);
// A fresh empty temporary directory for one test, removed when the test binary exits.
std::string temp_dir(const std::string& name);
// Writes text to path.
void write_text(const std::string& path, const std::string& text);
// Counts lines in text.
int count_lines(const std::string& text);
// Counts (possibly overlapping) occurrences of part in text.
int count_occurrences(const std::string& text, const std::string& part);
// The whole content of a file ("" when it cannot be read).
std::string read_text(const std::string& path);

}  // namespace xb::test
