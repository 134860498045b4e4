// Tracked memory pool; see memory_pool.h.
#include "core/memory_pool.h"

#include <unistd.h>

#include <cstdlib>
#include <new>

namespace xb {

MemoryPool& MemoryPool::instance() {
    static MemoryPool* pool = new MemoryPool();  // never destroyed: tensors may outlive main
    return *pool;
}

// Four buckets per power of two (at most 25% slack), multiples of 64 bytes.
size_t MemoryPool::bucket_size(size_t bytes) {
    if (bytes <= 256) return 256;
    int msb = 63 - __builtin_clzll(bytes);
    size_t step = size_t(1) << (msb - 2);
    return (bytes + step - 1) / step * step;
}

// XB_MAX_MEMORY (bytes, e.g. 2e9) when set, else the machine's physical memory.
static size_t memory_limit() {
    if (const char* text = std::getenv("XB_MAX_MEMORY")) {
        char* end = nullptr;
        const double v = std::strtod(text, &end);
        if (end != text && *end == '\0' && v > 0) return size_t(v);
    }
    return size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGE_SIZE));
}

void* MemoryPool::allocate(size_t bytes, size_t* capacity) {
    static const size_t limit = memory_limit();
    size_t cap = bucket_size(bytes);
    *capacity = cap;
    std::lock_guard<std::mutex> lock(mutex_);
    // Tensors that cannot fit fail here, before any page is touched: std::bad_alloc, which the
    // CLI reports as a one-line error (exit 2) naming the sizes that drive memory.
    if (bytes > limit || current_ > limit - bytes) throw std::bad_alloc();
    current_ += bytes;
    if (current_ > peak_) peak_ = current_;
    auto it = free_.find(cap);
    if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
    }
    void* p = std::aligned_alloc(64, cap);
    if (!p) throw std::bad_alloc();
    return p;
}

void MemoryPool::release(void* ptr, size_t bytes, size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ -= bytes;
    free_[capacity].push_back(ptr);
}

void MemoryPool::trim() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [cap, blocks] : free_)
        for (void* p : blocks) std::free(p);
    free_.clear();
}

}  // namespace xb
