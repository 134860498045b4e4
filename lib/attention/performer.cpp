// `performer`: Performer FAVOR+ (Choromanski et al. 2021, xformers.md 1.7), non-causal. Softmax
// kernel features with positive orthogonal random features W (m × D):
//   φ(x)_r = m^{-1/2} (exp(w_rᵀx̂ − ‖x̂‖²/2 − c) + 1e-4),  x̂ = x·D^{-1/4},
// c = the row max for queries and the max over an example's valid keys and features for keys,
// held constant in backward; or the generalised kernel φ(x) = relu(W x̂) + 1e-3. Padded keys'
// features are zero. O = φ(Q)(φ(K)ᵀV) / (φ(Q)·Σφ(K)) (kernel_attention). Time O(B·H·T·m·D),
// memory O(B·H·T·m): the features are saved. W is a buffer (no gradient) drawn from (run seed,
// layer, redraw epoch), redrawn every `redraw` training steps and fixed at evaluation.
// Converges to `full` in expectation as m grows (unbiased softmax-kernel estimate).
#include <algorithm>
#include <cmath>

#include "attention/head_split.h"
#include "attention/performer_features.h"
#include "core/gemm.h"

namespace xb {

namespace {

// x (B, H, T, D), w (M, D) -> φ (B, H, T, M); see the file comment. Keys: rows t >= len are 0.
Var favor_features(const Var& x, const Tensor& w, const std::vector<int32_t>& lengths, bool is_key,
                   bool softmax_kernel) {
    const Shape& s = x->value.shape();
    const int64_t B = s[0], H = s[1], T = s[2], D = s[3], M = w.dim(0);
    const float data_scale = std::pow(float(D), -0.25f), norm = 1.0f / std::sqrt(float(M));
    Var out = make_var(Tensor::empty({B, H, T, M}));
    float* phi = out->value.data();
    // u = x̂ Wᵀ for all rows at once
    gemm(false, true, B * H * T, M, D, data_scale, x->value.data(), D, w.data(), D, 0.0f, phi, M);
    performer_feature_rows(phi, x->value.data(), lengths.data(),
                           {B, H, T, D, M, data_scale, norm, is_key, softmax_kernel});
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                // du = dφ ⊙ ∂φ/∂u (softmax: φ − m^{-1/2}ε; relu: [u > 0]); dx̂ = du W, minus
                // (Σ_r du_r) x̂ for the softmax kernel's −‖x̂‖²/2; dx = D^{-1/4} dx̂.
                Tensor du = Tensor::empty({B * H * T, M});
                float* d = du.data();
                float* dx = x->grad_buffer().data();
                performer_feature_rows_backward(
                    d, dx, out->grad.data(), out->value.data(), x->value.data(), lengths.data(),
                    {B, H, T, D, M, data_scale, norm, is_key, softmax_kernel});
                gemm(false, false, B * H * T, D, M, data_scale, d, M, w.data(), D, 1.0f, dx, D);
            },
            {out});
    }
    return out;
}

class PerformerAttention : public AttentionKernel {
  public:
    PerformerAttention(const PerformerOptions& o, uint64_t seed, int layer, int head_dim)
        : o_(o), seed_(seed), layer_(layer), head_dim_(head_dim) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        if (ctx.training && o_.redraw > 0) epoch_ = ctx.step / o_.redraw;
        if (!w_.defined() || epoch_ != w_epoch_) {
            w_ = orthogonal_random_features(performer_feature_seed(seed_, layer_, epoch_),
                                            o_.features, head_dim_, o_.scaling);
            w_epoch_ = epoch_;
        }
        HeadMajorQkv h = split_qkv(qkv, heads);
        const bool softmax = o_.kernel == "softmax";
        Var phi_q = favor_features(h.q, w_, lengths, false, softmax);  // (B, H, T, m)
        Var phi_k = favor_features(h.k, w_, lengths, true, softmax);   // (B, H, T, m)
        return merge_heads(kernel_attention(phi_q, phi_k, h.v, lengths));
    }

  private:
    PerformerOptions o_;
    uint64_t seed_;
    int layer_, head_dim_;
    int64_t epoch_ = 0, w_epoch_ = -1;  // the redraw epoch in use; eval keeps the last one
    Tensor w_;                          // (m, D) random features, a buffer
};

PerformerOptions read_performer_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    PerformerOptions o;
    o.features = opts.get_int_at_least("features", 256, 1);
    o.redraw = opts.get_int_at_least("redraw", 1000, 0);
    o.kernel = opts.get_choice("kernel", "softmax", {"softmax", "relu"});
    o.scaling = opts.get_choice("scaling", "chi", {"chi", "sqrt_d"});
    opts.finish();
    return o;
}

}  // namespace

// Saves the head splits, the features (B, H, T, m) of q and k, S, z and the denominators.
MixerFootprint performer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const double M = read_performer_options(spec).features;
    const double A = shape.B * shape.T * spec.dim, BH = shape.B * spec.heads;
    const double D = spec.dim / spec.heads, features = BH * shape.T * M;
    const double saved = 5 * A + 2 * features + BH * (M * D + M + shape.T);
    // Backward: the gradients of both feature maps and of v, then the features' input
    // gradient (du) beside them; measured about 2.5 feature maps at the peak.
    MixerFootprint f = attention_mixer_footprint(spec, shape, 0, saved, A + 5 * features / 2);
    f.saved += M * D;  // the random features W, a buffer
    return f;
}

std::unique_ptr<Mixer> make_performer_mixer(const MixerSpec& spec, ParameterStore& params) {
    reject_attention_dropout(spec, "performer");
    const PerformerOptions o = read_performer_options(spec);
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<PerformerAttention>(o, spec.seed, spec.layer, spec.dim / spec.heads));
}

}  // namespace xb
