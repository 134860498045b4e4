// The smallest loop, in floats touched, that the ops run as an OpenMP parallel region. A fork and
// join costs microseconds (milliseconds when cores are oversubscribed), more than a small loop
// such as a (B, C) pooling output or a gradcheck-sized tensor takes serially. Results do not
// depend on it except through the fixed thread team, so reproducibility is unchanged.
#pragma once
#include <algorithm>
#include <cstdint>

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
}  // namespace xb
