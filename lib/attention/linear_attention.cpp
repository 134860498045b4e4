// `linear`: linear attention (Katharopoulos et al. 2020), non-causal, φ(x) = elu(x) + 1:
//   o_i = φ(q_i)ᵀ S / (φ(q_i)·z + eps),  S = Σ_{j<len} φ(k_j) v_jᵀ (D×D),  z = Σ_{j<len} φ(k_j).
// Padding keys are excluded from both sums; padded query rows output 0. O(T·D²) time and
// O(D²) state per (batch, head); forward saves S and z (linear_attention_kernel.h), backward
// recomputes φ and the denominators. No 1/sqrt(D) scaling, eps = 1e-6 (as the paper and LRA).
#include <algorithm>
#include <cmath>
#include <vector>

#include "attention/linear_attention_kernel.h"
#include "attention/mixer.h"
#include "config/option_reader.h"

namespace xb {

namespace {

class LinearAttention : public AttentionKernel {
  public:
    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
        const AttentionDims dims{int(B), int(T), heads, int(C / heads)};
        Var out = make_var(Tensor::empty({B, T, C}));
        Tensor S = Tensor::empty({B, heads, dims.D, dims.D});  // Σ φ(k) vᵀ per (b, h)
        Tensor z = Tensor::empty({B, heads, dims.D});          // Σ φ(k) per (b, h)
        const float* q = qkv->value.data();
        linear_attention_forward(out->value.data(), int(C), S.data(), z.data(), q, q + C, q + 2 * C,
                                 int(3 * C), ctx.lengths->data(), dims);
        if (needs_grad({&qkv})) {
            out->requires_grad = true;
            std::vector<int32_t> lengths(*ctx.lengths);
            tape().push(
                [=] {
                    float* d = qkv->grad_buffer().data();
                    const float* qq = qkv->value.data();
                    linear_attention_backward(d, d + C, d + 2 * C, int(3 * C), out->grad.data(),
                                              int(C), S.data(), z.data(), qq, qq + C, qq + 2 * C,
                                              int(3 * C), lengths.data(), dims);
                },
                {out});
        }
        return out;
    }
};

}  // namespace

// Saves its output and S, z per (b, h); backward scratch per thread (linear_attention_kernel.cpp).
MixerFootprint linear_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const double D = spec.dim / spec.heads, BH = shape.B * spec.heads;
    const double saved = shape.B * shape.T * spec.dim + BH * (D * D + D);
    const double scratch = double(shape.threads) * (4 * shape.T * D + shape.T + D * D + D);
    return attention_mixer_footprint(spec, shape, 0, saved, scratch);
}

std::unique_ptr<Mixer> make_linear_mixer(const MixerSpec& spec, ParameterStore& params) {
    reject_attention_dropout(spec, "linear");
    OptionReader opts(spec.options, "model.attention.options");
    opts.finish();  // `linear` has no options
    return std::make_unique<AttentionMixer>(spec, params, std::make_unique<LinearAttention>());
}

}  // namespace xb
