// `linformer`: Linformer (Wang et al. 2020, xformers.md 1.6). Keys and values are projected
// along the sequence to rank k, K̄ = E K, V̄ = F V with learned E, F (k × max_len) sliced to T, then
// softmax(Q K̄ᵀ / √D) V̄. Padded K, V rows are excluded from the projection (zero rows). Time
// O(B·H·T·k·D), memory O(B·H·T·k): the (B, H, T, k) probabilities are saved for backward.
// Exact in the limit k = T with E = F = I and no padding (equals `full`).
#include <cmath>

#include "attention/head_split.h"

namespace xb {

namespace {

class LinformerAttention : public AttentionKernel {
  public:
    LinformerAttention(Var e, Var f, float dropout, int layer)
        : e_(std::move(e)), f_(std::move(f)), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        HeadMajorQkv h = split_qkv(qkv, heads);
        const float scale = 1.0f / std::sqrt(float(h.q->value.dim(3)));
        Var k_proj = sequence_projection(e_, h.k, lengths);            // (B, H, k, D)
        Var v_proj = sequence_projection(f_, h.v, lengths);            // (B, H, k, D)
        Var scores = batched_matmul(h.q, k_proj, false, true, scale);  // (B, H, T, k)
        Var probs = masked_softmax(scores, &lengths, nullptr);         // padded query rows -> 0
        probs = attention_dropout(probs, dropout_, ctx, layer_);
        return merge_heads(batched_matmul(probs, v_proj, false, false));  // (B, T, C)
    }

  private:
    Var e_, f_;  // (He, k, max_len), He = 1 when shared across heads; f_ == e_ when share_kv
    float dropout_;
    int layer_;
};

struct LinformerOptions {
    int k;
    bool share_kv, share_heads;
};

LinformerOptions read_linformer_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    LinformerOptions o;
    o.k = opts.get_int_at_least("k", 256, 1);
    o.share_kv = opts.get_bool("share_kv", false);
    o.share_heads = opts.get_bool("share_heads", false);
    opts.finish();
    return o;
}

}  // namespace

// Saves the head splits, the projected K, V (B, H, k, D), scores and probabilities (B, H, T, k).
MixerFootprint linformer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const LinformerOptions o = read_linformer_options(spec);
    const double A = shape.B * shape.T * spec.dim, BH = shape.B * spec.heads;
    const double k = o.k, D = spec.dim / spec.heads, probs = BH * shape.T * k;
    const double params =
        (o.share_kv ? 1.0 : 2.0) * (o.share_heads ? 1.0 : double(spec.heads)) * k * spec.max_len;
    const double drop = spec.attention_dropout > 0 ? probs : 0;
    const double saved = 3 * A + 2 * BH * k * D + 2 * probs + drop + 2 * A;
    // Backward: the gradients of the probabilities and scores and of the projected K, V.
    return attention_mixer_footprint(spec, shape, params, saved, 2 * probs + 2 * BH * k * D);
}

std::unique_ptr<Mixer> make_linformer_mixer(const MixerSpec& spec, ParameterStore& params) {
    const LinformerOptions o = read_linformer_options(spec);
    const int k = o.k;
    const bool share_kv = o.share_kv, share_heads = o.share_heads;
    // LeCun-normal over the projected length, as a Dense(max_len -> k) in LRA, so the projected
    // keys have a scale independent of max_len.
    const Shape shape{share_heads ? 1 : spec.heads, k, spec.max_len};
    const float stddev = 1.0f / std::sqrt(float(spec.max_len));
    Var e = params.normal(spec.prefix + "linformer.e", shape, stddev, true);
    Var f = share_kv ? e : params.normal(spec.prefix + "linformer.f", shape, stddev, true);
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<LinformerAttention>(e, f, spec.attention_dropout, spec.layer));
}

}  // namespace xb
