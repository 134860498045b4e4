// Learning-rate schedules, all with linear warmup (pure functions of the step, 1-based):
//   constant: lr * warm(step)
//   rsqrt:    lr * warm(step) * sqrt(warmup / max(step, warmup))   (LRA's constant*linear_warmup*
//             rsqrt_decay, normalised so the peak equals lr; with warmup 0 it is lr/sqrt(step))
//   cosine:   lr * warm(step) * (floor + (1-floor) * 0.5 (1 + cos(pi * step / total)))
#pragma once
#include <cstdint>

#include "config/run_config.h"

namespace xb {

double learning_rate_at(const OptimConfig& cfg, int64_t step, int64_t total_steps);

}  // namespace xb
