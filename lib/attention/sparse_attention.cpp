// `sparse`: Sparse Transformer factorised patterns (Child et al. 2019; xformers.md 1.3), non-causal
// for classification. pattern = "fixed" (default): A¹ own block of `block` = l positions
// (⌊j/l⌋ = ⌊i/l⌋), A² the `summary` = c last positions of every block (j mod l >= l - c);
// heads = "merged": A¹ ∪ A² in every head, one softmax; "split": even heads A¹, odd heads A².
// O(T·(l + c·T/l)·D) time (O(T^1.5) with l ≈ √T, as in the paper). pattern = "strided" (split
// heads only): even heads |i - j| <= l, odd heads (i - j) mod l = 0 (strided_attention.cpp);
// O(T·(l + T/l)·D). Backward saves the row lse. Exact (equal to `full`): fixed, merged, with
// block >= T or summary = block. A last block shorter than `block` is a shorter block.
// Options: pattern, block (l, 128) and summary (c, 32; fixed only) are the LRA attention-file
// defaults (LRA's ListOps model uses 50 and 10); heads ("merged" for fixed, as LRA; "split").
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "ops/ops.h"

namespace xb {

BlockPattern fixed_sparse_pattern(int T, int H, int block, int summary, bool split) {
    std::vector<KeyRange> summaries;  // A²: the same columns for every query
    for (int s = 0; s < T; s += block) summaries.push_back({s + block - summary, s + block});
    PatternBuilder builder(block, -1, split);
    for (int h = 0; h < (split ? H : 1); ++h)
        for (int s = 0; s < T; s += block) {
            std::vector<KeyRange> keys;
            if (!split || h % 2 == 0) keys.push_back({s, s + block});
            if (!split || h % 2 == 1) keys.insert(keys.end(), summaries.begin(), summaries.end());
            builder.add_block({}, std::move(keys), T);
        }
    return builder.finish();
}

BlockPattern strided_local_pattern(int T, int H, int stride) {
    constexpr int kQueryBlock = 64;
    PatternBuilder builder(kQueryBlock, stride, true);
    for (int h = 0; h < H; ++h)
        for (int s = 0; s < T; s += kQueryBlock) {
            std::vector<KeyRange> keys;
            if (h % 2 == 0) keys.push_back({s - stride, s + kQueryBlock + stride});
            builder.add_block(std::move(keys), {}, T);
        }
    return builder.finish();
}

namespace {

// Strided pattern, split heads: the band half and the strided half add (disjoint heads).
class StridedSparseAttention : public AttentionKernel {
  public:
    StridedSparseAttention(float dropout, int layer, int stride)
        : local_(dropout, layer,
                 [stride](int T, int H) { return strided_local_pattern(T, H, stride); }),
          dropout_(dropout),
          layer_(layer),
          stride_(stride) {}
    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        return add(local_.attend(qkv, heads, ctx),
                   strided_attention_op(qkv, heads, ctx, dropout_, layer_, stride_));
    }

  private:
    PatternAttention local_;
    float dropout_;
    int layer_, stride_;
};

}  // namespace

namespace {

struct SparseOptions {
    bool strided, split;
    int block, summary;
};

SparseOptions read_sparse_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    const bool strided = opts.get_choice("pattern", "fixed", {"fixed", "strided"}) == "strided";
    const int block = opts.get_int_at_least("block", 128, 1);
    const int summary = opts.get_int_at_least("summary", 32, 1);
    if (!strided && summary > block)
        throw ConfigError(fmt::format("{}={}: must be at most block={}", opts.key_path("summary"),
                                      summary, block));
    const std::string heads =
        opts.get_choice("heads", strided ? "split" : "merged", {"merged", "split"});
    opts.finish();
    const bool split = heads == "split";
    if (strided && !split)
        throw ConfigError(
            fmt::format("{}=\"merged\": the strided pattern is only offered with "
                        "\"split\" heads",
                        opts.key_path("heads")));
    if (split && spec.heads < 2)
        throw ConfigError(fmt::format("{}: \"split\" needs at least 2 heads (model.heads={})",
                                      opts.key_path("heads"), spec.heads));
    return {strided, split, block, summary};
}

}  // namespace

// fixed: the tensors of `full`; strided: two kernel calls (band and strided heads) and their sum.
MixerFootprint sparse_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return block_attention_mixer_footprint(spec, shape, read_sparse_options(spec).strided ? 2 : 1);
}

std::unique_ptr<Mixer> make_sparse_mixer(const MixerSpec& spec, ParameterStore& params) {
    const SparseOptions o = read_sparse_options(spec);
    const bool split = o.split;
    const int block = o.block, summary = o.summary;
    if (o.strided)
        return std::make_unique<AttentionMixer>(
            spec, params,
            std::make_unique<StridedSparseAttention>(spec.attention_dropout, spec.layer, block));
    return make_pattern_mixer(spec, params, [=](int T, int H) {
        return fixed_sparse_pattern(T, H, block, summary, split);
    });
}

}  // namespace xb
