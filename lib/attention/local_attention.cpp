// `local`: non-overlapping block-local attention (LRA "Local Attention", xformers.md 1.2): the
// sequence is cut into blocks of `block` positions and each query attends to the keys of its own
// block only. O(T·block·D) time; backward saves the row lse (B, H, T) and recomputes the scores.
// Exact (equal to `full`) when block >= T. A last block shorter than `block` (T not divisible)
// is simply a shorter block; there is no internal padding.
// Option: block (default 50, LRA's encoder-level setting; the LRA attention default is 20).
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"

namespace xb {

BlockPattern local_pattern(int T, int block) {
    PatternBuilder builder(block, -1, false);
    for (int s = 0; s < T; s += block) builder.add_block({{s, s + block}}, {}, T);
    return builder.finish();
}

// The pattern changes the time, not the memory: the same tensors as `full`.
MixerFootprint local_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return block_attention_mixer_footprint(spec, shape);
}

std::unique_ptr<Mixer> make_local_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    const int block = opts.get_int_at_least("block", 50, 1);
    opts.finish();
    return make_pattern_mixer(spec, params,
                              [block](int T, int) { return local_pattern(T, block); });
}

}  // namespace xb
