// For tests whose result cannot depend on the SIMD target (CTest runs the suite once per
// target): true on the best target this CPU has, or when no target was forced (XB_SIMD unset).
#pragma once

namespace xb::test {

bool on_best_simd_target();

}  // namespace xb::test
