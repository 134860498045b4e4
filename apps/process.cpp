// Child processes of this binary; see process.h.
#include "process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "core/errors.h"

namespace xb::app {

namespace {

// fork + exec /proc/self/exe (or, when program_on_path, args[0] looked up on PATH) with stdout
// (and stderr when err_fd >= 0) redirected.
pid_t spawn_with_fds(const std::vector<std::string>& args, int out_fd, int err_fd, int close_fd,
                     bool program_on_path = false) {
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw IoError("cannot start a child process (fork failed)");
    if (pid == 0) {
        if (!program_on_path) {
            // A child of this binary (a sweep's run, a speed measurement) gets SIGTERM when its
            // parent dies, even by SIGKILL: it finishes its step, writes an "interrupted" report
            // and ends, instead of running on as an orphan.
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) _exit(130);  // the parent died before prctl took effect
        }
        if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
        if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
        if (close_fd >= 0) close(close_fd);
        if (out_fd > STDERR_FILENO) close(out_fd);
        if (err_fd > STDERR_FILENO && err_fd != out_fd) close(err_fd);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        if (program_on_path) {
            execvp(argv[0], argv.data());
        } else {
            setenv("XB_NO_MPI", "1", 1);  // a child is never a rank of its parent's MPI job
            execv("/proc/self/exe", argv.data());
        }
        _exit(127);
    }
    return pid;
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

pid_t spawn_self(const std::vector<std::string>& args, const std::string& log_path) {
    if (log_path.empty()) return spawn_with_fds(args, -1, -1, -1);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError(fmt::format("{}: cannot write file", log_path));
    pid_t pid = spawn_with_fds(args, fd, fd, -1);
    close(fd);
    return pid;
}

std::pair<pid_t, int> wait_any_child() {
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) return {-1, -1};
    return {pid, exit_code_of(status)};
}

// Runs args with stdout into a pipe (stderr too when merge_stderr) and returns the exit code.
static int run_capture(const std::vector<std::string>& args, bool program_on_path,
                       bool merge_stderr, std::string* output) {
    int fds[2];
    if (pipe(fds) != 0) throw IoError(fmt::format("{}: cannot create a pipe", args[0]));
    pid_t pid = spawn_with_fds(args, fds[1], merge_stderr ? fds[1] : -1, fds[0], program_on_path);
    close(fds[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) output->append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return exit_code_of(status);
}

std::string run_self_capture(const std::vector<std::string>& args, const std::string& what) {
    std::string output;
    int code = run_capture(args, false, false, &output);
    if (code != 0) throw UserError(fmt::format("{} failed (exit status {})", what, code));
    return output;
}

int run_program(const std::vector<std::string>& args, std::string* output) {
    return run_capture(args, true, true, output);
}

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    for (size_t start = 0; start <= dirs.size();) {
        size_t colon = dirs.find(':', start);
        std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
        if (access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0) return true;
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    return false;
}

}  // namespace xb::app
