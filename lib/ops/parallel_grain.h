// The smallest loop, in floats touched, that the ops run as an OpenMP parallel region. A fork and
// join costs microseconds (milliseconds when cores are oversubscribed), more than a small loop
// such as a (B, C) pooling output or a gradcheck-sized tensor takes serially. Results do not
// depend on it except through the fixed thread team, so reproducibility is unchanged.
#pragma once
#include <cstdint>

namespace xb {
constexpr int64_t kMinParallelWork = 16384;
}  // namespace xb
