// `full`: exact softmax attention (Vaswani et al. 2017) through the fused online-softmax kernel
// (block_attention.h) with no pattern: O(T²·D) time, O(T) extra memory. Forward saves only the
// per-row log-sum-exp (B, H, T); backward recomputes the probabilities from it.
#include <cmath>

#include "attention/block_attention.h"
#include "attention/mixer.h"
#include "config/option_reader.h"
#include "core/rng.h"

namespace xb {

namespace {

class FullAttention : public AttentionKernel {
  public:
    FullAttention(float dropout, int layer) : dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
        const AttentionDims dims{int(B), int(T), heads, int(C / heads)};
        AttentionParams p;
        p.scale = 1.0f / std::sqrt(float(dims.D));
        p.dropout_p = ctx.training ? dropout_ : 0.0f;
        p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer_)));
        Var out = make_var(Tensor::empty({B, T, C}));
        Tensor lse = Tensor::empty({B, heads, T});
        const float* q = qkv->value.data();
        const int32_t* lengths = ctx.lengths->data();
        block_attention_forward(out->value.data(), int(C), lse.data(), q, q + C, q + 2 * C,
                                int(3 * C), lengths, dims, p, nullptr);
        if (needs_grad({&qkv})) {
            out->requires_grad = true;
            std::vector<int32_t> lens(*ctx.lengths);
            tape().push(
                [=] {
                    float* d = qkv->grad_buffer().data();
                    const float* qq = qkv->value.data();
                    block_attention_backward(d, d + C, d + 2 * C, int(3 * C), out->grad.data(),
                                             int(C), out->value.data(), lse.data(), qq, qq + C,
                                             qq + 2 * C, int(3 * C), lens.data(), dims, p, nullptr);
                },
                {out});
        }
        return out;
    }

  private:
    float dropout_;
    int layer_;
};

}  // namespace

std::unique_ptr<Mixer> make_full_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    opts.finish();  // `full` has no options
    return std::make_unique<AttentionMixer>(
        spec, params, std::make_unique<FullAttention>(spec.attention_dropout, spec.layer));
}

}  // namespace xb
