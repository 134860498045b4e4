// The smallest loop, in floats touched, that the ops run as an OpenMP parallel region. A fork and
// join costs microseconds (milliseconds when cores are oversubscribed), more than a small loop
// such as a (B, C) pooling output or a gradcheck-sized tensor takes serially. Results do not
// depend on it except through the fixed thread team, so reproducibility is unchanged.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace xb {
constexpr int64_t kMinParallelWork = 16384;

// Calls body(begin, end) over [0, N) in fixed chunks of `chunk` elements, in parallel (static
// schedule) when N >= kMinParallelWork. Chunk boundaries do not depend on the thread count.
template <class F>
void parallel_chunks(int64_t N, F&& body, int64_t chunk = 4096) {
    const int64_t chunks = (N + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t c = 0; c < chunks; ++c) body(c * chunk, std::min(N, (c + 1) * chunk));
}

// db[c] += Σ_n row_n[c] for an (N, C) matrix whose rows are visited by add_row(n, acc), which adds
// row n into acc (C floats) and may do other per-row work. Rows are split into a fixed number of
// chunks (independent of the thread count) whose partial sums are added in chunk order, so the
// result is bitwise reproducible and the inner loops run along contiguous columns.
template <class AddRow>
void chunked_column_sums(float* db, int64_t N, int64_t C, AddRow&& add_row) {
    constexpr int64_t kChunks = 32;
    std::vector<float> partial(size_t(kChunks * C), 0.0f);
    const int64_t rows_per_chunk = (N + kChunks - 1) / kChunks;
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t c = 0; c < kChunks; ++c) {
        float* acc = partial.data() + c * C;
        const int64_t end = std::min(N, (c + 1) * rows_per_chunk);
        for (int64_t n = c * rows_per_chunk; n < end; ++n) add_row(n, acc);
    }
    for (int64_t c = 0; c < kChunks; ++c)
        for (int64_t o = 0; o < C; ++o) db[o] += partial[size_t(c * C + o)];
}
}  // namespace xb
