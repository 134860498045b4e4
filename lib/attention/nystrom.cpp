// `nystrom`: Nyströmformer (Xiong et al. 2021, xformers.md 1.13). m landmarks are segment means
// of Q and K over each example's valid tokens; O = softmax(Q K̃ᵀ/√D) · A⁺ · (softmax(Q̃ Kᵀ/√D) V)
// with A = softmax(Q̃ K̃ᵀ/√D) and A⁺ from the iterative pseudo-inverse (gradients flow through
// every iteration). Landmarks without valid tokens are masked out of all three softmaxes, and the
// pinv scale is per (example, head). Time O(B·H·(T·m·D + m³)), memory O(B·H·T·m): the
// (B, H, T, m) and (B, H, m, T) probabilities are saved. Exact in the limit m = T (to the
// pinv-iteration tolerance): the landmarks are then the tokens themselves.
#include <algorithm>
#include <cmath>

#include "attention/head_split.h"

namespace xb {

namespace {

class NystromAttention : public AttentionKernel {
  public:
    NystromAttention(int landmarks, int iterations, float dropout, int layer)
        : landmarks_(landmarks), iterations_(iterations), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        HeadMajorQkv h = split_qkv(qkv, heads);
        const int64_t T = h.q->value.dim(2);
        const float scale = 1.0f / std::sqrt(float(h.q->value.dim(3)));
        Var q_land = segment_means(h.q, lengths, landmarks_);  // (B, H, m, D)
        Var k_land = segment_means(h.k, lengths, landmarks_);  // (B, H, m, D)
        const std::vector<int32_t> valid = segment_valid_counts(T, landmarks_, lengths);
        Var kernel_1 = masked_softmax(batched_matmul(h.q, k_land, false, true, scale), &lengths,
                                      &valid);  // (B, H, T, m)
        Var kernel_2 = masked_softmax(batched_matmul(q_land, k_land, false, true, scale), &valid,
                                      &valid);  // (B, H, m, m)
        Var kernel_3 = masked_softmax(batched_matmul(q_land, h.k, false, true, scale), &valid,
                                      &lengths);  // (B, H, m, T)
        kernel_3 = attention_dropout(kernel_3, dropout_, ctx, layer_);
        Var pinv = iterative_pinv(kernel_2, iterations_);                   // (B, H, m, m)
        Var landmark_values = batched_matmul(kernel_3, h.v, false, false);  // (B, H, m, D)
        Var mixed = batched_matmul(pinv, landmark_values, false, false);    // (B, H, m, D)
        return merge_heads(batched_matmul(kernel_1, mixed, false, false));  // (B, T, C)
    }

  private:
    int landmarks_, iterations_;
    float dropout_;
    int layer_;
};

struct NystromOptions {
    int landmarks, iterations;
};

NystromOptions read_nystrom_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    NystromOptions o;
    o.landmarks = opts.get_int_at_least("landmarks", 64, 1);
    o.iterations = opts.get_int_at_least("pinv_iterations", 6, 1);
    opts.finish();
    return o;
}

}  // namespace

// Saves the head splits, the landmarks, the three kernels before and after softmax, every
// pseudo-inverse iterate (7 (m, m) tensors per iteration) and the products.
MixerFootprint nystrom_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const NystromOptions o = read_nystrom_options(spec);
    const double A = shape.B * shape.T * spec.dim, BH = shape.B * spec.heads;
    const double S = std::min<double>(o.landmarks, shape.T), D = spec.dim / spec.heads;
    const double TS = BH * shape.T * S, SS = BH * S * S, SD = BH * S * D;
    const double drop = spec.attention_dropout > 0 ? TS : 0;
    const double saved =
        3 * A + 4 * SD + 4 * TS + drop + SS * (3 + 7 * double(o.iterations)) + 2 * A;
    return attention_mixer_footprint(spec, shape, 0, saved, 3 * A + 2 * TS);
}

std::unique_ptr<Mixer> make_nystrom_mixer(const MixerSpec& spec, ParameterStore& params) {
    const NystromOptions o = read_nystrom_options(spec);
    const int landmarks = o.landmarks, iterations = o.iterations;
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<NystromAttention>(landmarks, iterations, spec.attention_dropout,
                                           spec.layer));
}

}  // namespace xb
