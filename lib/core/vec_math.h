// Vectorisable float math for hot loops: exp_approx is plain C++ that GCC turns into SIMD code
// inside `#pragma omp simd` loops (glibc's vector expf is only used under -ffast-math, which the
// build forbids). Cody-Waite range reduction + degree-6 polynomial; max relative error 8.5e-8
// against std::exp over all floats in [-87, 88] (checked exhaustively); results that would be
// subnormal (x below ~-87.34) are flushed to zero.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace xb {

namespace detail {
constexpr float kExpLog2e = 1.44269504088896341f;
constexpr float kExpLn2Hi = 0.693359375f;  // few mantissa bits, so n * kExpLn2Hi is exact
constexpr float kExpLn2Lo = -2.12194440e-4f;
constexpr float kExpMin = -87.3365478515625f;  // just above ln(FLT_MIN): keeps 2^n normal
constexpr float kExpMax = 88.72283935546875f;  // first float with exp(x) > FLT_MAX
constexpr float kExpRound = 12582912.0f;       // 1.5 * 2^23: adding it rounds to an integer
constexpr int32_t kExpRoundBits = 0x4B400000;  // bit pattern of kExpRound

// exp(r) for |r| <= ln(2)/2: minimax polynomial (Cephes expf coefficients). The SIMD kernels
// take the same steps on Highway vectors (core/vec_math-inl.h).
template <class V>
inline V exp_reduced(const V& r) {
    V p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * (r * r) + r + 1.0f;
}

// Splits clamped x into x = n ln2 + r; returns r and the float t whose low mantissa bits hold
// n as a two's-complement integer (n = bits(t) - kExpRoundBits).
template <class V>
inline V exp_split(const V& xc, V& t) {
    t = xc * kExpLog2e + kExpRound;
    V n = t - kExpRound;
    V r = xc - n * kExpLn2Hi;
    return r - n * kExpLn2Lo;
}
}  // namespace detail

// exp(x) for float x. exp(-inf) = 0, exp(x < ~-87.34) = 0 (flushed instead of subnormal),
// exp(x > ~88.72) = +inf, exp(NaN) = NaN. Branch-free so that it vectorises. The selects are
// written as `x < c ? c : x` so that a NaN flows through every step instead of being dropped.
inline float exp_approx(float x) {
    using namespace detail;
    float xc = x < kExpMin ? kExpMin : x;
    xc = kExpMax < xc ? kExpMax : xc;
    float t;
    float p = exp_reduced(exp_split(xc, t));
    // 2^n with n in [-126, 128], as two factors so that both stay normal and n = 128 still
    // overflows to inf instead of wrapping into the sign bit.
    int32_t ti;
    std::memcpy(&ti, &t, sizeof ti);
    int32_t n_int = ti - kExpRoundBits;
    int32_t n_half = n_int >> 1;
    uint32_t bits1 = uint32_t(n_half + 127) << 23;
    uint32_t bits2 = uint32_t(n_int - n_half + 127) << 23;
    float s1, s2;
    std::memcpy(&s1, &bits1, sizeof s1);
    std::memcpy(&s2, &bits2, sizeof s2);
    float y = (p * s1) * s2;
    return x < kExpMin ? 0.0f : y;
}

// exp(x) for softmax arguments x <= 0 (x - max, s - lse): same accuracy as exp_approx there,
// ~25% cheaper (one power-of-two factor). Positive x are treated as 0 (returns 1); NaN stays NaN.
inline float exp_approx_nonpositive(float x) {
    using namespace detail;
    float xc = x < kExpMin ? kExpMin : x;
    xc = 0.0f < xc ? 0.0f : xc;
    float t;
    float p = exp_reduced(exp_split(xc, t));
    int32_t ti;
    std::memcpy(&ti, &t, sizeof ti);
    uint32_t bits = uint32_t(ti - (kExpRoundBits - 127)) << 23;  // n in [-126, 0]
    float s;
    std::memcpy(&s, &bits, sizeof s);
    return x < kExpMin ? 0.0f : p * s;
}

// x[i] = exp(x[i]) for i in [0, n).
inline void exp_inplace(float* x, int n) {
#pragma omp simd
    for (int i = 0; i < n; ++i) x[i] = exp_approx(x[i]);
}

// Numerically stable softmax numerator: x[i] = exp(x[i] - max(x)), returns the sum of the new
// x. An empty or all -inf input becomes all zeros and returns 0 (no NaN).
inline float max_subtract_exp_sum(float* x, int n) {
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    if (m == -std::numeric_limits<float>::infinity()) m = 0.0f;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; ++i) {
        x[i] = exp_approx_nonpositive(x[i] - m);
        sum += x[i];
    }
    return sum;
}

}  // namespace xb
