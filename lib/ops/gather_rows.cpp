// Row gather: the layout op behind the memory variants' sequence reshapes (compression groups,
// axial grids, inducing-point broadcasts). A pure copy: forward saves only the index list.
#include <algorithm>
#include <utility>

#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

Var gather_rows(const Var& x, std::vector<int64_t> src, const Shape& out_shape,
                int64_t channel_begin, int64_t channel_end) {
    const Shape& s = x->value.shape();
    const int64_t X = s[-1], N = x->value.numel() / X;
    if (channel_end < 0) channel_end = X;
    const int64_t w = channel_end - channel_begin, U = int64_t(src.size());
    XB_CHECK(0 <= channel_begin && channel_begin < channel_end && channel_end <= X &&
                 out_shape.numel() == U * w,
             "gather_rows: x {} channels [{}, {}) into {} from {} rows", s, channel_begin,
             channel_end, out_shape, U);
    for (int64_t r : src) XB_CHECK(r >= -1 && r < N, "gather_rows: source row {} of {}", r, N);
    Var out = make_var(Tensor::empty(out_shape));
    const float* xv = x->value.data();
    float* ov = out->value.data();
#pragma omp parallel for schedule(static) if (U * w >= kMinParallelWork)
    for (int64_t u = 0; u < U; ++u) {
        float* o = ov + u * w;
        if (src[u] < 0)
            std::fill(o, o + w, 0.0f);
        else
            std::copy_n(xv + src[u] * X + channel_begin, w, o);
    }
    if (needs_grad({&x})) {
        out->requires_grad = true;
        // Rows gathered more than once (broadcasts) would race in a parallel scatter-add.
        std::vector<uint8_t> seen(size_t(N), 0);
        bool injective = true;
        for (int64_t r : src)
            if (r >= 0) injective = injective && !std::exchange(seen[size_t(r)], 1);
        tape().push(
            [=, src = std::move(src)] {
                float* dx = x->grad_buffer().data();
                const float* dout = out->grad.data();
#pragma omp parallel for schedule(static) if (injective && U * w >= kMinParallelWork)
                for (int64_t u = 0; u < U; ++u) {
                    if (src[u] < 0) continue;
                    float* d = dx + src[u] * X + channel_begin;
                    const float* g = dout + u * w;
                    for (int64_t c = 0; c < w; ++c) d[c] += g[c];
                }
            },
            {out});
    }
    return out;
}

}  // namespace xb
