// Pointwise activations: GELU (tanh approximation, as GPT-2 and flax nn.gelu) and ReLU. Both save
// only their input Var. GELU uses 0.5(1 + tanh u) = σ(2u) with the vectorisable exp of
// core/vec_math.h, because libm's tanh/exp are scalar calls without -ffast-math and made GELU
// ~10x slower than its memory traffic.
#include <cmath>

#include "core/vec_math.h"
#include "ops/ops.h"
#include "ops/parallel_grain.h"

namespace xb {

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluCubic = 0.044715f;
}  // namespace

// σ(2u) = 0.5(1 + tanh u) for u = √(2/π)(x + 0.044715x³)
static inline float gelu_gate(float v) {
    float u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
    return 1.0f / (1.0f + exp_approx(-2.0f * u));
}

// x (N) -> out (N): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u)
static void gelu_forward(float* out, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) out[i] = x[i] * gelu_gate(x[i]);
}

// With s = σ(2u): d/dx [x·s] = s + 2x·s(1 − s)·du/dx, du/dx = √(2/π)(1 + 3·0.044715x²).
// dx += dout · that;  dx, dout, x (N)
static void gelu_backward(float* dx, const float* dout, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) {
        float v = x[i];
        float s = gelu_gate(v);
        float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * v * v);
        dx[i] += dout[i] * (s + 2.0f * v * s * (1.0f - s) * du);
    }
}

// x (N) -> out (N) = max(x, 0)
static void relu_forward(float* out, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dx += dout where x > 0 (the subgradient at 0 is taken as 0);  dx, dout, x (N)
static void relu_backward(float* dx, const float* dout, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
}

// x (N..) -> (N..)
Var gelu(const Var& x) {
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    gelu_forward(out->value.data(), x->value.data(), N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] { gelu_backward(x->grad_buffer().data(), out->grad.data(), x->value.data(), N); },
            {out});
    }
    return out;
}

// x (N..) -> (N..)
Var relu(const Var& x) {
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    relu_forward(out->value.data(), x->value.data(), N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] { relu_backward(x->grad_buffer().data(), out->grad.data(), x->value.data(), N); },
            {out});
    }
    return out;
}

}  // namespace xb
