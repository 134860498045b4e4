// The speed benchmark's measurement: training steps (forward + backward + clip + AdamW) on random
// tokens of one length, without training to convergence. One call measures one (variant,
// length); `xformer-bench speed` runs each call in a fresh process so that peak RSS and peak
// tensor bytes of one measurement cannot inflate another's.
#pragma once
#include <nlohmann/json.hpp>

#include "setup/run_setup.h"

namespace xb {

struct SpeedResult {
    std::string variant;
    int length = 0, batch = 0, steps = 0;
    double median_step_s = 0, min_step_s = 0;
    double forward_s = 0, backward_s = 0, optimizer_s = 0;  // medians
    double tokens_per_s = 0;
    size_t peak_tensor_bytes = 0, peak_rss_bytes = 0;
    int64_t params = 0;
    int ranks = 1;               // MPI ranks sharing each batch (data parallel)
    double communication_s = 0;  // median seconds per step in the gradient allreduce
};

// setup.config.model (with setup.variant) is the model to time; vocabulary and classes come from
// setup.config.task's task. Under MPI `batch` is the global batch: each rank takes its share, and
// gradients are summed every step.
SpeedResult measure_speed(const RunSetup& setup, int length, int batch, int steps, int warmup);

nlohmann::json to_json(const SpeedResult& r);
SpeedResult speed_result_from_json(const nlohmann::json& j);

}  // namespace xb
