// Pointwise activations: GELU (tanh approximation, as GPT-2 and flax nn.gelu) and ReLU. Both save
// only their input Var. GELU uses 0.5(1 + tanh u) = σ(2u) with the vector exp of
// core/vec_math-inl.h (libm's tanh/exp are scalar calls without -ffast-math). The loops are
// compiled once per SIMD target and dispatched at run time.
#include <algorithm>
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

// d/dx [x·σ(2u)] = s + 2x·s(1 − s)·du/dx with s = σ(2u), du/dx = √(2/π)(1 + 3·0.044715x²).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V GeluSlope(D d, V v) {
    const V s = GeluGate(d, v);
    const V one = hn::Set(d, 1.0f);
    const V du = hn::Mul(hn::Set(d, kSqrt2OverPi),
                         hn::MulAdd(hn::Set(d, 3.0f * kGeluCubic), hn::Mul(v, v), one));
    return hn::MulAdd(hn::Mul(hn::Mul(hn::Set(d, 2.0f), v), hn::Mul(s, hn::Sub(one, s))), du, s);
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

// dx += dout · gelu'(x) (dx = dout · that unless accumulate);  dx, dout, x (N)
void GeluBackward(float* dx, bool accumulate, const float* dout, const float* x, int64_t N) {
    parallel_chunks(N, [&](int64_t begin, int64_t end) {
        ForEachVector(end - begin, [&](auto d, int64_t i) {
            const int64_t k = begin + i;
            const auto slope = GeluSlope(d, hn::LoadU(d, x + k));
            const auto prev = accumulate ? hn::LoadU(d, dx + k) : hn::Zero(d);
            hn::StoreU(hn::MulAdd(hn::LoadU(d, dout + k), slope, prev), d, dx + k);
        });
    });
}

// x (N, C) + b (C) -> out (N, C) = gelu(x + b): the FFN's bias add and activation in one pass.
void BiasGeluForward(float* out, const float* x, const float* b, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelWork)
    for (int64_t n = 0; n < N; ++n) {
        ForEachVector(C, [&](auto d, int64_t c) {
            const auto v = hn::Add(hn::LoadU(d, x + n * C + c), hn::LoadU(d, b + c));
            hn::StoreU(hn::Mul(v, GeluGate(d, v)), d, out + n * C + c);
        });
    }
}

// g = dout · gelu'(x + b): dx += g (dx = g unless accumulate) and db += Σ_n g, in one pass; the
// bias gradient in the fixed chunks of chunked_column_sums.  dx, dout, x (N, C); b, db (C)
void BiasGeluBackward(float* dx, bool accumulate, float* db, const float* dout, const float* x,
                      const float* b, int64_t N, int64_t C) {
    chunked_column_sums(db, N, C, [&](int64_t n, float* acc) {
        ForEachVector(C, [&](auto d, int64_t c) {
            const int64_t k = n * C + c;
            const auto slope = GeluSlope(d, hn::Add(hn::LoadU(d, x + k), hn::LoadU(d, b + c)));
            const auto g = hn::Mul(hn::LoadU(d, dout + k), slope);
            const auto prev = accumulate ? hn::LoadU(d, dx + k) : hn::Zero(d);
            hn::StoreU(hn::MulAdd(hn::LoadU(d, dout + k), slope, prev), d, dx + k);
            hn::StoreU(hn::Add(hn::LoadU(d, acc + c), g), d, acc + c);
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
HWY_EXPORT(BiasGeluForward);
HWY_EXPORT(BiasGeluBackward);
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

// x (N.., C) + b (C) -> gelu (N.., C)
Var bias_gelu(const Var& x, const Var& b) {
    const int64_t C = x->value.shape()[-1], N = x->value.numel() / (C ? C : 1);
    XB_CHECK(b->value.shape() == Shape({C}), "bias_gelu: x {} b {}", x->value.shape(),
             b->value.shape());
    Var out = make_var(Tensor::empty(x->value.shape()));
    HWY_DYNAMIC_DISPATCH(BiasGeluForward)
    (out->value.data(), x->value.data(), b->value.data(), N, C);
    if (needs_grad({&x, &b})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                // Both gradients come out of one pass; an input that needs none gets scratch.
                bool accumulate = true;
                Tensor scratch_dx, scratch_db;
                float* dx = x->requires_grad
                                ? x->grad_target(&accumulate)
                                : (scratch_dx = Tensor::empty(x->value.shape())).data();
                if (!x->requires_grad) accumulate = false;
                float* db = b->requires_grad ? b->grad_buffer().data()
                                             : (scratch_db = Tensor::zeros({C})).data();
                HWY_DYNAMIC_DISPATCH(BiasGeluBackward)
                (dx, accumulate, db, out->grad.data(), x->value.data(), b->value.data(), N, C);
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
