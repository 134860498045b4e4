// Gated linear unit (Dauphin et al. 2017), the output transform of the S4D layer: x (N, 2C) ->
// a ⊙ σ(g) (N, C) with a = x[:, 0:C], g = x[:, C:2C]. Saves only its input Var.
#include <cmath>

#include "ops/ops.h"

namespace xb {

static float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// out (N, C) = a ⊙ σ(g);  x (N, 2C)
static void glu_forward(float* out, const float* x, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
        const float* a = x + i * 2 * C;
        for (int64_t c = 0; c < C; ++c) out[i * C + c] = a[c] * sigmoid(a[C + c]);
    }
}

// dx[:, 0:C] += dout ⊙ σ(g);  dx[:, C:2C] += dout ⊙ a ⊙ σ(g)(1 − σ(g))
static void glu_backward(float* dx, const float* dout, const float* x, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
        const float* a = x + i * 2 * C;
        float* da = dx + i * 2 * C;
        for (int64_t c = 0; c < C; ++c) {
            const float s = sigmoid(a[C + c]), g = dout[i * C + c];
            da[c] += g * s;
            da[C + c] += g * a[c] * s * (1.0f - s);
        }
    }
}

Var glu(const Var& x) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim >= 1 && s[-1] % 2 == 0, "glu: last dim of {} must be even", s);
    const int64_t C = s[-1] / 2, N = s.numel() / s[-1];
    Shape os = s;
    os.dims[os.ndim - 1] = C;
    Var out = make_var(Tensor::empty(os));
    glu_forward(out->value.data(), x->value.data(), N, C);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] { glu_backward(x->grad_buffer().data(), out->grad.data(), x->value.data(), N, C); },
            {out});
    }
    return out;
}

}  // namespace xb
