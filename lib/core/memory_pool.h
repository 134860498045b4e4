// The tracked memory pool: every tensor byte comes from here. It counts current and peak
// requested bytes (exact and reproducible, independent of the OS allocator) and keeps freed
// blocks in size buckets for reuse, so a training step does not call malloc in its hot loop.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace xb {

class MemoryPool {
  public:
    static MemoryPool& instance();

    // Returns 64-byte aligned storage for `bytes`; *capacity receives the bucket size to pass
    // back to release().
    void* allocate(size_t bytes, size_t* capacity);
    void release(void* ptr, size_t bytes, size_t capacity);

    size_t current_bytes() const { return current_; }
    size_t peak_bytes() const { return peak_; }
    // Starts a new peak measurement from the current usage.
    void reset_peak() { peak_ = current_; }
    // Returns cached free blocks to the OS.
    void trim();

  private:
    static size_t bucket_size(size_t bytes);
    std::mutex mutex_;
    std::map<size_t, std::vector<void*>> free_;
    size_t current_ = 0;
    size_t peak_ = 0;
};

}  // namespace xb
