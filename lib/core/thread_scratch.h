// Per-thread scratch for the fused kernels, taken from the tracked pool so that
// peak_tensor_bytes counts it: one allocation per call, a 64-byte aligned slice per thread.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace xb {

struct ThreadScratch {
    size_t per_thread;
    Tensor storage;
    ThreadScratch(int threads, size_t floats)
        : per_thread((floats + 15) / 16 * 16),
          storage(Tensor::empty({int64_t(per_thread) * threads})) {}
    float* get(int thread) const { return storage.data() + per_thread * thread; }
};

}  // namespace xb
