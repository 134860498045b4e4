// Softmax over the last dim with optional per-example row and column lengths (key padding and
// padded query rows). Forward saves only its output; backward is dx = p ⊙ (dp − Σ p·dp).
#include <algorithm>
#include <cmath>

#include "core/parallel_grain.h"
#include "ops/ops.h"

#ifndef XB_OPS_SOFTMAX_SHARED_
#define XB_OPS_SOFTMAX_SHARED_
namespace xb {

namespace {
struct SoftmaxDims {
    int64_t B, G, R, L;  // batch, groups per example (heads..), rows, columns
};
int32_t length_or(const std::vector<int32_t>& lengths, int64_t b, int64_t full) {
    return lengths.empty() ? int32_t(full) : std::min<int32_t>(lengths[size_t(b)], int32_t(full));
}
}  // namespace
}  // namespace xb
#endif  // XB_OPS_SOFTMAX_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/softmax.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// x (B, G, R, L) -> out (B, G, R, L); rows[b] valid rows, cols[b] valid columns (empty = all)
void masked_softmax_forward(float* out, const float* x, const std::vector<int32_t>& rows,
                            const std::vector<int32_t>& cols, const SoftmaxDims& d) {
    const int64_t total_rows = d.B * d.G * d.R;
#pragma omp parallel for schedule(static) if (total_rows * d.L >= kMinParallelWork)
    for (int64_t r = 0; r < total_rows; ++r) {
        const int64_t b = r / (d.G * d.R), i = r % d.R;
        const float* xr = x + r * d.L;
        float* o = out + r * d.L;
        const int64_t n = i < length_or(rows, b, d.R) ? length_or(cols, b, d.L) : 0;
        for (int64_t j = 0; j < n; ++j) o[j] = xr[j];
        float m = n > 0 ? MaxOf(o, n) : 0.0f;
        if (m == -INFINITY) m = 0.0f;  // an all -inf row sums to 0 and becomes zeros, not NaN
        const float sum = ExpShiftSum(o, n, m);
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (int64_t j = 0; j < n; ++j) o[j] *= inv;
        for (int64_t j = n; j < d.L; ++j) o[j] = 0.0f;
    }
}

// dx += p ⊙ (dp − Σ_j p_j dp_j) per row; masked entries have p = 0 and get nothing.
void masked_softmax_backward(float* dx, const float* dout, const float* out, const SoftmaxDims& d) {
    const int64_t total_rows = d.B * d.G * d.R;
#pragma omp parallel for schedule(static) if (total_rows * d.L >= kMinParallelWork)
    for (int64_t r = 0; r < total_rows; ++r) {
        const float* p = out + r * d.L;
        const float* g = dout + r * d.L;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < d.L; ++j) dot += p[j] * g[j];
        float* dxr = dx + r * d.L;
#pragma omp simd
        for (int64_t j = 0; j < d.L; ++j) dxr[j] += p[j] * (g[j] - dot);
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(masked_softmax_forward);
HWY_EXPORT(masked_softmax_backward);

Var masked_softmax(const Var& x, const std::vector<int32_t>* row_lengths,
                   const std::vector<int32_t>* col_lengths) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim >= 3, "masked_softmax: x {} must be (B, G.., R, L)", s);
    SoftmaxDims d{s[0], x->value.numel() / (s[0] * s[-2] * s[-1]), s[-2], s[-1]};
    std::vector<int32_t> rows = row_lengths ? *row_lengths : std::vector<int32_t>{};
    std::vector<int32_t> cols = col_lengths ? *col_lengths : std::vector<int32_t>{};
    XB_CHECK(rows.empty() || int64_t(rows.size()) == d.B, "masked_softmax: {} row lengths for B={}",
             rows.size(), d.B);
    XB_CHECK(cols.empty() || int64_t(cols.size()) == d.B, "masked_softmax: {} col lengths for B={}",
             cols.size(), d.B);
    Var out = make_var(Tensor::empty(s));
    HWY_DYNAMIC_DISPATCH(masked_softmax_forward)(out->value.data(), x->value.data(), rows, cols, d);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                HWY_DYNAMIC_DISPATCH(masked_softmax_backward)
                (x->grad_buffer().data(), out->grad.data(), out->value.data(), d);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
