// `luna`: Luna, linear unified nested attention (Ma et al. 2021). A sequence P of l rows is
// carried from layer to layer: pack Yp = MHA(LN(P), X), unpack Y = MHA(X, Yp), and the next
// layer gets P + Yp (the pre-norm form of the paper's LN(P + Yp)). The first layer's P is a
// learned (l, C) parameter; later layers receive theirs through MixContext::carried (mixer.h).
// Both attentions run through the fused kernel with key lengths (cross_attention.h): time
// O(B·H·T·l·D), memory O(B·(T + l)·C). Padded tokens are never packed; padded rows output 0.
#include <cmath>

#include "attention/cross_attention.h"
#include "core/check.h"
#include "ops/ops.h"

namespace xb {

namespace {

class LunaMixer : public Mixer {
  public:
    LunaMixer(const MixerSpec& spec, ParameterStore& params, int length)
        : heads_(spec.heads),
          layer_(spec.layer),
          length_(length),
          dropout_(spec.attention_dropout),
          pack_(spec, params, "pack"),
          unpack_(spec, params, "unpack") {
        const int64_t C = spec.dim;
        // Only the first layer owns the initial P: the others receive the carried one.
        if (spec.layer == 0)
            initial_ = params.normal(spec.prefix + "packed", {int64_t(length), C}, 1.0f, false);
        ln_g_ = params.constant(spec.prefix + "packed_ln.weight", {C}, 1.0f);
        ln_b_ = params.constant(spec.prefix + "packed_ln.bias", {C}, 0.0f);
    }

    Var forward(const Var& x, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        const int64_t B = x->value.dim(0);
        const bool carried = ctx.carried && *ctx.carried;
        XB_CHECK(carried || initial_, "luna layer {} needs the packed sequence of layer {}", layer_,
                 layer_ - 1);
        Var p = carried ? *ctx.carried : repeat_rows(initial_, B);  // (B, l, C)
        XB_CHECK(p->value.dim(0) == B && p->value.dim(1) == length_,
                 "luna layer {}: carried sequence {} for batch {} and l={}", layer_,
                 p->value.shape(), B, length_);
        const std::vector<int32_t> all_rows(static_cast<size_t>(B), int32_t(length_));
        Var packed = multihead_attention(pack_, layernorm(p, ln_g_, ln_b_), x, heads_, all_rows,
                                         lengths, ctx, dropout_, layer_, 1);  // (B, l, C)
        if (ctx.carried) *ctx.carried = add(p, packed);
        return multihead_attention(unpack_, x, packed, heads_, lengths, all_rows, ctx, dropout_,
                                   layer_, 2);  // (B, T, C)
    }

  private:
    int heads_, layer_;
    int64_t length_;
    float dropout_;
    CrossProjections pack_, unpack_;
    Var initial_;  // (l, C), layer 0 only
    Var ln_g_, ln_b_;
};

int read_packed_length(const MixerSpec& spec) {
    return read_single_positive_option(spec, "length", 256);
}

}  // namespace

MixerFootprint luna_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return rows_and_back_footprint(spec, shape, read_packed_length(spec));
}

std::unique_ptr<Mixer> make_luna_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<LunaMixer>(spec, params, read_packed_length(spec));
}

}  // namespace xb
