// `sliding`: sliding-window attention (Longformer's local part, Beltagy et al. 2020; xformers.md
// 1.4): query i attends to keys j with |i - j| <= window/2 (window + 1 keys away from the ends),
// computed blockwise: each query block of 64 rows walks its key span and the kernel's band masks
// the corners. O(T·window·D) time; backward saves the row lse (B, H, T). Exact (equal to
// `full`) when window/2 >= T - 1. Any T works (no padding to a multiple of anything).
// Option: window (default 512, LRA's sliding_window_size; even, as in HF Longformer).
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"

namespace xb {

BlockPattern sliding_pattern(int T, int band) {
    constexpr int kQueryBlock = 64;
    PatternBuilder builder(kQueryBlock, band, false);
    for (int s = 0; s < T; s += kQueryBlock)
        builder.add_block({{s - band, s + kQueryBlock + band}}, {}, T);
    return builder.finish();
}

// The pattern changes the time, not the memory: the same tensors as `full`.
MixerFootprint sliding_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return block_attention_mixer_footprint(spec, shape);
}

std::unique_ptr<Mixer> make_sliding_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    const int band = read_half_window(opts, 512);
    opts.finish();
    return make_pattern_mixer(spec, params,
                              [band](int T, int) { return sliding_pattern(T, band); });
}

}  // namespace xb
