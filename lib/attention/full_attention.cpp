// `full`: exact softmax attention (Vaswani et al. 2017) through the fused online-softmax kernel
// (block_attention.h) with no pattern: O(T²·D) time, O(T) extra memory. Forward saves only the
// per-row log-sum-exp (B, H, T); backward recomputes the probabilities from it.
#include "attention/mixer.h"
#include "attention/pattern_attention.h"
#include "config/option_reader.h"

namespace xb {

namespace {

class FullAttention : public AttentionKernel {
  public:
    FullAttention(float dropout, int layer) : dropout_(dropout), layer_(layer) {}
    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        return block_attention_op(qkv, heads, ctx, dropout_, layer_, nullptr);
    }

  private:
    float dropout_;
    int layer_;
};

}  // namespace

MixerFootprint full_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return block_attention_mixer_footprint(spec, shape);
}

std::unique_ptr<Mixer> make_full_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    opts.finish();  // `full` has no options
    return std::make_unique<AttentionMixer>(
        spec, params, std::make_unique<FullAttention>(spec.attention_dropout, spec.layer));
}

}  // namespace xb
