// Layer normalisation over the last dim. Forward saves the per-row mean and rstd (N floats each)
// so backward needs neither a second variance pass nor the normalised activations; dgamma and
// dbeta are reduced through per-thread partial rows summed in thread order (no float atomics).
#include <omp.h>

#include <cmath>

#include "core/parallel_grain.h"
#include "ops/ops.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/layernorm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// x (N, C), gamma (C), beta (C) -> out (N, C), mean (N), rstd (N)
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* gamma,
                       const float* beta, int64_t N, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t n = 0; n < N; ++n) {
        const float* xr = x + n * C;
        float* yr = out + n * C;
        float sum = 0;
        // omp simd lets the reductions vectorise without -ffast-math; the lane order is fixed
        // by the build, so results stay reproducible.
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < C; ++c) sum += xr[c];
        float m = sum / float(C);
        // Two passes (centre, then square) so a large mean does not cancel the variance.
        float sq = 0;
#pragma omp simd reduction(+ : sq)
        for (int64_t c = 0; c < C; ++c) sq += (xr[c] - m) * (xr[c] - m);
        float s = 1.0f / std::sqrt(sq / float(C) + eps);
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m) * s * gamma[c] + beta[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

// With x̂ = (x − mean)·rstd and g = dout·gamma, per row:
//   dx += rstd·(g − mean(g) − x̂·mean(g·x̂)),  dgamma += Σ_n dout·x̂,  dbeta += Σ_n dout.
// dx, dgamma, dbeta may each be null. dout, x (N, C); gamma (C); mean, rstd (N).
// dx is added to when add_dx, else overwritten (a new, uninitialised gradient).
void layernorm_backward(float* dx, bool add_dx, float* dgamma, float* dbeta, const float* dout,
                        const float* x, const float* gamma, const float* mean, const float* rstd,
                        int64_t N, int64_t C) {
    bool param_grads = dgamma || dbeta;
    int max_threads = omp_get_max_threads();
    // partial (threads, 2, C): each thread sums dgamma and dbeta over its static share of rows.
    Tensor partial = param_grads ? Tensor::zeros({int64_t(max_threads), 2, C}) : Tensor();
#pragma omp parallel if (N * C >= kMinParallelWork)
    {
        float* pg = param_grads ? partial.data() + omp_get_thread_num() * 2 * C : nullptr;
        float* pb = param_grads ? pg + C : nullptr;
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; ++n) {
            const float* xr = x + n * C;
            const float* dr = dout + n * C;
            float m = mean[n], s = rstd[n];
            if (dx) {
                float sum_g = 0, sum_gx = 0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
                for (int64_t c = 0; c < C; ++c) {
                    float g = dr[c] * gamma[c];
                    sum_g += g;
                    sum_gx += g * (xr[c] - m) * s;
                }
                float mean_g = sum_g / float(C), mean_gx = sum_gx / float(C);
                float* dxr = dx + n * C;
                if (!add_dx) std::fill(dxr, dxr + C, 0.0f);  // the row is in cache: no extra pass
                for (int64_t c = 0; c < C; ++c) {
                    float xhat = (xr[c] - m) * s;
                    dxr[c] += s * (dr[c] * gamma[c] - mean_g - xhat * mean_gx);
                }
            }
            if (param_grads) {
                for (int64_t c = 0; c < C; ++c) {
                    pg[c] += dr[c] * (xr[c] - m) * s;
                    pb[c] += dr[c];
                }
            }
        }
    }
    if (!param_grads) return;
    // Summing the partials in thread order keeps the result bitwise fixed for a thread count.
    for (int t = 0; t < max_threads; ++t) {
        const float* pg = partial.data() + t * 2 * C;
        const float* pb = pg + C;
        if (dgamma)
            for (int64_t c = 0; c < C; ++c) dgamma[c] += pg[c];
        if (dbeta)
            for (int64_t c = 0; c < C; ++c) dbeta[c] += pb[c];
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(layernorm_forward);
HWY_EXPORT(layernorm_backward);

// x (N.., C), gamma (C), beta (C) -> (N.., C)
Var layernorm(const Var& x, const Var& gamma, const Var& beta, float eps) {
    const Shape& xs = x->value.shape();
    XB_CHECK(xs.ndim >= 1, "layernorm: x needs at least one dim, got {}", xs);
    int64_t C = xs[-1], N = x->value.numel() / (C ? C : 1);
    XB_CHECK(gamma && gamma->value.shape() == Shape({C}), "layernorm: x {} gamma {}", xs,
             gamma ? gamma->value.shape() : Shape{});
    XB_CHECK(beta && beta->value.shape() == Shape({C}), "layernorm: x {} beta {}", xs,
             beta ? beta->value.shape() : Shape{});
    XB_CHECK(eps > 0, "layernorm: eps {} must be positive", eps);
    Var out = make_var(Tensor::empty(xs));
    Tensor mean = Tensor::empty({N}), rstd = Tensor::empty({N});  // (N) each, saved for backward
    HWY_DYNAMIC_DISPATCH(layernorm_forward)
    (out->value.data(), mean.data(), rstd.data(), x->value.data(), gamma->value.data(),
     beta->value.data(), N, C, eps);
    if (needs_grad({&x, &gamma, &beta})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                bool add_dx = true;
                float* dx = x->requires_grad ? x->grad_target(&add_dx) : nullptr;
                HWY_DYNAMIC_DISPATCH(layernorm_backward)
                (dx, add_dx, gamma->requires_grad ? gamma->grad_buffer().data() : nullptr,
                 beta->requires_grad ? beta->grad_buffer().data() : nullptr, out->grad.data(),
                 x->value.data(), gamma->value.data(), mean.data(), rstd.data(), N, C);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
