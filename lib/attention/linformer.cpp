// `linformer`: Linformer (Wang et al. 2020, xformers.md 1.6). Keys and values are projected
// along the sequence to rank k, K̄ = E K, V̄ = F V with learned E, F (k × max_len) sliced to T, then
// softmax(Q K̄ᵀ / √D) V̄. Padded K, V rows are excluded from the projection (zero rows). Time
// O(B·H·T·k·D). When k <= T the softmax attention runs in the fused kernel (block_attention.h,
// with k valid keys), which keeps only the row log-sum-exp: memory O(B·T·C) beyond the
// projections, no (B, H, T, k) tensor. When k > T (short sequences) it is composed from ops,
// saving the (B, H, T, k) probabilities; the two paths agree within float rounding (tested).
// Exact in the limit k = T with E = F = I and no padding (equals `full`).
#include <cmath>

#include "attention/low_rank_attention.h"

#include "attention/cross_attention.h"
#include "attention/head_split.h"

namespace xb {

Var low_rank_fused_attention(const Var& qkv, const Var& k_proj, const Var& v_proj, int heads,
                             const MixContext& ctx, float dropout, int layer) {
    const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
    const int k = int(k_proj->value.dim(2));
    XB_CHECK(k <= T, "low_rank_fused_attention: k={} > T={}", k, T);
    Var q = slice_leading(qkv, T, C);                                  // (B, T, C)
    Var kv = concat_last({merge_heads(k_proj), merge_heads(v_proj)});  // (B, k, 2C)
    return cross_attention(q, kv, heads, *ctx.lengths, std::vector<int32_t>(size_t(B), k), ctx,
                           dropout, layer, 0);
}

Var low_rank_composed_attention(const Var& qkv, const Var& k_proj, const Var& v_proj, int heads,
                                const MixContext& ctx, float dropout, int layer) {
    Var q = split_heads(qkv, heads, 0, 3);  // (B, H, T, D)
    const float scale = 1.0f / std::sqrt(float(q->value.dim(3)));
    Var scores = batched_matmul(q, k_proj, false, true, scale);  // (B, H, T, k)
    Var probs = masked_softmax(scores, ctx.lengths, nullptr);    // padded rows -> 0
    probs = attention_dropout(probs, dropout, ctx, layer);
    return merge_heads(batched_matmul(probs, v_proj, false, false));  // (B, T, C)
}

namespace {

class LinformerAttention : public AttentionKernel {
  public:
    LinformerAttention(Var e, Var f, float dropout, int layer)
        : e_(std::move(e)), f_(std::move(f)), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        Var k_proj = sequence_projection(e_, split_heads(qkv, heads, 1, 3), lengths);  // (B,H,k,D)
        Var v_proj = sequence_projection(f_, split_heads(qkv, heads, 2, 3), lengths);  // (B,H,k,D)
        if (k_proj->value.dim(2) <= qkv->value.dim(1))
            return low_rank_fused_attention(qkv, k_proj, v_proj, heads, ctx, dropout_, layer_);
        return low_rank_composed_attention(qkv, k_proj, v_proj, heads, ctx, dropout_, layer_);
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

// Saves the K, V head splits (the projections' inputs) and the projected K, V (B, H, k, D); then
// in the fused kernel (k <= T) the packed K̄, V̄ buffer (B, T, 3C), the output and the row lse,
// else the scores and probabilities (B, H, T, k) and the head-major Q.
MixerFootprint linformer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const LinformerOptions o = read_linformer_options(spec);
    const double A = shape.B * shape.T * spec.dim, BH = shape.B * spec.heads;
    const double k = o.k, D = spec.dim / spec.heads, probs = BH * shape.T * k;
    const double params =
        (o.share_kv ? 1.0 : 2.0) * (o.share_heads ? 1.0 : double(spec.heads)) * k * spec.max_len;
    if (k <= shape.T) {
        // Beside those: Q sliced from qkv, K̄ and V̄ token-major and joined, and the fused
        // cross attention's own tensors.
        const double kv = 2 * shape.B * k * spec.dim;
        const double saved =
            2 * A + 2 * BH * k * D + A + 2 * kv + cross_attention_saved(spec, shape.B, shape.T, k);
        return attention_mixer_footprint(
            spec, shape, params, saved,
            cross_attention_backward(spec, shape.B, shape.T, k, shape.threads) + 2 * kv +
                2 * BH * k * D);
    }
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
