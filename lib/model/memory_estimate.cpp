// Memory estimate of a training step; see memory_estimate.h.
#include "model/memory_estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "attention/mixer.h"
#include "core/errors.h"
#include "model/classifier.h"

namespace xb {

namespace {

// Floats of the model's parameters outside the mixers.
double model_parameters(const ModelConfig& m, int vocab, int classes, double positions, bool pair) {
    const double C = m.dim, F = m.ffn_dim, H = m.classifier_dim > 0 ? m.classifier_dim : F;
    double n = double(vocab) * C + (m.pooling == "cls" ? C : 0);
    if (m.positions == "learned") n += positions * C;
    n += double(m.layers) * (4 * C + F * C + F + C * F + C);  // layer norms, FFN
    n += 2 * C;                                               // final layer norm
    const double in = pair ? 4 * C : C, half = std::max(1.0, std::floor(H / 2));
    n += pair ? in * H + H + H * half + half + half * classes + classes
              : in * H + H + H * classes + classes;
    return n;
}

}  // namespace

MemoryEstimate estimate_training_memory(const RunConfig& cfg, const VariantEntry& variant,
                                        const TrainingShape& shape) {
    const ModelConfig& m = cfg.model;
    const bool cls = m.pooling == "cls";
    const double max_positions = double(cfg.task.max_len) + (cls ? 1 : 0);
    const double B = shape.batch, T = shape.length + (cls ? 1 : 0), C = m.dim, F = m.ffn_dim;
    const double N = B * T, A = N * C;
    const MixerSpec spec = block_mixer_spec(
        m, 0, int(std::min(max_positions, double(std::numeric_limits<int>::max()))), cfg.seed);
    const MixerFootprint mixer = variant.footprint(spec, MixerShape{B, T, shape.threads});

    // One encoder pass: embedding (+ CLS) + positions + dropout, then per block
    // LN, mixer, residual, LN, FFN (fc1, GELU, fc2), residual; final LN and pooling.
    const bool dropout = m.dropout > 0;
    double encoder =
        B * shape.length * C + (cls ? A : 0) + (m.positions != "none" ? A : 0) + (dropout ? A : 0);
    const double block = (A + 2 * N) + mixer.saved + A + (A + 2 * N) + 2 * N * F + A + A;
    encoder += double(m.layers) * block + (A + 2 * N) + B * C;
    const double passes = shape.pair ? 2 : 1;
    const double head = 16 * B * (C + F);  // pooled features, head activations: small
    // The backward of the last block: the final LN's (input and output gradients), the FFN's
    // (two (N, F) gradients while the block's output activations are freed) and the mixer's
    // (its intermediate gradients while the FFN's activations are already freed).
    const double ffn = 2 * N * F - 2 * A;
    const double in_mixer = mixer.backward + 3 * A - (5 * A + 2 * N * F);
    const double transient = std::max({2 * A, ffn, in_mixer});

    const double params =
        model_parameters(m, shape.vocab, shape.classes, max_positions, shape.pair) +
        double(m.layers) * mixer.params;
    MemoryEstimate e;
    e.parameters = params * sizeof(float);
    e.optimizer = 2 * e.parameters;
    e.best_weights = shape.keep_best ? e.parameters : 0;
    e.buffers = m.positions == "sinusoidal" ? max_positions * C * sizeof(float) : 0;
    e.activations = (passes * encoder + head) * sizeof(float);
    e.transient = transient * sizeof(float);
    return e;
}

std::string format_bytes(double bytes) {
    const double b = bytes;
    if (b >= 1e15) return fmt::format("{:.2e} GB", b / 1e9);
    if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
    if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
    return fmt::format("{:.0f} bytes", bytes);
}

size_t parse_byte_size(const std::string& text, const std::string& option) {
    size_t used = 0;
    double v = -1;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    double scale = 1;
    std::string unit = text.substr(used);
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
    if (unit == "k" || unit == "K")
        scale = 1e3;
    else if (unit == "M" || unit == "m")
        scale = 1e6;
    else if (unit == "G" || unit == "g")
        scale = 1e9;
    else if (unit == "T" || unit == "t")
        scale = 1e12;
    else if (!unit.empty())
        used = 0;
    const double bytes = v * scale;
    if (used == 0 || !std::isfinite(bytes) || bytes < 1 || bytes > 1e18)
        throw ConfigError(fmt::format(
            "{} '{}': expected a size in bytes, optionally with k, M, G or T (e.g. 2G, 500M)",
            option, text));
    return size_t(bytes);
}

size_t available_memory_bytes() {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        size_t kb = 0;
        if (fields >> key >> kb && key == "MemAvailable:") return kb * 1024;
    }
    return 0;
}

std::string describe_estimate(const RunConfig& cfg, const TrainingShape& shape,
                              const MemoryEstimate& e, const std::string& batch_key,
                              const std::string& length_key) {
    const ModelConfig& m = cfg.model;
    return fmt::format(
        "estimated peak tensor memory {} (activations {}, weights + gradients + AdamW {}) for "
        "{}={}, {}={}, model.dim={}, model.layers={}, model.ffn_dim={}, "
        "model.attention.variant={}",
        format_bytes(e.total()), format_bytes(e.activations + e.transient),
        format_bytes(2 * e.parameters + e.optimizer + e.best_weights), batch_key, shape.batch,
        length_key, shape.length, m.dim, m.layers, m.ffn_dim, m.attention.variant);
}

}  // namespace xb
