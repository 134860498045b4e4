// The tracked memory pool: current and peak count requested bytes exactly, a freed block is
// reused for a request of the same bucket, and reset_peak starts a new measurement.
#include <doctest/doctest.h>

#include "core/memory_pool.h"
#include "core/tensor.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

TEST_CASE("memory pool: current and peak bytes follow allocations and releases exactly") {
    MemoryPool& pool = MemoryPool::instance();
    const size_t base = pool.current_bytes();
    pool.reset_peak();
    CHECK(pool.peak_bytes() == base);
    size_t cap_a = 0, cap_b = 0;
    void* a = pool.allocate(1000, &cap_a);
    CHECK(cap_a >= 1000);
    CHECK(cap_a % 64 == 0);
    CHECK(pool.current_bytes() == base + 1000);  // requested bytes, not the bucket size
    void* b = pool.allocate(5000, &cap_b);
    CHECK(pool.current_bytes() == base + 6000);
    CHECK(pool.peak_bytes() == base + 6000);
    pool.release(b, 5000, cap_b);
    CHECK(pool.current_bytes() == base + 1000);
    CHECK(pool.peak_bytes() == base + 6000);  // the peak stays
    pool.reset_peak();
    CHECK(pool.peak_bytes() == base + 1000);
    pool.release(a, 1000, cap_a);
    CHECK(pool.current_bytes() == base);
    CHECK(pool.peak_bytes() == base + 1000);
}

TEST_CASE("memory pool: a released block is reused for the next request of its bucket") {
    MemoryPool& pool = MemoryPool::instance();
    size_t cap = 0, cap_again = 0, cap_other = 0;
    void* p = pool.allocate(100000, &cap);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    pool.release(p, 100000, cap);
    void* q = pool.allocate(cap - 1, &cap_again);  // another size in the same bucket
    CHECK(cap_again == cap);
    CHECK(q == p);
    void* r = pool.allocate(cap + 1, &cap_other);  // the next bucket: a different block
    CHECK(cap_other > cap);
    CHECK(r != p);
    pool.release(r, cap + 1, cap_other);
    pool.release(q, cap - 1, cap_again);
}

TEST_CASE("memory pool: tensors count their bytes while they live") {
    MemoryPool& pool = MemoryPool::instance();
    const size_t base = pool.current_bytes();
    {
        Tensor t = Tensor::zeros({16, 32});
        CHECK(pool.current_bytes() == base + 16 * 32 * sizeof(float));
        Tensor view = t;  // a copy shares the storage
        CHECK(pool.current_bytes() == base + 16 * 32 * sizeof(float));
    }
    CHECK(pool.current_bytes() == base);
}

TEST_SUITE_END();
