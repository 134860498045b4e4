// Encoder classifier and dual encoder; see classifier.h.
#include "model/classifier.h"

#include <cmath>

#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

MixerSpec block_mixer_spec(const ModelConfig& cfg, int layer, int max_len, uint64_t seed) {
    MixerSpec spec;
    spec.dim = cfg.dim;
    spec.heads = cfg.heads;
    spec.layer = layer;
    spec.max_len = max_len;
    spec.attention_dropout = cfg.attention.dropout;
    spec.seed = seed;
    spec.options = cfg.attention.options;
    spec.prefix = fmt::format("blocks.{}.mixer.", layer);
    return spec;
}

Classifier::Classifier(const ModelConfig& cfg, const VariantEntry& variant, int vocab_size,
                       int num_classes, int max_len, bool pair, uint64_t seed)
    : cfg_(cfg), pair_(pair), seed_(seed), params_(seed) {
    const int64_t C = cfg.dim, F = cfg.ffn_dim;
    const bool cls = cfg.pooling == "cls";
    max_len_ = max_len + (cls ? 1 : 0);
    embed_ = params_.normal("embed", {vocab_size, C}, 1.0f / std::sqrt(float(C)), false);
    if (cls) cls_ = params_.normal("cls", {C}, 0.02f, false);
    if (cfg.positions == "learned")
        positions_ = params_.normal("positions", {max_len_, C}, 0.02f, false);
    else if (cfg.positions == "sinusoidal")
        positions_ = make_var(sinusoidal_table(max_len_, C));
    for (int l = 0; l < cfg.layers; ++l) {
        std::string p = fmt::format("blocks.{}.", l);
        Block b;
        b.ln1_g = params_.constant(p + "ln1.weight", {C}, 1.0f);
        b.ln1_b = params_.constant(p + "ln1.bias", {C}, 0.0f);
        b.mixer = variant.make(block_mixer_spec(cfg, l, max_len_, seed), params_);
        b.ln2_g = params_.constant(p + "ln2.weight", {C}, 1.0f);
        b.ln2_b = params_.constant(p + "ln2.bias", {C}, 0.0f);
        b.w1 = params_.xavier(p + "ffn.fc1.weight", F, C);
        b.b1 = params_.constant(p + "ffn.fc1.bias", {F}, 0.0f);
        b.w2 = params_.xavier(p + "ffn.fc2.weight", C, F);
        b.b2 = params_.constant(p + "ffn.fc2.bias", {C}, 0.0f);
        blocks_.push_back(std::move(b));
    }
    final_g_ = params_.constant("final_ln.weight", {C}, 1.0f);
    final_b_ = params_.constant("final_ln.bias", {C}, 0.0f);
    // Head: classifier Dense(H)->ReLU->Dense(K); dual Dense(H)->ReLU->Dense(H/2)->ReLU->Dense(K).
    const int64_t H = cfg.classifier_dim > 0 ? cfg.classifier_dim : F;
    std::vector<int64_t> widths = pair ? std::vector<int64_t>{4 * C, H, std::max<int64_t>(1, H / 2)}
                                       : std::vector<int64_t>{C, H};
    widths.push_back(num_classes);
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
        std::string p = fmt::format("head.{}.", i);
        head_w_.push_back(params_.xavier(p + "weight", widths[i + 1], widths[i]));
        head_b_.push_back(params_.constant(p + "bias", {widths[i + 1]}, 0.0f));
    }
}

uint64_t Classifier::dropout_seed(int64_t step) const {
    return mix64(seed_ ^ mix64(uint64_t(step) + 1));
}

Var Classifier::drop(const Var& x, bool training, int64_t step, uint64_t stream) {
    if (!training || cfg_.dropout == 0.0f) return x;
    return dropout(x, cfg_.dropout, dropout_seed(step), stream);
}

Var Classifier::residual(const Var& x, const Var& h, bool training, int64_t step, uint64_t stream) {
    if (!training || cfg_.dropout == 0.0f) return add(x, h);
    return residual_dropout(x, h, cfg_.dropout, dropout_seed(step), stream);
}

Var Classifier::encode(const SequenceBatch& seq, bool training, int64_t step, uint64_t stream) {
    XB_CHECK(int64_t(seq.ids.size()) == seq.B * seq.T, "batch ids {} for B={} T={}", seq.ids.size(),
             seq.B, seq.T);
    const float scale = cfg_.embed_scale == "sqrt_dim" ? std::sqrt(float(cfg_.dim)) : 1.0f;
    Var x = embedding(seq.ids, seq.B, seq.T, embed_, scale);  // (B, T, C)
    std::vector<int32_t> lengths = seq.lengths;
    if (cls_) {
        x = prepend_token(x, cls_);  // (B, T+1, C)
        for (auto& l : lengths) ++l;
    }
    XB_CHECK(x->value.dim(1) <= max_len_, "sequence of {} tokens exceeds the model's {}",
             x->value.dim(1), max_len_);
    if (positions_) x = add_positions(x, positions_);
    stream *= 1000;
    x = drop(x, training, step, stream++);
    Var carried;  // state passed from block to block by mixers that carry one (luna)
    MixContext ctx{&lengths, training, seed_ ^ mix64(stream), training ? step : -1, &carried};
    for (Block& b : blocks_) {
        Var h = b.mixer->forward(layernorm(x, b.ln1_g, b.ln1_b), ctx);
        x = residual(x, h, training, step, stream++);
        Var f = linear(bias_gelu(linear(layernorm(x, b.ln2_g, b.ln2_b), b.w1, nullptr), b.b1), b.w2,
                       b.b2);
        x = residual(x, f, training, step, stream++);
        ctx.seed = mix64(ctx.seed);
    }
    x = layernorm(x, final_g_, final_b_);
    return cls_ ? first_token(x) : mean_pool(x, lengths);  // (B, C)
}

Var Classifier::forward(const Batch& batch, bool training, int64_t step) {
    Var z = encode(batch.first, training, step, 1);
    if (pair_) {
        Var u = z, v = encode(batch.second, training, step, 2);
        z = concat_last({u, v, mul(u, v), sub(u, v)});  // (B, 4C)
    }
    for (size_t i = 0; i < head_w_.size(); ++i) {
        z = linear(z, head_w_[i], head_b_[i]);
        if (i + 1 < head_w_.size()) z = relu(z);
    }
    return z;  // (B, K)
}

}  // namespace xb
