// File helpers; see file_io.h.
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/errors.h"

namespace xb {

namespace fs = std::filesystem;

namespace {

std::string os_reason() { return std::strerror(errno); }

// "<host>.<pid>": names temporary files so that writers on different nodes of a shared
// filesystem never share one.
std::string writer_id() {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return fmt::format("{}.{}", host, getpid());
}

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

void require_directory(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw DataError(fmt::format("{}: directory not found (expected {})", path, what));
    if (!fs::is_directory(path, ec))
        throw DataError(fmt::format("{}: not a directory (expected {})", path, what));
}

void require_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw IoError(fmt::format("{}: file not found", path));
    if (!fs::is_regular_file(path, ec)) throw IoError(fmt::format("{}: not a regular file", path));
}

void make_directory(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw IoError(fmt::format("{}: cannot create directory ({})", dir, ec.message()));
}

void probe_writable_directory(const std::string& dir) {
    // Nothing is created: the nearest existing ancestor must be a directory in which a file can
    // be created (a probe file, removed at once), so a failing command leaves no empty folders.
    std::error_code ec;
    fs::path existing = fs::absolute(dir, ec);
    while (!fs::exists(existing, ec) && existing.has_parent_path() &&
           existing != existing.parent_path())
        existing = existing.parent_path();
    if (!fs::is_directory(existing, ec))
        throw IoError(fmt::format("{}: cannot create directory ({})", dir, std::strerror(ENOTDIR)));
    const std::string probe = (existing / (".write-probe." + writer_id())).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw IoError(fmt::format("{}: cannot create directory or file there ({}: {})", dir,
                                  existing.string(), os_reason()));
    ::close(fd);
    ::unlink(probe.c_str());
}

void probe_output_file(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw IoError(fmt::format("{}: is a directory (expected a file path to write)", path));
    const fs::path parent = fs::path(path).parent_path();
    probe_writable_directory(parent.empty() ? "." : parent.string());
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    const fs::path target(path_);
    if (target.has_parent_path()) make_directory(target.parent_path().string());
    tmp_ = path_ + ".tmp." + writer_id();
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot create {} ({})", path_, tmp_, os_reason()));
}

void remove_stale_temporaries(const std::string& path) {
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string prefix = target.filename().string() + ".tmp.";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove(e.path(), ec);
}

AtomicFile::~AtomicFile() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what) {
    const std::string reason = os_reason();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
    throw IoError(fmt::format("{}: {} ({})", path_, what, reason));
}

void AtomicFile::write(std::string_view bytes) {
    for (size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write failed");
        done += size_t(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0 && errno != EINVAL) fail("write failed");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("write failed");
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
        fail("cannot rename the temporary file into place");
}

bool FileLock::try_lock(const std::string& path) {
    // The holder removes the file when it lets go; a process that opened the old file before
    // that would lock an unlinked inode, so the lock counts only if the path still names it.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw IoError(fmt::format("{}: cannot create lock file ({})", path, os_reason()));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            return false;
        }
        struct stat opened {
        }, named{};
        if (::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
            opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
            path_ = path;
            fd_ = fd;
            return true;
        }
        ::close(fd);  // lost a race with a releasing holder: try the new file
    }
    return false;
}

bool FileLock::held_elsewhere(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return false;
    FileLock probe;
    return !probe.try_lock(path);
}

FileLock::~FileLock() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());
    ::close(fd_);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

std::string read_file_bytes(const std::string& path, size_t max_bytes) {
    require_file(path);
    FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw IoError(fmt::format("{}: cannot open for reading ({})", path, os_reason()));
    std::string out;
    char buf[1 << 16];
    while (out.size() < max_bytes) {
        const size_t want = std::min(sizeof buf, max_bytes - out.size());
        ssize_t n = ::read(f.fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw IoError(fmt::format("{}: read error ({})", path, os_reason()));
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& where) {
    const fs::path rel(relative);
    bool escapes = rel.empty() || rel.is_absolute() || rel.has_root_name();
    for (const auto& part : rel) escapes = escapes || part == "..";
    if (escapes)
        throw DataError(fmt::format(
            "{}: path '{}' must be relative to {} and stay inside it (no '..', not absolute)",
            where, relative, root));
    return (fs::path(root) / rel).string();
}

}  // namespace xb
