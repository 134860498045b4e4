// Pointwise activations: GELU (tanh approximation, as GPT-2 and flax nn.gelu) and ReLU. Both save
// only their input Var. GELU uses 0.5(1 + tanh u) = σ(2u) with the vector exp of
// core/vec_math-inl.h (libm's tanh/exp are scalar calls without -ffast-math). The loops are
// compiled once per SIMD target and dispatched at run time.
#include <cmath>
#include <cstdint>

#include "core/parallel_grain.h"
#include "ops/ops.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/activations.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluCubic = 0.044715f;

// σ(2u) = 0.5(1 + tanh u) for u = √(2/π)(x + 0.044715x³)
template <class D, class V = hn::Vec<D>>
HWY_INLINE V GeluGate(D d, V x) {
    const V u = hn::Mul(hn::Set(d, kSqrt2OverPi),
                        hn::MulAdd(hn::Mul(hn::Set(d, kGeluCubic), x), hn::Mul(x, x), x));
    const V one = hn::Set(d, 1.0f);
    return hn::Div(one, hn::Add(one, Exp(d, hn::Mul(hn::Set(d, -2.0f), u))));
}

// x (N) -> out (N): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u)
void GeluForward(float* out, const float* x, int64_t N) {
    parallel_chunks(N, [&](int64_t begin, int64_t end) {
        ForEachVector(end - begin, [&](auto d, int64_t i) {
            const auto v = hn::LoadU(d, x + begin + i);
            hn::StoreU(hn::Mul(v, GeluGate(d, v)), d, out + begin + i);
        });
    });
}

// With s = σ(2u): d/dx [x·s] = s + 2x·s(1 − s)·du/dx, du/dx = √(2/π)(1 + 3·0.044715x²).
// dx += dout · that (dx = dout · that unless accumulate);  dx, dout, x (N)
void GeluBackward(float* dx, bool accumulate, const float* dout, const float* x, int64_t N) {
    parallel_chunks(N, [&](int64_t begin, int64_t end) {
        ForEachVector(end - begin, [&](auto d, int64_t i) {
            const int64_t k = begin + i;
            const auto v = hn::LoadU(d, x + k);
            const auto s = GeluGate(d, v);
            const auto one = hn::Set(d, 1.0f);
            const auto du = hn::Mul(hn::Set(d, kSqrt2OverPi),
                                    hn::MulAdd(hn::Set(d, 3.0f * kGeluCubic), hn::Mul(v, v), one));
            // s + 2x·s(1 − s)·du
            const auto slope = hn::MulAdd(
                hn::Mul(hn::Mul(hn::Set(d, 2.0f), v), hn::Mul(s, hn::Sub(one, s))), du, s);
            const auto prev = accumulate ? hn::LoadU(d, dx + k) : hn::Zero(d);
            hn::StoreU(hn::MulAdd(hn::LoadU(d, dout + k), slope, prev), d, dx + k);
        });
    });
}

// x (N) -> out (N) = max(x, 0)
void ReluForward(float* out, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dx += dout where x > 0 (the subgradient at 0 is taken as 0);  dx, dout, x (N)
void ReluBackward(float* dx, const float* dout, const float* x, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(GeluForward);
HWY_EXPORT(GeluBackward);
HWY_EXPORT(ReluForward);
HWY_EXPORT(ReluBackward);

// x (N..) -> (N..)
Var gelu(const Var& x) {
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    HWY_DYNAMIC_DISPATCH(GeluForward)(out->value.data(), x->value.data(), N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                bool accumulate;
                float* dx = x->grad_target(&accumulate);
                HWY_DYNAMIC_DISPATCH(GeluBackward)
                (dx, accumulate, out->grad.data(), x->value.data(), N);
            },
            {out});
    }
    return out;
}

// x (N..) -> (N..)
Var relu(const Var& x) {
    int64_t N = x->value.numel();
    Var out = make_var(Tensor::empty(x->value.shape()));
    HWY_DYNAMIC_DISPATCH(ReluForward)(out->value.data(), x->value.data(), N);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                HWY_DYNAMIC_DISPATCH(ReluBackward)
                (x->grad_buffer().data(), out->grad.data(), x->value.data(), N);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
