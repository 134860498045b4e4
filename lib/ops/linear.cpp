// Linear layer y = x Wᵀ + b over the last dim, as GEMMs; backward accumulates dx, dW, db.
#include <algorithm>
#include <vector>

#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "ops/ops.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/linear.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// x (N, IN), w (OUT, IN), b (OUT) or null -> out (N, OUT)
void linear_forward(float* out, const float* x, const float* w, const float* b, int64_t N,
                    int64_t IN, int64_t OUT) {
    gemm(false, true, N, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, out, OUT);
    if (!b) return;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < OUT; ++o) out[n * OUT + o] += b[o];
}

// db += Σ_n dout[n, :], in fixed chunks (bitwise reproducible; see chunked_column_sums).
void column_sums_accumulate(float* db, const float* dout, int64_t N, int64_t OUT) {
    chunked_column_sums(db, N, OUT, [&](int64_t n, float* acc) {
        const float* row = dout + n * OUT;
#pragma omp simd
        for (int64_t o = 0; o < OUT; ++o) acc[o] += row[o];
    });
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(linear_forward);
HWY_EXPORT(column_sums_accumulate);

// in the forward: out = x Wᵀ + b, so dx += dout W, dW += doutᵀ x, db += Σ_n dout
// dx is added to when accumulate_dx, else overwritten (GEMM beta 0 does not read it).
static void linear_backward(float* dx, bool accumulate_dx, float* dw, float* db, const float* dout,
                            const float* x, const float* w, int64_t N, int64_t IN, int64_t OUT) {
    if (dx)
        gemm(false, false, N, IN, OUT, 1.0f, dout, OUT, w, IN, accumulate_dx ? 1.0f : 0.0f, dx, IN);
    if (dw) gemm(true, false, OUT, IN, N, 1.0f, dout, OUT, x, IN, 1.0f, dw, IN);
    if (db) HWY_DYNAMIC_DISPATCH(column_sums_accumulate)(db, dout, N, OUT);
}

Var linear(const Var& x, const Var& w, const Var& b) {
    const Shape& xs = x->value.shape();
    int64_t IN = xs[-1], OUT = w->value.dim(0), N = x->value.numel() / IN;
    XB_CHECK(w->value.shape() == Shape({OUT, IN}), "linear: x {} w {}", xs, w->value.shape());
    XB_CHECK(!b || b->value.shape() == Shape({OUT}), "linear: bias {} for OUT={}", b->value.shape(),
             OUT);
    Shape os = xs;
    os.dims[os.ndim - 1] = OUT;
    Var out = make_var(Tensor::empty(os));
    HWY_DYNAMIC_DISPATCH(linear_forward)
    (out->value.data(), x->value.data(), w->value.data(), b ? b->value.data() : nullptr, N, IN,
     OUT);
    if (needs_grad({&x, &w, &b})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                bool accumulate_dx = true;
                float* dx = x->requires_grad ? x->grad_target(&accumulate_dx) : nullptr;
                linear_backward(dx, accumulate_dx,
                                w->requires_grad ? w->grad_buffer().data() : nullptr,
                                b && b->requires_grad ? b->grad_buffer().data() : nullptr,
                                out->grad.data(), x->value.data(), w->value.data(), N, IN, OUT);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
