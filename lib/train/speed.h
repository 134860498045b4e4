// The speed benchmark's measurement: training steps (forward + backward + clip + AdamW) on random
// tokens of one length, without training to convergence. One call measures one (variant,
// length); `xformer-bench speed` runs each call in a fresh process so that peak RSS and peak
// tensor bytes of one measurement cannot inflate another's.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <vector>

#include "setup/run_setup.h"

namespace xb {

// A measurement against the baseline variant's at the same length.
struct BaselineRatios {
    double speedup = 0;       // baseline median step time / this one's
    double memory_ratio = 0;  // peak tensor bytes / the baseline's
    double rss_ratio = 0;     // peak RSS / the baseline's
};

// One (variant, length) measurement: what a child process prints and what a speed file's
// "records" hold, and what `compare` and `plot` read back (see to_json/from_json below).
struct SpeedResult {
    std::string variant;
    int length = 0, batch = 0, steps = 0;
    double median_step_s = 0, min_step_s = 0;
    double forward_s = 0, backward_s = 0, optimizer_s = 0;  // medians
    double tokens_per_s = 0;
    size_t peak_tensor_bytes = 0, peak_rss_bytes = 0;
    int64_t params = 0;
    int ranks = 1;                              // MPI ranks sharing each batch (data parallel)
    double communication_s = 0;                 // median seconds per step in the gradient allreduce
    std::optional<BaselineRatios> vs_baseline;  // set in speed files, not in a child's output

    double steps_per_s() const { return median_step_s > 0 ? 1.0 / median_step_s : 0.0; }
};

BaselineRatios ratios_to(const SpeedResult& r, const SpeedResult& baseline);
// The last of `results` measuring `variant` at `length`, or null.
const SpeedResult* find_measurement(const std::vector<SpeedResult>& results,
                                    const std::string& variant, int length);

// setup.config.model (with setup.variant) is the model to time; vocabulary and classes come from
// setup.config.task's task. Under MPI `batch` is the global batch: each rank takes its share, and
// gradients are summed every step.
SpeedResult measure_speed(const RunSetup& setup, int length, int batch, int steps, int warmup);

// The record's keys: variant, length, batch, steps, median_step_s, min_step_s, forward_s,
// backward_s, optimizer_s, steps_per_s (derived), tokens_per_s, peak_tensor_bytes,
// peak_rss_bytes, params; ranks and communication_s when ranks > 1; speedup_vs_baseline,
// memory_ratio_vs_baseline and rss_ratio_vs_baseline with vs_baseline.
void to_json(nlohmann::json& j, const SpeedResult& r);
// variant, length, median_step_s and peak_tensor_bytes are required (nlohmann::json::exception
// without them, or for a value of the wrong type); the other keys default.
void from_json(const nlohmann::json& j, SpeedResult& r);

}  // namespace xb
