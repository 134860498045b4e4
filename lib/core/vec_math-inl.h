// exp for Highway vectors: the steps of core/vec_math.h (Cody-Waite reduction, degree-6
// polynomial, flush below ~-87.34, NaN kept) written once for every SIMD target, and the row
// passes of a softmax built on it. The compiler vectorises vec_math.h's scalar exp for AVX-512
// but not for AVX2 (g++ 12), so per-target kernels call these instead. Included by
// the per-target kernel files after <hwy/highway.h>, inside their foreach_target pass; the
// guard below toggles per target as Highway's -inl.h convention requires.
#if defined(XB_CORE_VEC_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef XB_CORE_VEC_MATH_INL_H_
#undef XB_CORE_VEC_MATH_INL_H_
#else
#define XB_CORE_VEC_MATH_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>

#include "core/vec_math.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Returns r with x = n ln2 + r for clamped xc, and t whose low mantissa bits hold n.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ExpReduce(D d, V xc, V& t) {
    using namespace xb::detail;
    const V round = hn::Set(d, kExpRound);
    t = hn::MulAdd(xc, hn::Set(d, kExpLog2e), round);
    const V n = hn::Sub(t, round);
    const V r = hn::NegMulAdd(n, hn::Set(d, kExpLn2Hi), xc);
    return hn::NegMulAdd(n, hn::Set(d, kExpLn2Lo), r);
}

// exp(r) for |r| <= ln(2)/2 (the polynomial of vec_math.h's exp_reduced).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ExpPolynomial(D d, V r) {
    V p = hn::MulAdd(hn::Set(d, 1.9875691500e-4f), r, hn::Set(d, 1.3981999507e-3f));
    p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
    p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
    p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
    p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
    return hn::Add(hn::MulAdd(p, hn::Mul(r, r), r), hn::Set(d, 1.0f));
}

// exp(x) for softmax arguments x <= 0; positive x count as 0, NaN stays NaN.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ExpNonpositive(D d, V x) {
    using namespace xb::detail;
    const hn::RebindToSigned<D> di;
    const V lo = hn::Set(d, kExpMin), zero = hn::Zero(d);
    V xc = hn::IfThenElse(x < lo, lo, x);  // NaN fails both tests and flows through
    xc = hn::IfThenElse(zero < xc, zero, xc);
    V t;
    const V p = ExpPolynomial(d, ExpReduce(d, xc, t));
    const auto bits =
        hn::ShiftLeft<23>(hn::Sub(hn::BitCast(di, t), hn::Set(di, kExpRoundBits - 127)));
    return hn::IfThenZeroElse(x < lo, hn::Mul(p, hn::BitCast(d, bits)));
}

// exp(x) for any float: 0 below ~-87.34, +inf above ~88.72, NaN stays NaN.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Exp(D d, V x) {
    using namespace xb::detail;
    const hn::RebindToSigned<D> di;
    const V lo = hn::Set(d, kExpMin), hi = hn::Set(d, kExpMax);
    V xc = hn::IfThenElse(x < lo, lo, x);
    xc = hn::IfThenElse(hi < xc, hi, xc);
    V t;
    const V p = ExpPolynomial(d, ExpReduce(d, xc, t));
    // 2^n, n in [-126, 128], as two normal factors so that n = 128 still overflows to inf.
    const auto n = hn::Sub(hn::BitCast(di, t), hn::Set(di, kExpRoundBits));
    const auto half = hn::ShiftRight<1>(n);
    const auto bias = hn::Set(di, 127);
    const V s1 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(half, bias)));
    const V s2 = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::Sub(n, half), bias)));
    return hn::IfThenZeroElse(x < lo, hn::Mul(hn::Mul(p, s1), s2));
}

// Calls f(d, i) for i = 0, L, 2L, ... with a full-width tag d while L lanes remain, then once
// per remaining element with a one-lane tag: the same steps on every element, no masked tail.
template <class F>
HWY_INLINE void ForEachVector(int64_t n, F&& f) {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) f(d, i);
    const hn::CappedTag<float, 1> d1;
    for (; i < n; ++i) f(d1, i);
}

// The largest of x[0, n), n >= 1, as a plain scalar loop (without fast-math the compiler keeps
// it scalar). A Highway version made clang 14 with ASan and UBSan crash in its backend in
// softmax.cpp and sorted_block_attention.cpp.
HWY_INLINE float MaxOf(const float* x, int64_t n) {
    float m = x[0];
    for (int64_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

// x[i] = exp(x[i] − shift) for i in [0, n), for softmax rows where x[i] <= shift (a positive
// difference counts as 0); returns the sum of the new x: lane-wise sums over full vectors, those
// lanes summed, then the tail in order, so the sum is fixed for a target and n.
HWY_INLINE float ExpShiftSum(float* x, int64_t n, float shift) {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    const auto vs = hn::Set(d, shift);
    auto acc = hn::Zero(d);
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        const auto e = ExpNonpositive(d, hn::Sub(hn::LoadU(d, x + i), vs));
        hn::StoreU(e, d, x + i);
        acc = hn::Add(acc, e);
    }
    float sum = hn::GetLane(hn::SumOfLanes(d, acc));
    const hn::CappedTag<float, 1> d1;
    for (; i < n; ++i) {
        const auto e = ExpNonpositive(d1, hn::Sub(hn::LoadU(d1, x + i), hn::Set(d1, shift)));
        hn::StoreU(e, d1, x + i);
        sum += hn::GetLane(e);
    }
    return sum;
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#endif  // XB_CORE_VEC_MATH_INL_H_
