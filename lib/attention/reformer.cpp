// `reformer`: Reformer LSH attention (Kitaev et al. 2020, xformers.md 1.9) as a mixer: one
// shared query/key projection and a value projection (qv, 2C wide: a key projection would go
// unused), LSH attention (lsh_attention.h), the output projection. Options: n_hashes (rounds,
// default 2), chunk (rows per chunk, default 64), n_buckets (1 or even; default 0 = auto, about
// max_len/chunk so that a bucket averages one chunk, as in the paper). The rotations are redrawn
// every training step from (run seed, step, layer) and fixed at evaluation (run seed, layer).
#include <algorithm>
#include <cmath>

#include "attention/lsh_attention.h"
#include "attention/mixer.h"
#include "config/option_reader.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

namespace {

constexpr int kMaxHashes = 16;

struct ReformerOptions {
    int n_hashes, n_buckets, chunk;  // n_buckets resolved (never 0)
};

ReformerOptions read_reformer_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    ReformerOptions o;
    o.n_hashes = opts.get_int_at_least("n_hashes", 2, 1);
    if (o.n_hashes > kMaxHashes)
        throw ConfigError(fmt::format("{}={}: must be in [1, {}]", opts.key_path("n_hashes"),
                                      o.n_hashes, kMaxHashes));
    o.chunk = opts.get_int_at_least("chunk", 64, 1);
    o.n_buckets = opts.get_int_at_least("n_buckets", 0, 0);
    if (o.n_buckets > 1 && o.n_buckets % 2 != 0)
        throw ConfigError(
            fmt::format("{}={}: must be 0 (auto), 1 (no hashing) or even (argmax over [xR; -xR])",
                        opts.key_path("n_buckets"), o.n_buckets));
    opts.finish();
    if (o.n_buckets == 0) {  // buckets of one chunk on average at the longest length
        const int chunks = (std::max(spec.max_len, 1) + o.chunk - 1) / o.chunk;
        o.n_buckets = std::max(2, (chunks + 1) / 2 * 2);
    }
    return o;
}

class ReformerMixer : public Mixer {
  public:
    ReformerMixer(const MixerSpec& spec, ParameterStore& params, const ReformerOptions& o)
        : o_(o), heads_(spec.heads), layer_(spec.layer), dropout_(spec.attention_dropout) {
        const std::string& p = spec.prefix;
        const int64_t C = spec.dim;
        w_qv_ = params.xavier(p + "qv.weight", 2 * C, C);
        b_qv_ = params.constant(p + "qv.bias", {2 * C}, 0.0f);
        w_out_ = params.xavier(p + "out.weight", C, C);
        b_out_ = params.constant(p + "out.bias", {C}, 0.0f);
    }

    Var forward(const Var& x, const MixContext& ctx) override {
        Var qv = linear(x, w_qv_, b_qv_);  // (B, T, 2C)
        // Training: new rotations every step; evaluation (step -1): one fixed draw per layer.
        const uint64_t draw = ctx.training ? uint64_t(ctx.step) + 1 : 0;
        const uint64_t rotation_seed =
            mix64(ctx.seed ^ mix64(draw * 977 + uint64_t(layer_)) ^ 0x15b);
        auto sort = std::make_shared<const LshSort>(
            lsh_sort(qv->value, heads_, *ctx.lengths, o_.n_hashes, o_.n_buckets, rotation_seed));
        AttentionParams p;
        p.scale = 1.0f / std::sqrt(float(qv->value.dim(2) / 2 / heads_));
        p.dropout_p = ctx.training ? dropout_ : 0.0f;
        p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer_)));
        Var o = lsh_attention(qv, heads_, *ctx.lengths, std::move(sort), o_.chunk, p);
        return linear(o, w_out_, b_out_);
    }

  private:
    ReformerOptions o_;
    int heads_, layer_;
    float dropout_;
    Var w_qv_, b_qv_, w_out_, b_out_;
};

}  // namespace

MixerFootprint reformer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const ReformerOptions o = read_reformer_options(spec);
    const double C = spec.dim, A = shape.B * shape.T * C, R = o.n_hashes;
    const double lse = shape.B * spec.heads * shape.T;
    MixerFootprint f;
    f.params = 3 * C * C + 3 * C;
    // qv, the attention output and its combined lse, the output projection.
    f.saved = 2 * A + (A + lse) + A;
    // d qv and d o; the re-sorted rows and their gradient (3 R A each), the sorted output and
    // its gradient (R A each), the sorted lse and the kernel's scratch.
    f.backward = 3 * A + 8 * R * A + R * lse + block_attention_scratch(spec, shape);
    return f;
}

std::unique_ptr<Mixer> make_reformer_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<ReformerMixer>(spec, params, read_reformer_options(spec));
}

}  // namespace xb
