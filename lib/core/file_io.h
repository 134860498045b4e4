// File and directory helpers shared by the loaders, the writers of data files and reports, and
// the commands: one atomic writer, one bounded reader, and the checks that run before any work.
// Every failure is an IoError or DataError naming the path and, for I/O, the OS reason.
#pragma once
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace xb {

// DataError "<path>: directory not found" (or not a directory) unless path is a directory;
// `what` says what the directory should hold.
void require_directory(const std::string& path, const std::string& what);
// IoError unless path is a regular file.
void require_file(const std::string& path);
// Creates dir and its parents; IoError with the OS reason on failure.
void make_directory(const std::string& dir);
// Checks, before a command's work rather than after it, that dir could be created and written:
// its nearest existing ancestor must be a directory in which a probe file can be created (and
// is removed at once). Creates nothing. IoError with the OS reason.
void probe_writable_directory(const std::string& dir);
// The same for the directory a file will be written to; also an IoError when path itself is an
// existing directory.
void probe_output_file(const std::string& path);

// A file written through a temporary file in the same directory (created with its parents;
// named after host and process, so writers on the nodes of a shared filesystem never share one),
// flushed and renamed into place by commit(): readers see the old file or the whole new one,
// never part of it. On any failure, and when destroyed without commit(), the temporary file is
// removed; failures are IoErrors giving the path and the OS reason.
class AtomicFile {
  public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(std::string_view bytes);
    void commit();

  private:
    [[noreturn]] void fail(const std::string& what);
    std::string path_, tmp_;
    int fd_ = -1;
};

// An exclusive advisory lock (flock) on a lock file, held for the object's lifetime; the file is
// removed on release. Guards an output that only one process may write at a time (a report).
class FileLock {
  public:
    // Takes the lock, or returns false (fd left closed) when another process holds it.
    bool try_lock(const std::string& path);
    // Whether another process holds the lock on path (tries it and releases it at once).
    static bool held_elsewhere(const std::string& path);
    FileLock() = default;
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    std::string path_;
    int fd_ = -1;
};

// Removes the temporary files that AtomicFiles for path left behind when their process was
// killed mid-write (path + ".tmp.*"). Only for a path whose writers are serialised by a lock that
// the caller holds, so that no live writer's file is removed.
void remove_stale_temporaries(const std::string& path);

// The whole of bytes, through an AtomicFile.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads at most max_bytes of a file (the whole file by default); IoError if it is missing or,
// with the OS reason, cannot be read.
std::string read_file_bytes(const std::string& path,
                            size_t max_bytes = std::numeric_limits<size_t>::max());

// root/relative, for a relative path read from a data file (where = "file:line"). DataError
// when it is absolute or would leave root (a ".." component), so data files cannot make the
// loader open files outside their own folder.
std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& where);

}  // namespace xb
