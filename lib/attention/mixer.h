// The Mixer interface (what a Block calls to mix information across tokens) and the variant
// registry. Most variants are attention: an AttentionMixer does the QKV projection and the
// output projection, and the variant supplies only its kernel (q,k,v,lengths) -> o.
// Registration is one line in variants.def; there is no static self-registration.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "autograd/tape.h"
#include "model/parameters.h"

namespace xb {

// What a mixer sees at each call besides x.
struct MixContext {
    const std::vector<int32_t>* lengths;  // valid positions per batch row (padding is a suffix)
    bool training;
    uint64_t seed;  // run seed, for dropout and random features
    int64_t step;   // training step (for redraw schedules), -1 at evaluation
};

// Everything a variant factory needs.
struct MixerSpec {
    int dim, heads, layer, max_len;
    float attention_dropout;
    uint64_t seed;
    nlohmann::json options;  // the variant's own options, read strictly
    std::string prefix;      // parameter name prefix, e.g. "blocks.0.mixer."
};

class Mixer {
  public:
    virtual ~Mixer() = default;
    // x (B, T, C) -> (B, T, C)
    virtual Var forward(const Var& x, const MixContext& ctx) = 0;
};

// An attention kernel: qkv (B, T, 3C) holding q, k, v per token -> o (B, T, C).
class AttentionKernel {
  public:
    virtual ~AttentionKernel() = default;
    virtual Var attend(const Var& qkv, int heads, const MixContext& ctx) = 0;
};

// QKV projection -> kernel -> output projection.
class AttentionMixer : public Mixer {
  public:
    AttentionMixer(const MixerSpec& spec, ParameterStore& params,
                   std::unique_ptr<AttentionKernel> kernel);
    Var forward(const Var& x, const MixContext& ctx) override;

  private:
    int heads_;
    Var w_qkv_, b_qkv_, w_out_, b_out_;
    std::unique_ptr<AttentionKernel> kernel_;
};

struct VariantEntry {
    const char* name;
    const char* description;
    std::unique_ptr<Mixer> (*make)(const MixerSpec& spec, ParameterStore& params);
};

const std::vector<VariantEntry>& variant_registry();
// Throws ConfigError naming model.attention.variant and the valid names.
const VariantEntry& find_variant(const std::string& name);
// For variants without attention probabilities (linear, performer, fnet, s4d): a non-zero
// model.attention.dropout is a ConfigError rather than silently ignored.
void reject_attention_dropout(const MixerSpec& spec, const char* variant);

}  // namespace xb
