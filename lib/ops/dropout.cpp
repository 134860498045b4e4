// Inverted dropout. Element i is kept iff random_uniform(seed, stream, i) >= p and kept values
// are scaled by 1/(1 − p). The mask is a pure function of (seed, stream, i), so backward
// regenerates it instead of storing N bytes per dropout site, and it does not depend on threads.
#include "core/rng.h"
#include "ops/ops.h"
#include "ops/parallel_grain.h"

namespace xb {

// x (N) -> out (N)
static void dropout_forward(float* out, const float* x, float p, uint64_t seed, uint64_t stream,
                            int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i)
        out[i] = random_uniform(seed, stream, uint64_t(i)) >= p ? x[i] * scale : 0.0f;
}

// dx += dout · mask / (1 − p), the same mask as forward;  dx, dout (N)
static void dropout_backward(float* dx, const float* dout, float p, uint64_t seed, uint64_t stream,
                             int64_t N) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i)
        dx[i] += random_uniform(seed, stream, uint64_t(i)) >= p ? dout[i] * scale : 0.0f;
}

// x (N..) -> (N..)
Var dropout(const Var& x, float p, uint64_t seed, uint64_t stream) {
    XB_CHECK(p >= 0.0f && p < 1.0f, "dropout: p = {} must be in [0, 1)", p);
    // Evaluation and p = 0 configs pay nothing: no copy, no tape entry.
    if (p == 0.0f) return x;
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    dropout_forward(out->value.data(), x->value.data(), p, seed, stream, N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                dropout_backward(x->grad_buffer().data(), out->grad.data(), p, seed, stream, N);
            },
            {out});
    }
    return out;
}

}  // namespace xb
