// Means of contiguous segments along the sequence over each example's valid tokens (Nyström
// landmarks). Forward saves nothing: the segment bounds are recomputed from T, S and lengths.
#include <algorithm>

#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

namespace {
struct SegmentDims {
    int64_t B, G, T, D, S;  // batch, groups (heads), tokens, width, segments
    int64_t begin(int64_t s) const { return s * T / S; }
    int64_t end(int64_t s, int64_t len) const { return std::min((s + 1) * T / S, len); }
};
}  // namespace

std::vector<int32_t> segment_valid_counts(int64_t T, int segments,
                                          const std::vector<int32_t>& lengths) {
    const SegmentDims d{0, 0, T, 0, std::min<int64_t>(segments, T)};
    std::vector<int32_t> counts;
    for (int32_t len : lengths) {
        int32_t c = 0;
        while (c < d.S && d.begin(c) < len) ++c;
        counts.push_back(c);
    }
    return counts;
}

// x (B, G, T, D) -> out (B, G, S, D)
static void segment_means_forward(float* out, const float* x, const int32_t* lengths,
                                  const SegmentDims& d) {
#pragma omp parallel for schedule(static) if (d.B * d.G * d.T * d.D >= kMinParallelWork)
    for (int64_t bgs = 0; bgs < d.B * d.G * d.S; ++bgs) {
        const int64_t bg = bgs / d.S, s = bgs % d.S, b = bg / d.G;
        const int64_t lo = d.begin(s), hi = d.end(s, lengths[b]);
        float* o = out + bgs * d.D;
        std::fill(o, o + d.D, 0.0f);
        for (int64_t t = lo; t < hi; ++t)
            for (int64_t e = 0; e < d.D; ++e) o[e] += x[(bg * d.T + t) * d.D + e];
        const float inv = hi > lo ? 1.0f / float(hi - lo) : 0.0f;
        for (int64_t e = 0; e < d.D; ++e) o[e] *= inv;
    }
}

// dx[t] += dout[s] / count(s) for every valid t in segment s
static void segment_means_backward(float* dx, const float* dout, const int32_t* lengths,
                                   const SegmentDims& d) {
#pragma omp parallel for schedule(static) if (d.B * d.G * d.T * d.D >= kMinParallelWork)
    for (int64_t bgs = 0; bgs < d.B * d.G * d.S; ++bgs) {
        const int64_t bg = bgs / d.S, s = bgs % d.S, b = bg / d.G;
        const int64_t lo = d.begin(s), hi = d.end(s, lengths[b]);
        if (hi <= lo) continue;
        const float inv = 1.0f / float(hi - lo);
        const float* g = dout + bgs * d.D;
        for (int64_t t = lo; t < hi; ++t)
            for (int64_t e = 0; e < d.D; ++e) dx[(bg * d.T + t) * d.D + e] += inv * g[e];
    }
}

Var segment_means(const Var& x, const std::vector<int32_t>& lengths, int segments) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim >= 3 && segments >= 1 && int64_t(lengths.size()) == s[0],
             "segment_means: x {} segments {} lengths {}", s, segments, lengths.size());
    const int64_t T = s[-2], D = s[-1];
    SegmentDims d{s[0], x->value.numel() / (s[0] * T * D), T, D, std::min<int64_t>(segments, T)};
    Shape os = s;
    os.dims[os.ndim - 2] = d.S;
    Var out = make_var(Tensor::empty(os));
    segment_means_forward(out->value.data(), x->value.data(), lengths.data(), d);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                segment_means_backward(x->grad_buffer().data(), out->grad.data(), lengths.data(),
                                       d);
            },
            {out});
    }
    return out;
}

}  // namespace xb
