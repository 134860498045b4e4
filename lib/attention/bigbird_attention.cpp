// `bigbird`: BigBird ITC block-sparse attention (Zaheer et al. 2020; xformers.md 1.5). The
// sequence is cut into blocks of `block` positions; global blocks (first and last by default)
// attend to every key and are attended by every query; every other query block attends to the
// window_blocks blocks centred on it, the global blocks and random_blocks random blocks, with ONE
// softmax over the union. Random blocks are drawn per (layer, head, query block) from the run
// seed, among the blocks outside the window and the global set, once per T, and stay fixed for the
// run (as LRA and HF). O(T·(window + global + random)·block·D) time; backward saves the row lse
// (B, H, T). Exact (equal to `full`) when every block is selected (random_blocks >= T/block, or
// block >= T). A last block shorter than `block` is a shorter block (no internal padding).
// Options: block (64), random_blocks (3), window_blocks (3, odd), global_blocks (block indices,
// negative from the end, default [0, -1]; indices outside a length's blocks are ignored), style
// ("paper", or "lra": random blocks only among the first 1024 positions, LRA's and HF's last_idx).
#include <algorithm>
#include <cstdlib>

#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "core/rng.h"

namespace xb {

BlockPattern bigbird_pattern(int T, int H, const BigBirdOptions& o) {
    const int nb = (T + o.block - 1) / o.block;
    std::vector<char> global(nb, 0);
    for (int g : o.global_blocks) {
        const int idx = g < 0 ? nb + g : g;
        if (idx >= 0 && idx < nb) global[idx] = 1;
    }
    std::vector<KeyRange> global_keys;
    for (int kb = 0; kb < nb; ++kb)
        if (global[kb]) global_keys.push_back({kb * o.block, (kb + 1) * o.block});
    // LRA / HF draw random blocks only among the first min(T, 1024) positions.
    const int random_end = o.lra_random_range ? std::max(1, std::min(nb, 1024 / o.block)) : nb;
    const int half = o.window_blocks / 2;
    PatternBuilder builder(o.block, -1, true);
    std::vector<int> candidates;
    for (int h = 0; h < H; ++h) {
        Rng rng(mix64(o.seed ^ 0xb16b1dULL), uint64_t(o.layer) * 4096 + uint64_t(h));
        for (int qb = 0; qb < nb; ++qb) {
            if (global[qb]) {
                builder.add_block({{0, T}}, {}, T);
                continue;
            }
            std::vector<KeyRange> keys = global_keys;
            keys.push_back({(qb - half) * o.block, (qb + half + 1) * o.block});
            candidates.clear();
            for (int kb = 0; kb < random_end; ++kb)
                if (!global[kb] && std::abs(kb - qb) > half) candidates.push_back(kb);
            // A partial Fisher-Yates shuffle: the first r candidates are a uniform sample.
            const int r = std::min<int>(o.random_blocks, int(candidates.size()));
            for (int i = 0; i < r; ++i) {
                std::swap(candidates[i],
                          candidates[rng.uniform_int(i, int64_t(candidates.size()) - 1)]);
                keys.push_back({candidates[i] * o.block, (candidates[i] + 1) * o.block});
            }
            builder.add_block({}, std::move(keys), T);
        }
    }
    return builder.finish();
}

// The pattern changes the time, not the memory: the same tensors as `full`.
MixerFootprint bigbird_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return block_attention_mixer_footprint(spec, shape);
}

std::unique_ptr<Mixer> make_bigbird_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    BigBirdOptions o;
    o.block = opts.get_int_at_least("block", 64, 1);
    o.random_blocks = opts.get_int_at_least("random_blocks", 3, 0);
    o.window_blocks = opts.get_int_at_least("window_blocks", 3, 1);
    if (o.window_blocks % 2 == 0)
        throw ConfigError(fmt::format("{}={}: must be odd (a window centred on the query block)",
                                      opts.key_path("window_blocks"), o.window_blocks));
    o.global_blocks = opts.get_int_list("global_blocks", {0, -1});
    o.lra_random_range = opts.get_choice("style", "paper", {"paper", "lra"}) == "lra";
    opts.finish();
    o.seed = spec.seed;
    o.layer = spec.layer;
    return make_pattern_mixer(spec, params, [o](int T, int H) { return bigbird_pattern(T, H, o); });
}

}  // namespace xb
