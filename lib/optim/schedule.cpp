// Learning-rate schedules; see schedule.h.
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace xb {

double learning_rate_at(const OptimConfig& cfg, int64_t step, int64_t total_steps) {
    const double s = double(std::max<int64_t>(step, 1));
    const double w = double(cfg.warmup_steps);
    const double warm = w > 0 ? std::min(1.0, s / w) : 1.0;
    double decay = 1.0;
    if (cfg.schedule == "rsqrt") {
        decay = std::sqrt(std::max(w, 1.0) / std::max(s, std::max(w, 1.0)));
    } else if (cfg.schedule == "cosine") {
        double progress = std::min(1.0, s / double(std::max<int64_t>(total_steps, 1)));
        double c = 0.5 * (1.0 + std::cos(M_PI * progress));
        decay = cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * c;
    }
    return cfg.lr * warm * decay;
}

}  // namespace xb
