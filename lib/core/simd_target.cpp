// Run-time SIMD target selection over Highway's dispatch (simd_target.h).
#include "core/simd_target.h"

#include <hwy/highway.h>
#include <hwy/targets.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdlib>

#include "core/errors.h"

namespace xb {
namespace {

// Our names for Highway's x86 targets; anything else (EMU128, SCALAR) is the portable path.
std::string target_name(int64_t bits) {
    if (bits == HWY_AVX3 || bits == HWY_AVX3_DL) return "avx512";
    if (bits == HWY_AVX2) return "avx2";
    if (bits == HWY_SSE4) return "sse4";
    return "scalar";
}

// Every target the kernels were compiled for (HWY_TARGETS), best (lowest bit) first.
std::vector<int64_t> compiled_targets() {
    std::vector<int64_t> out;
    for (int64_t t = HWY_TARGETS; t != 0; t &= t - 1) out.push_back(t & -t);
    return out;
}

}  // namespace

std::vector<SimdTarget> available_simd_targets() {
    std::vector<SimdTarget> out;
    for (int64_t bits : hwy::SupportedAndGeneratedTargets())
        out.push_back({bits, target_name(bits)});
    return out;
}

std::string current_simd_target() {
    const int64_t usable = hwy::SupportedTargets() & HWY_TARGETS;
    return usable ? target_name(usable & -usable) : "scalar";
}

void apply_simd_override_from_env() {
    const char* value = std::getenv("XB_SIMD");
    if (!value || !*value) return;
    std::vector<std::string> names;
    for (int64_t bits : compiled_targets()) names.push_back(target_name(bits));
    int64_t wanted = 0;
    for (int64_t bits : compiled_targets())
        if (target_name(bits) == value) wanted = bits;
    if (!wanted)
        throw ConfigError(
            fmt::format("XB_SIMD={}: unknown SIMD target (valid: {})", value, join_names(names)));
    if (!(hwy::SupportedTargets() & wanted)) {
        std::vector<std::string> usable;
        for (const SimdTarget& t : available_simd_targets()) usable.push_back(t.name);
        throw ConfigError(fmt::format("XB_SIMD={}: this CPU does not support it (usable: {})",
                                      value, join_names(usable)));
    }
    // Highway prefers lower bits: dropping every better target leaves `wanted` the best. The
    // test hook is the mechanism because, in Highway 1.0.3, DisableTargets is undone for
    // dispatch by the next SupportedTargets() call (it re-initialises the chosen target from
    // the CPU's full set), while a mocked set is left alone.
    hwy::SetSupportedTargetsForTest(hwy::SupportedTargets() & ~(wanted - 1));
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    // oneDNN's GEMMs dispatch on their own; cap them at the same ISA so that a forced target
    // measures the whole step as a CPU of that kind would run it (sse4.1 is oneDNN's floor).
    const dnnl_cpu_isa_t isa = wanted == HWY_AVX3   ? dnnl_cpu_isa_avx512_core
                               : wanted == HWY_AVX2 ? dnnl_cpu_isa_avx2
                                                    : dnnl_cpu_isa_sse41;
    dnnl_set_max_cpu_isa(isa);
}

}  // namespace xb
