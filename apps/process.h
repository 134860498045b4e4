// Child processes of this binary (/proc/self/exe). `speed` runs each measurement in one and
// `sweep` each run, so memory figures belong to one measurement and a crash stops only its child.
#pragma once
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace xb::app {

// Starts this binary with args (args[0] is the program name). The child's stdout and stderr go
// to log_path (truncated) when it is given, else they are inherited.
pid_t spawn_self(const std::vector<std::string>& args, const std::string& log_path = "");
// Waits for one child; returns its exit code, or 128 + signal number when a signal killed it.
// Returns {-1, -1} when interrupted by a signal handler before any child ended.
std::pair<pid_t, int> wait_any_child();
// Runs this binary with args and returns its stdout; throws UserError naming `what` and the
// exit status when it does not exit 0.
std::string run_self_capture(const std::vector<std::string>& args, const std::string& what);
// Runs an external program (args[0], looked up on PATH), appends its stdout and stderr to
// *output and returns its exit code (127 when it could not be started).
int run_program(const std::vector<std::string>& args, std::string* output);
// Whether an executable of that name is on PATH.
bool on_path(const std::string& program);

}  // namespace xb::app
