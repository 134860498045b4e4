// Inverted dropout. Element i is kept iff random_uniform(seed, stream, i) >= p and kept values
// are scaled by 1/(1 − p). The mask is a pure function of (seed, stream, i), so backward
// regenerates it instead of storing N bytes per dropout site, and it does not depend on threads.
// The loops (a 64-bit hash per element) are compiled once per SIMD target, vectorised by the
// compiler for each, and dispatched at run time.
#include "core/rng.h"
#include "ops/ops.h"
#include "ops/parallel_grain.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/dropout.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// v · mask / (1 − p) for element i: the one mask of every loop below; scale = 1/(1 − p).
HWY_INLINE float Dropped(float v, float p, float scale, uint64_t seed, uint64_t stream, int64_t i) {
    return random_uniform(seed, stream, uint64_t(i)) >= p ? v * scale : 0.0f;
}

// x (N) -> out (N)
void DropoutForward(float* out, const float* x, float p, uint64_t seed, uint64_t stream,
                    int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) out[i] = Dropped(x[i], p, scale, seed, stream, i);
}

// dx += dout · mask / (1 − p), the same mask as forward;  dx, dout (N)
void DropoutBackward(float* dx, const float* dout, float p, uint64_t seed, uint64_t stream,
                     int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) dx[i] += Dropped(dout[i], p, scale, seed, stream, i);
}

// out = x + dropout(h): the residual add and its dropout in one pass;  out, x, h (N)
void ResidualDropoutForward(float* out, const float* x, const float* h, float p, uint64_t seed,
                            uint64_t stream, int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) {
        out[i] = x[i] + Dropped(h[i], p, scale, seed, stream, i);
    }
}

// dx += dout (when dx is given); dh += dout · mask / (1 − p);  dx, dh, dout (N)
void ResidualDropoutBackward(float* dx, float* dh, const float* dout, float p, uint64_t seed,
                             uint64_t stream, int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) {
        if (dx) dx[i] += dout[i];
        if (dh) dh[i] += Dropped(dout[i], p, scale, seed, stream, i);
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(DropoutForward);
HWY_EXPORT(DropoutBackward);
HWY_EXPORT(ResidualDropoutForward);
HWY_EXPORT(ResidualDropoutBackward);

// x (N..) -> (N..)
Var dropout(const Var& x, float p, uint64_t seed, uint64_t stream) {
    XB_CHECK(p >= 0.0f && p < 1.0f, "dropout: p = {} must be in [0, 1)", p);
    // Evaluation and p = 0 configs pay nothing: no copy, no tape entry.
    if (p == 0.0f) return x;
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    HWY_DYNAMIC_DISPATCH(DropoutForward)(out->value.data(), x->value.data(), p, seed, stream, N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                HWY_DYNAMIC_DISPATCH(DropoutBackward)
                (x->grad_buffer().data(), out->grad.data(), p, seed, stream, N);
            },
            {out});
    }
    return out;
}

// x (N..) + dropout(h (N..)) -> (N..)
Var residual_dropout(const Var& x, const Var& h, float p, uint64_t seed, uint64_t stream) {
    XB_CHECK(p >= 0.0f && p < 1.0f, "residual_dropout: p = {} must be in [0, 1)", p);
    XB_CHECK(x->value.shape() == h->value.shape(), "residual_dropout: x {} h {}", x->value.shape(),
             h->value.shape());
    if (p == 0.0f) return add(x, h);
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    HWY_DYNAMIC_DISPATCH(ResidualDropoutForward)
    (out->value.data(), x->value.data(), h->value.data(), p, seed, stream, N);
    if (needs_grad({&x, &h})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                HWY_DYNAMIC_DISPATCH(ResidualDropoutBackward)
                (x->requires_grad ? x->grad_buffer().data() : nullptr,
                 h->requires_grad ? h->grad_buffer().data() : nullptr, out->grad.data(), p, seed,
                 stream, N);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
