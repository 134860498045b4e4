// AttentionMixer and the variant registry (variants.def expanded twice).
#include "attention/mixer.h"

#include "core/errors.h"
#include "ops/ops.h"

namespace xb {

#define XB_VARIANT(id, desc, factory, footprint)                                   \
    std::unique_ptr<Mixer> factory(const MixerSpec& spec, ParameterStore& params); \
    MixerFootprint footprint(const MixerSpec& spec, const MixerShape& shape);
#include "attention/variants.def"
#undef XB_VARIANT

const std::vector<VariantEntry>& variant_registry() {
    static const std::vector<VariantEntry> entries = {
#define XB_VARIANT(id, desc, factory, footprint) {#id, desc, factory, footprint},
#include "attention/variants.def"
#undef XB_VARIANT
    };
    return entries;
}

const VariantEntry& find_variant(const std::string& name) {
    std::vector<std::string> names;
    for (const auto& e : variant_registry()) {
        if (name == e.name) return e;
        names.push_back(e.name);
    }
    throw ConfigError(fmt::format("model.attention.variant: unknown variant '{}' (valid: {})", name,
                                  join_names(names)));
}

void reject_attention_dropout(const MixerSpec& spec, const char* variant) {
    if (spec.attention_dropout != 0.0f)
        throw ConfigError(fmt::format(
            "model.attention.dropout={}: the {} variant has no attention probabilities to drop "
            "(valid: 0; model.dropout still applies)",
            spec.attention_dropout, variant));
}

MixerFootprint attention_mixer_footprint(const MixerSpec& spec, const MixerShape& shape,
                                         double kernel_params, double kernel_saved,
                                         double kernel_backward) {
    const double C = spec.dim, A = shape.B * shape.T * C;
    MixerFootprint f;
    f.params = 4 * C * C + 4 * C + kernel_params;
    f.saved = 3 * A + kernel_saved + A;        // qkv, the kernel's tensors, the output projection
    f.backward = 3 * A + A + kernel_backward;  // d qkv and d o while the kernel's backward runs
    return f;
}

double block_attention_scratch(const MixerSpec& spec, const MixerShape& shape) {
    const double D = spec.dim / spec.heads, tile = 64;  // (D, 64) query and (64, 64) key tiles
    return double(shape.threads) * ((5 * D + 2 * tile) * tile + 2 * shape.T * D);
}

MixerFootprint block_attention_mixer_footprint(const MixerSpec& spec, const MixerShape& shape,
                                               int calls, double extra_params, double extra_saved) {
    const double A = shape.B * shape.T * spec.dim, lse = shape.B * shape.T * spec.heads;
    const double scratch = block_attention_scratch(spec, shape);
    const double saved = calls * (A + lse) + (calls - 1) * A + extra_saved;
    // Backward: the gradients of the calls' outputs beside d qkv, and the kernel's scratch.
    return attention_mixer_footprint(spec, shape, extra_params, saved,
                                     (calls - 1) * 2 * A + scratch);
}

AttentionMixer::AttentionMixer(const MixerSpec& spec, ParameterStore& params,
                               std::unique_ptr<AttentionKernel> kernel)
    : heads_(spec.heads), kernel_(std::move(kernel)) {
    const std::string& p = spec.prefix;
    w_qkv_ = params.xavier(p + "qkv.weight", 3 * int64_t(spec.dim), spec.dim);
    b_qkv_ = params.constant(p + "qkv.bias", {3 * int64_t(spec.dim)}, 0.0f);
    w_out_ = params.xavier(p + "out.weight", spec.dim, spec.dim);
    b_out_ = params.constant(p + "out.bias", {int64_t(spec.dim)}, 0.0f);
}

Var AttentionMixer::forward(const Var& x, const MixContext& ctx) {
    Var qkv = linear(x, w_qkv_, b_qkv_);  // (B, T, 3C)
    Var o = kernel_->attend(qkv, heads_, ctx);
    return linear(o, w_out_, b_out_);
}

}  // namespace xb
