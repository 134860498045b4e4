// The SIMD target that the Highway kernels dispatch to at run time. One binary carries code for
// AVX-512 ("avx512", Highway's AVX3), AVX2, SSE4 and a portable scalar/EMU128 path; at start-up it
// takes the best one that the CPU has. XB_SIMD=avx512|avx2|sse4|scalar forces a lower target (and
// caps oneDNN's GEMMs at the same instruction set), so one machine can measure every path.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xb {

struct SimdTarget {
    int64_t bits;      // Highway's target bit (HWY_AVX3, HWY_AVX2, ...)
    std::string name;  // avx512, avx2, sse4, scalar
};

// The targets compiled into this binary that this CPU can run, best first.
std::vector<SimdTarget> available_simd_targets();

// The target that the kernels use now.
std::string current_simd_target();

// Applies XB_SIMD from the environment, if set. Throws ConfigError naming the variable and the
// valid choices for an unknown name or a target this CPU or build does not have.
void apply_simd_override_from_env();

}  // namespace xb
