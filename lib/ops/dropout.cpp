// Inverted dropout. Element i is kept iff random_uniform(seed, stream, i) >= p and kept values
// are scaled by 1/(1 − p). The mask is a pure function of (seed, stream, i), so backward
// regenerates it instead of storing N bytes per dropout site, and it does not depend on threads.
// The loops are compiled once per SIMD target and dispatched at run time; the 64-bit hash runs
// on vector lanes (core/rng-inl.h) and gives the same mask as the scalar formula.
#include "core/parallel_grain.h"
#include "core/rng.h"
#include "ops/ops.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/dropout.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/rng-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// Calls f(d, i, keep) over [0, N) in parallel fixed chunks: full vectors first, then one lane at
// a time, where keep is the mask of the elements that dropout p keeps at i, i + 1, ...
template <class F>
HWY_INLINE void ForEachDropoutMask(int64_t N, float p, uint64_t seed, uint64_t stream, F&& f) {
    const uint64_t key = random_key(seed, stream);
    const uint32_t threshold = random_threshold(p);
    parallel_chunks(N, [&](int64_t begin, int64_t end) {
        int64_t i = begin;
#if HWY_TARGET != HWY_SCALAR
        const hn::ScalableTag<float> d;
        const hn::RebindToSigned<decltype(d)> di;
        const int64_t lanes = int64_t(hn::Lanes(d));
        const auto below = hn::Set(di, int32_t(threshold) - 1);  // k >= t  <=>  k > t − 1
        for (; i + lanes <= end; i += lanes) {
            f(d, i, hn::RebindMask(d, hn::Gt(Uniform24(d, key, uint64_t(i)), below)));
        }
#endif
        const hn::CappedTag<float, 1> d1;
        for (; i < end; ++i) {
            const bool keep = (mix64(key + uint64_t(i)) >> 40) >= threshold;
            f(d1, i, hn::FirstN(d1, keep ? 1 : 0));
        }
    });
}

// x (N) -> out (N)
void DropoutForward(float* out, const float* x, float p, uint64_t seed, uint64_t stream,
                    int64_t N) {
    const float scale = 1.0f / (1.0f - p);
    ForEachDropoutMask(N, p, seed, stream, [&](auto d, int64_t i, auto keep) {
        const auto v = hn::Mul(hn::LoadU(d, x + i), hn::Set(d, scale));
        hn::StoreU(hn::IfThenElseZero(keep, v), d, out + i);
    });
}

// dx += dout · mask / (1 − p), the same mask as forward;  dx, dout (N)
void DropoutBackward(float* dx, const float* dout, float p, uint64_t seed, uint64_t stream,
                     int64_t N) {
    const float scale = 1.0f / (1.0f - p);
    ForEachDropoutMask(N, p, seed, stream, [&](auto d, int64_t i, auto keep) {
        const auto g = hn::IfThenElseZero(keep, hn::Mul(hn::LoadU(d, dout + i), hn::Set(d, scale)));
        hn::StoreU(hn::Add(hn::LoadU(d, dx + i), g), d, dx + i);
    });
}

// out = x + dropout(h): the residual add and its dropout in one pass;  out, x, h (N)
void ResidualDropoutForward(float* out, const float* x, const float* h, float p, uint64_t seed,
                            uint64_t stream, int64_t N) {
    const float scale = 1.0f / (1.0f - p);
    ForEachDropoutMask(N, p, seed, stream, [&](auto d, int64_t i, auto keep) {
        const auto v = hn::IfThenElseZero(keep, hn::Mul(hn::LoadU(d, h + i), hn::Set(d, scale)));
        hn::StoreU(hn::Add(hn::LoadU(d, x + i), v), d, out + i);
    });
}

// dx += dout (when dx is given); dh += dout · mask / (1 − p);  dx, dh, dout (N). A gradient whose
// add_* flag is false is overwritten instead (it is new and uninitialised); dx and dh are
// different buffers.
void ResidualDropoutBackward(float* dx, bool add_dx, float* dh, bool add_dh, const float* dout,
                             float p, uint64_t seed, uint64_t stream, int64_t N) {
    const float scale = 1.0f / (1.0f - p);
    if (!dh) {  // no mask needed
        parallel_chunks(N, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) dx[i] = add_dx ? dx[i] + dout[i] : dout[i];
        });
        return;
    }
    ForEachDropoutMask(N, p, seed, stream, [&](auto d, int64_t i, auto keep) {
        const auto g = hn::LoadU(d, dout + i);
        if (dx) hn::StoreU(add_dx ? hn::Add(hn::LoadU(d, dx + i), g) : g, d, dx + i);
        const auto kept = hn::IfThenElseZero(keep, hn::Mul(g, hn::Set(d, scale)));
        hn::StoreU(add_dh ? hn::Add(hn::LoadU(d, dh + i), kept) : kept, d, dh + i);
    });
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
                // x and h the same Var: both terms go into one buffer, so add to a zeroed one.
                bool add_dx = true, add_dh = true;
                float* dx = nullptr;
                float* dh = nullptr;
                if (x == h) {
                    dx = x->grad_buffer().data();
                    HWY_DYNAMIC_DISPATCH(DropoutBackward)(dx, out->grad.data(), p, seed, stream, N);
                    HWY_DYNAMIC_DISPATCH(ResidualDropoutBackward)
                    (dx, true, nullptr, true, out->grad.data(), p, seed, stream, N);
                    return;
                }
                if (x->requires_grad) dx = x->grad_target(&add_dx);
                if (h->requires_grad) dh = h->grad_target(&add_dh);
                HWY_DYNAMIC_DISPATCH(ResidualDropoutBackward)
                (dx, add_dx, dh, add_dh, out->grad.data(), p, seed, stream, N);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
