// Child processes of this binary; see process.h.
#include "process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "core/errors.h"

namespace xb::app {

namespace {

// fork + exec /proc/self/exe with stdout (and stderr when err_fd >= 0) redirected.
pid_t spawn_with_fds(const std::vector<std::string>& args, int out_fd, int err_fd, int close_fd) {
    pid_t pid = fork();
    if (pid < 0) throw IoError("cannot start a child process (fork failed)");
    if (pid == 0) {
        if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
        if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
        if (close_fd >= 0) close(close_fd);
        if (out_fd > STDERR_FILENO) close(out_fd);
        if (err_fd > STDERR_FILENO && err_fd != out_fd) close(err_fd);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv("/proc/self/exe", argv.data());
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

std::string run_self_capture(const std::vector<std::string>& args, const std::string& what) {
    int fds[2];
    if (pipe(fds) != 0) throw IoError(fmt::format("{}: cannot create a pipe", what));
    pid_t pid = spawn_with_fds(args, fds[1], -1, fds[0]);
    close(fds[1]);
    std::string output;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) output.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = exit_code_of(status);
    if (code != 0) throw UserError(fmt::format("{} failed (exit status {})", what, code));
    return output;
}

}  // namespace xb::app
