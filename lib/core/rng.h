// Counter-based random numbers: every value is a pure function of (seed, stream, counter), so
// any element (an init weight, a dropout bit, a data example) can be regenerated independently
// of thread count and call order. The mixer is a SplitMix64-style finaliser applied twice.
#pragma once
#include <cmath>
#include <cstdint>

namespace xb {

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// The part of random_bits that depends on (seed, stream) only; loops over counters hoist it.
inline uint64_t random_key(uint64_t seed, uint64_t stream) {
    return mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
}

// One 64-bit random value for (seed, stream, counter).
inline uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
    return mix64(random_key(seed, stream) + counter);
}

// Uniform in [0, 1) with 24 bits of precision (exactly representable as float).
inline float random_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    return float(random_bits(seed, stream, counter) >> 40) * (1.0f / 16777216.0f);
}

// random_uniform(seed, stream, c) >= p exactly when k = random_bits(seed, stream, c) >> 40 is
// >= random_threshold(p), for any float p in [0, 1]: u = k / 2^24 is exact, so u >= p iff
// k >= ceil(p · 2^24). Vector code compares these integers instead of converting 64-bit lanes.
inline uint32_t random_threshold(float p) { return uint32_t(std::ceil(double(p) * 16777216.0)); }

// Standard normal by Box-Muller from two counters (2*counter, 2*counter+1).
inline float random_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint64_t a = random_bits(seed, stream, 2 * counter);
    uint64_t b = random_bits(seed, stream, 2 * counter + 1);
    double u1 = (double((a >> 11) + 1)) * (1.0 / 9007199254740993.0);  // (0, 1]
    double u2 = double(b >> 11) * (1.0 / 9007199254740992.0);          // [0, 1)
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

// A small sequential generator for data generation and shuffling, built on the same mixer.
// Deterministic from its seed; not thread-safe (one per generating thread or stream).
class Rng {
  public:
    explicit Rng(uint64_t seed, uint64_t stream = 0) : seed_(seed), stream_(stream) {}
    uint64_t next_u64() { return random_bits(seed_, stream_, counter_++); }
    // Uniform in [0, 1).
    double uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
    // Uniform integer in [lo, hi] inclusive (unbiased by rejection).
    int64_t uniform_int(int64_t lo, int64_t hi) {
        uint64_t span = uint64_t(hi - lo) + 1;
        if (span == 0) return int64_t(next_u64());
        uint64_t limit = UINT64_MAX - UINT64_MAX % span;
        uint64_t r;
        do r = next_u64();
        while (r >= limit);
        return lo + int64_t(r % span);
    }
    float normal() { return random_normal(seed_, stream_ ^ 0x5bd1e995ULL, counter_++); }

  private:
    uint64_t seed_, stream_, counter_ = 0;
};

}  // namespace xb
