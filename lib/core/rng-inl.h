// The counter-based generator of core/rng.h for Highway vectors: the same 64-bit mixer on u64
// lanes, so vector code draws exactly the values that random_bits gives element by element.
// Highway 1.0.3 has no 64-bit lane multiply, so the low 64 bits of a product by a constant are
// assembled from three 32 × 32 → 64-bit MulEven products. Included by per-target kernel files
// after <hwy/highway.h>; the guard toggles per target as Highway's -inl.h convention requires.
#if defined(XB_CORE_RNG_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef XB_CORE_RNG_INL_H_
#undef XB_CORE_RNG_INL_H_
#else
#define XB_CORE_RNG_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>

#include "core/rng.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
// Low 64 bits of x · c per u64 lane: lo(x)·lo(c) + ((hi(x)·lo(c) + lo(x)·hi(c)) << 32).
template <class D64, class V = hn::Vec<D64>>
HWY_INLINE V MulLow64(D64 d64, V x, uint64_t c) {
    const hn::Repartition<uint32_t, D64> d32;
    const auto c_lo = hn::BitCast(d32, hn::Set(d64, c & 0xffffffffULL));
    const auto c_hi = hn::BitCast(d32, hn::Set(d64, c >> 32));
    const auto x32 = hn::BitCast(d32, x);
    const auto x_hi = hn::BitCast(d32, hn::ShiftRight<32>(x));
    const V cross = hn::Add(hn::MulEven(x_hi, c_lo), hn::MulEven(x32, c_hi));
    return hn::Add(hn::MulEven(x32, c_lo), hn::ShiftLeft<32>(cross));
}

// mix64 of core/rng.h on every lane.
template <class D64, class V = hn::Vec<D64>>
HWY_INLINE V Mix64(D64 d64, V x) {
    x = hn::Xor(x, hn::ShiftRight<30>(x));
    x = MulLow64(d64, x, 0xbf58476d1ce4e5b9ULL);
    x = hn::Xor(x, hn::ShiftRight<27>(x));
    x = MulLow64(d64, x, 0x94d049bb133111ebULL);
    return hn::Xor(x, hn::ShiftRight<31>(x));
}

// Lane j of the result is random_bits(seed, stream, first + j) >> 40 (the 24 bits behind
// random_uniform), for key = random_key(seed, stream); one i32 lane per float lane of df.
template <class DF>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> Uniform24(DF df, uint64_t key, uint64_t first) {
    const hn::Repartition<uint64_t, DF> d64;
    const hn::Repartition<uint32_t, DF> d32;
    const hn::RebindToSigned<DF> di;
    const size_t half = hn::Lanes(d64);
    const auto lanes = hn::Iota(d64, 0);
    const auto lo = Mix64(d64, hn::Add(hn::Set(d64, key + first), lanes));
    const auto hi = Mix64(d64, hn::Add(hn::Set(d64, key + first + half), lanes));
    // Each value fits 24 bits, so the low u32 of every u64 lane holds it whole.
    return hn::BitCast(di, hn::ConcatEven(d32, hn::BitCast(d32, hn::ShiftRight<40>(hi)),
                                          hn::BitCast(d32, hn::ShiftRight<40>(lo))));
}
#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#endif  // XB_CORE_RNG_INL_H_
