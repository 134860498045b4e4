// Row gather: the layout op behind the memory variants' sequence reshapes (compression groups,
// axial grids, inducing-point broadcasts). A pure copy: forward saves only the index list.
#include <algorithm>
#include <utility>

#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

Var gather_rows(std::vector<GatherPiece> pieces, std::vector<int64_t> src, const Shape& out_shape) {
    XB_CHECK(!pieces.empty(), "gather_rows: no pieces");
    const int64_t N = pieces[0].x->value.numel() / pieces[0].x->value.shape()[-1];
    int64_t w = 0;                // output channels
    std::vector<int64_t> offset;  // of each piece in an output unit
    for (GatherPiece& p : pieces) {
        const Shape& s = p.x->value.shape();
        const int64_t X = s[-1];
        if (p.channel_end < 0) p.channel_end = X;
        XB_CHECK(0 <= p.channel_begin && p.channel_begin < p.channel_end && p.channel_end <= X &&
                     p.x->value.numel() / X == N,
                 "gather_rows: x {} channels [{}, {}) with {} rows per piece", s, p.channel_begin,
                 p.channel_end, N);
        offset.push_back(w);
        w += p.channel_end - p.channel_begin;
    }
    const int64_t U = int64_t(src.size());
    XB_CHECK(out_shape.numel() == U * w, "gather_rows: {} units of {} channels into {}", U, w,
             out_shape);
    for (int64_t r : src) XB_CHECK(r >= -1 && r < N, "gather_rows: source row {} of {}", r, N);
    Var out = make_var(Tensor::empty(out_shape));
    float* ov = out->value.data();
#pragma omp parallel for schedule(static) if (U * w >= kMinParallelWork)
    for (int64_t u = 0; u < U; ++u) {
        float* o = ov + u * w;
        if (src[u] < 0) {
            std::fill(o, o + w, 0.0f);
            continue;
        }
        for (const GatherPiece& p : pieces) {
            const int64_t X = p.x->value.shape()[-1], n = p.channel_end - p.channel_begin;
            o = std::copy_n(p.x->value.data() + src[u] * X + p.channel_begin, n, o);
        }
    }
    bool any_grad = false;
    for (const GatherPiece& p : pieces) any_grad = any_grad || needs_grad({&p.x});
    if (any_grad) {
        out->requires_grad = true;
        // Rows gathered more than once (broadcasts) would race in a parallel scatter-add.
        std::vector<uint8_t> seen(size_t(N), 0);
        bool injective = true;
        for (int64_t r : src)
            if (r >= 0) injective = injective && !std::exchange(seen[size_t(r)], 1);
        tape().push(
            [=, src = std::move(src)] {
                const float* dout = out->grad.data();
                for (size_t k = 0; k < pieces.size(); ++k) {
                    const GatherPiece& p = pieces[k];
                    if (!p.x->requires_grad) continue;
                    const int64_t X = p.x->value.shape()[-1], n = p.channel_end - p.channel_begin;
                    float* dx = p.x->grad_buffer().data() + p.channel_begin;
                    const float* g0 = dout + offset[k];
#pragma omp parallel for schedule(static) if (injective && U * n >= kMinParallelWork)
                    for (int64_t u = 0; u < U; ++u) {
                        if (src[u] < 0) continue;
                        float* d = dx + src[u] * X;
                        const float* g = g0 + u * w;
                        for (int64_t c = 0; c < n; ++c) d[c] += g[c];
                    }
                }
            },
            {out});
    }
    return out;
}

Var gather_rows(const Var& x, std::vector<int64_t> src, const Shape& out_shape,
                int64_t channel_begin, int64_t channel_end) {
    return gather_rows({{x, channel_begin, channel_end}}, std::move(src), out_shape);
}

}  // namespace xb
