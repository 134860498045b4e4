// `isab`: the induced set attention block of the Set Transformer (Lee et al. 2019), as a token
// mixer: m learned inducing points attend to the sequence, H = LN(I + MHA(I, X)), then the
// sequence attends to them, Y = MHA(X, H). Both attentions run through the fused kernel with
// key lengths (cross_attention.h): time O(B·H·T·m·D), memory O(B·(T + m)·C), nothing T×m kept.
// Padded tokens are never keys of the inducing step; padded query rows output 0.
#include <cmath>

#include "attention/cross_attention.h"
#include "ops/ops.h"

namespace xb {

namespace {

class IsabMixer : public Mixer {
  public:
    IsabMixer(const MixerSpec& spec, ParameterStore& params, int inducing)
        : heads_(spec.heads),
          layer_(spec.layer),
          dropout_(spec.attention_dropout),
          induce_(spec, params, "induce"),
          attend_(spec, params, "attend") {
        const int64_t C = spec.dim;
        // Unit-scale rows like the layer-normalised tokens they stand beside.
        points_ = params.normal(spec.prefix + "inducing", {int64_t(inducing), C}, 1.0f, false);
        ln_g_ = params.constant(spec.prefix + "inducing_ln.weight", {C}, 1.0f);
        ln_b_ = params.constant(spec.prefix + "inducing_ln.bias", {C}, 0.0f);
    }

    Var forward(const Var& x, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        const int64_t B = x->value.dim(0), m = points_->value.dim(0);
        const std::vector<int32_t> all_points(static_cast<size_t>(B), int32_t(m));
        Var points = repeat_rows(points_, B);  // (B, m, C)
        Var induced = multihead_attention(induce_, points, x, heads_, all_points, lengths, ctx,
                                          dropout_, layer_, 1);  // (B, m, C)
        Var h = layernorm(add(points, induced), ln_g_, ln_b_);
        return multihead_attention(attend_, x, h, heads_, lengths, all_points, ctx, dropout_,
                                   layer_, 2);  // (B, T, C)
    }

  private:
    int heads_, layer_;
    float dropout_;
    CrossProjections induce_, attend_;
    Var points_;  // (m, C)
    Var ln_g_, ln_b_;
};

int read_inducing(const MixerSpec& spec) {
    return read_single_positive_option(spec, "inducing", 32);
}

}  // namespace

MixerFootprint isab_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return rows_and_back_footprint(spec, shape, read_inducing(spec));
}

std::unique_ptr<Mixer> make_isab_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<IsabMixer>(spec, params, read_inducing(spec));
}

}  // namespace xb
