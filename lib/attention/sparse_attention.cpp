// `sparse`: Sparse Transformer fixed factorised pattern (Child et al. 2019; xformers.md 1.3), non-
// causal for classification. A¹: query i attends to its own block of `block` positions
// (⌊j/l⌋ = ⌊i/l⌋); A²: every query attends to the `summary` last positions of every block
// (j mod l >= l - c). heads = "merged": A¹ ∪ A² in every head, one softmax; "split": even heads
// A¹, odd heads A². O(T·(l + c·T/l)·D) time (O(T^1.5) with l ≈ √T, as in the paper); backward
// saves the row lse (B, H, T). Exact (equal to `full`) in merged mode when block >= T or
// summary = block. A last block shorter than `block` is a shorter block (no internal padding).
// The strided pattern (keys j ≡ i mod l) differs per query row and cannot be expressed as key
// ranges per query block, so it is not offered.
// Options: block (l, default 128) and summary (c, default 32) are the LRA attention-file
// defaults (LRA's ListOps model uses 50 and 10); heads ("merged", LRA's choice, or "split").
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"

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

std::unique_ptr<Mixer> make_sparse_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    const int block = get_int_at_least(opts, "block", 128, 1);
    const int summary = get_int_at_least(opts, "summary", 32, 1);
    if (summary > block)
        throw ConfigError(fmt::format("{}={}: must be at most block={}", opts.key_path("summary"),
                                      summary, block));
    const bool split = opts.get_choice("heads", "merged", {"merged", "split"}) == "split";
    opts.finish();
    if (split && spec.heads < 2)
        throw ConfigError(fmt::format("{}: \"split\" needs at least 2 heads (model.heads={})",
                                      opts.key_path("heads"), spec.heads));
    return make_pattern_mixer(spec, params, [=](int T, int H) {
        return fixed_sparse_pattern(T, H, block, summary, split);
    });
}

}  // namespace xb
