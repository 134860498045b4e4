// Pointwise activations: GELU (tanh approximation, as GPT-2 and flax nn.gelu) and ReLU. Both save
// only their input Var. GELU uses 0.5(1 + tanh u) = σ(2u) with an exp of our own, because libm's
// tanh/exp are scalar calls without -ffast-math and made GELU ~10x slower than its memory traffic.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/ops.h"
#include "ops/parallel_grain.h"

namespace xb {

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluCubic = 0.044715f;
}  // namespace

// e^t, written so that GCC vectorises loops calling it: Cody–Waite reduction t = n·ln2 + r with
// |r| <= ln2/2, Cephes' expf polynomial for e^r (about 1 ulp), and 2^n applied as two factors
// built in the exponent bits, so the whole float range including subnormal results is covered.
// Overflow gives inf, NaN stays NaN.
static inline float exp_vectorisable(float t) {
    constexpr float kHi = 88.7228390520683f;  // ln(FLT_MAX): above it e^t overflows
    constexpr float kLo = -104.0f;            // below it e^t rounds to 0 even as a subnormal
    // The first select also maps NaN to kLo, so the int conversion below is always defined.
    float tc = t > kLo ? t : kLo;
    tc = tc < kHi ? tc : kHi;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer without a libm call.
    float n = (tc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = tc - n * 0.693359375f;  // ln2 split in two so that n·ln2_hi is exact
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * (r * r) + r + 1.0f;
    // n is in [-150, 128]; halves of it keep each factor 2^half a normal float.
    int32_t n_lo = int32_t(n) / 2, n_hi = int32_t(n) - n_lo;
    int32_t bits_lo = (n_lo + 127) << 23, bits_hi = (n_hi + 127) << 23;
    float scale_lo, scale_hi;
    std::memcpy(&scale_lo, &bits_lo, sizeof scale_lo);
    std::memcpy(&scale_hi, &bits_hi, sizeof scale_hi);
    float y = er * scale_hi * scale_lo;
    y = t > kHi ? std::numeric_limits<float>::infinity() : y;
    y = t < kLo ? 0.0f : y;
    return t != t ? t : y;
}

// σ(2u) = 0.5(1 + tanh u) for u = √(2/π)(x + 0.044715x³)
static inline float gelu_gate(float v) {
    float u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
    return 1.0f / (1.0f + exp_vectorisable(-2.0f * u));
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
