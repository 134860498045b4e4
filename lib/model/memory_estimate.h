// The peak tensor bytes of a training step, estimated from shapes before anything is allocated,
// so that `run` and `speed` can refuse a configuration that cannot fit (--max-memory) instead of
// allocating until the kernel kills them. The model's part (embeddings, layer norms, FFN,
// residuals, pooling, head, gradients, AdamW moments) is counted here; each variant declares its
// mixer's part (mixer.h MixerFootprint). tests/model/test_memory_estimate.cpp holds it to within
// 20% of the tracked pool's measured peak for every variant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/run_config.h"

namespace xb {

// Bytes, as doubles so that no size a user can configure overflows the arithmetic.
struct MemoryEstimate {
    double parameters = 0;    // weights, and as much again for their gradients
    double optimizer = 0;     // AdamW moments
    double best_weights = 0;  // the trainer's copy of the best-validation weights (run only)
    double buffers = 0;       // non-trained tensors (the sinusoidal position table)
    double activations = 0;   // what a training forward keeps for backward
    double transient = 0;     // the most the backward holds at once beyond that
    double total() const {
        return 2 * parameters + optimizer + best_weights + buffers + activations + transient;
    }
};

struct TrainingShape {
    int vocab = 0, classes = 0;
    bool pair = false;       // two sequences per example (retrieval)
    int64_t batch = 0;       // sequences (pairs) per step
    int64_t length = 0;      // padded tokens per sequence
    int threads = 1;         // OpenMP threads
    bool keep_best = false;  // run keeps a copy of the best-validation weights; speed does not
};

struct VariantEntry;  // attention/mixer.h

// cfg.model with the positions table sized by cfg.task.max_len; variant is the registry entry of
// cfg.model.attention.variant (its footprint gives the mixers' part).
MemoryEstimate estimate_training_memory(const RunConfig& cfg, const VariantEntry& variant,
                                        const TrainingShape& shape);

// "12.3 GB" style (decimal units, as --max-memory takes them).
std::string format_bytes(double bytes);
// "2G", "500M", "64k", "1.5G", "123456" (bytes) -> bytes; throws ConfigError naming `option`.
size_t parse_byte_size(const std::string& text, const std::string& option);
// MemAvailable from /proc/meminfo (0 when it cannot be read).
size_t available_memory_bytes();

// What the estimate is and which settings drive it, for messages: "estimated peak tensor
// memory 12.3 GB (activations 10.1 GB) for train.batch_size=32, task.max_len=4096, ...";
// batch_key and length_key name where the batch and length came from.
std::string describe_estimate(const RunConfig& cfg, const TrainingShape& shape,
                              const MemoryEstimate& estimate, const std::string& batch_key,
                              const std::string& length_key);

}  // namespace xb
