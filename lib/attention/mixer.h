// The Mixer interface (what a Block calls to mix information across tokens) and the variant
// registry. Most variants are attention: an AttentionMixer does the QKV projection and the
// output projection, and the variant supplies only its kernel (q,k,v,lengths) -> o.
// Registration is one line in variants.def; there is no static self-registration.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "autograd/parameters.h"
#include "autograd/tape.h"

namespace xb {

// What a mixer sees at each call besides x.
struct MixContext {
    const std::vector<int32_t>* lengths;  // valid positions per batch row (padding is a suffix)
    bool training;
    uint64_t seed;  // run seed, for dropout and random features
    int64_t step;   // training step (for redraw schedules), -1 at evaluation
    // What a layer's mixer hands to the next layer's mixer of the same encoder pass (Luna's
    // packed sequence): the encoder points it at an empty Var before its first block. nullptr:
    // nothing is carried, every mixer starts afresh.
    Var* carried = nullptr;
};

// Everything a variant factory needs. Set the fields by name (model/classifier.h
// block_mixer_spec fills them from a ModelConfig).
struct MixerSpec {
    int dim = 0;
    int heads = 1;
    int layer = 0;
    int max_len = 0;  // the longest sequence the mixer will see
    float attention_dropout = 0.0f;
    uint64_t seed = 0;
    nlohmann::json options = nlohmann::json::object();  // the variant's own, read strictly
    std::string prefix;  // parameter name prefix, e.g. "blocks.0.mixer."
};

// What one layer's mixer costs in tensor memory during a training step, in floats, from shapes
// alone: the memory estimate (model/memory_estimate.h) adds it up before anything is
// allocated. Each variant provides it next to its factory (the fourth field of variants.def).
// Counts are doubles so that no size a user can configure overflows the arithmetic.
struct MixerShape {
    double B, T;  // batch rows and padded length the mixer sees
    int threads;  // OpenMP threads (per-thread kernel scratch)
};
struct MixerFootprint {
    double params = 0;    // parameters (their gradients and AdamW moments are the model's part)
    double saved = 0;     // kept by the forward until backward: every intermediate tensor, the
                          // mixer's output included, and the side tensors its ops save
    double backward = 0;  // the most its backward holds at once beyond `saved` and the gradients
                          // of the mixer's input and output (gradients of intermediates, scratch)
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
    MixerFootprint (*footprint)(const MixerSpec& spec, const MixerShape& shape);
};

// The footprint of an AttentionMixer (QKV and output projections) around a kernel with
// kernel_params parameters whose forward keeps kernel_saved floats (its output (B, T, C)
// included) and whose backward holds kernel_backward floats beyond the gradients of qkv and o.
MixerFootprint attention_mixer_footprint(const MixerSpec& spec, const MixerShape& shape,
                                         double kernel_params, double kernel_saved,
                                         double kernel_backward);
// An AttentionMixer over `calls` fused block attention calls (block_attention.h: each keeps its
// output and the row lse) whose outputs add: 1 for `full` and the pattern variants, 2 for two
// calls over disjoint heads or rows. extra_params, extra_saved: a second QKV projection.
// The fused block attention kernel's per-thread scratch during backward, in floats.
double block_attention_scratch(const MixerSpec& spec, const MixerShape& shape);
MixerFootprint block_attention_mixer_footprint(const MixerSpec& spec, const MixerShape& shape,
                                               int calls = 1, double extra_params = 0,
                                               double extra_saved = 0);

const std::vector<VariantEntry>& variant_registry();
// Throws ConfigError naming model.attention.variant and the valid names.
const VariantEntry& find_variant(const std::string& name);
// For variants without attention probabilities (linear, performer, fnet, s4d): a non-zero
// model.attention.dropout is a ConfigError rather than silently ignored.
void reject_attention_dropout(const MixerSpec& spec, const char* variant);

}  // namespace xb
