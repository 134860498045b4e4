// `sinkhorn`: Sparse Sinkhorn attention (Tay et al. 2020, xformers.md 1.11). The sequence is cut
// into N = ceil(T/block) blocks. A SortNet (two-layer ReLU network on each block's mean key, per
// head) scores every block against every block; Sinkhorn normalisation in log space turns the
// scores / temperature into a doubly stochastic soft permutation P; the sorted keys and values
// of block i are Σ_j P_ij · block j. Each query block attends, with ONE softmax, to its own block
// and to its sorted block. Differentiable end to end (no hard sort). Time O(B·H·(T·2·block·D +
// N²·block·D)), memory O(B·H·T·D): the permuted K, V, the row lse and the (N, N) Sinkhorn
// iterates are saved. Exact (equal to `full`) when block >= T: the sorted block is then the own
// block, and attending to every key twice gives the same softmax.
#include <cmath>

#include "attention/head_split.h"

namespace xb {

namespace {

struct SinkhornOptions {
    int block, iterations;
    float temperature;
};

SinkhornOptions read_sinkhorn_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    SinkhornOptions o;
    o.block = opts.get_int_at_least("block", 64, 1);
    o.iterations = opts.get_int_at_least("iterations", 7, 1);
    const double temperature = opts.get_double("temperature", 0.75);
    if (!(temperature >= 1e-3 && temperature <= 1e3))
        throw ConfigError(fmt::format("{}={}: must be in [0.001, 1000]",
                                      opts.key_path("temperature"), temperature));
    o.temperature = float(temperature);
    opts.finish();
    return o;
}

int max_blocks(const MixerSpec& spec, int block) { return (spec.max_len + block - 1) / block; }

class SinkhornAttention : public AttentionKernel {
  public:
    SinkhornAttention(const SinkhornOptions& o, std::vector<Var> sortnet, float dropout, int layer)
        : o_(o), sortnet_(std::move(sortnet)), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        HeadMajorQkv h = split_qkv(qkv, heads);
        const int64_t T = h.q->value.dim(2), N = (T + o_.block - 1) / o_.block;
        const float scale = 1.0f / std::sqrt(float(h.q->value.dim(3)));
        // SortNet: block mean keys (B, H, N, D) -> scores of every block pair (B, H, N, N).
        Var summary = block_means(h.k, lengths, o_.block);
        Var hidden = relu(linear(summary, sortnet_[0], sortnet_[1]));
        Var scores = slice_leading(linear(hidden, sortnet_[2], sortnet_[3]), N, N);
        Var perm = sinkhorn_normalize(scores, valid_block_counts(T, o_.block, lengths),
                                      o_.iterations, o_.temperature);
        Var sorted_k = permute_blocks(perm, h.k, lengths, o_.block);  // (B, H, N·block, D)
        Var sorted_v = permute_blocks(perm, h.v, lengths, o_.block);
        const bool drop = ctx.training && dropout_ > 0.0f;
        const uint64_t seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer_)));
        Var o = own_and_sorted_block_attention(h.q, h.k, h.v, sorted_k, sorted_v, lengths, o_.block,
                                               scale, drop ? dropout_ : 0.0f, seed);
        return merge_heads(o);  // (B, T, C)
    }

  private:
    SinkhornOptions o_;
    std::vector<Var> sortnet_;  // hidden weight (D, D), bias (D), out weight (Nmax, D), bias
    float dropout_;
    int layer_;
};

}  // namespace

// Saves the head splits, the SortNet's tensors and Sinkhorn iterates (per (N, N) block pair),
// the permuted K, V (B, H, N·block, D), the attention output and its row lse.
MixerFootprint sinkhorn_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const SinkhornOptions o = read_sinkhorn_options(spec);
    const double A = shape.B * shape.T * spec.dim, BH = shape.B * spec.heads;
    const double D = spec.dim / spec.heads, N = std::ceil(shape.T / o.block);
    const double Nmax = max_blocks(spec, o.block), sorted = 2 * shape.B * N * o.block * spec.dim;
    const double params = D * D + D + Nmax * D + Nmax;
    const double sortnet = BH * N * (3 * D + Nmax + N * (2 + 2 * double(o.iterations)));
    const double saved = 3 * A + sortnet + sorted + A + BH * shape.T + A;
    // Backward: the gradients of the head splits, the permuted K, V and the attention output.
    return attention_mixer_footprint(spec, shape, params, saved, 3 * A + sorted + A);
}

std::unique_ptr<Mixer> make_sinkhorn_mixer(const MixerSpec& spec, ParameterStore& params) {
    const SinkhornOptions o = read_sinkhorn_options(spec);
    const int D = spec.dim / spec.heads, nmax = max_blocks(spec, o.block);
    const std::string p = spec.prefix + "sinkhorn.";
    std::vector<Var> sortnet{params.xavier(p + "hidden.weight", D, D),
                             params.constant(p + "hidden.bias", {int64_t(D)}, 0.0f),
                             params.xavier(p + "out.weight", nmax, D),
                             params.constant(p + "out.bias", {int64_t(nmax)}, 0.0f)};
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<SinkhornAttention>(o, std::move(sortnet), spec.attention_dropout,
                                            spec.layer));
}

}  // namespace xb
