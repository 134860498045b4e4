// Pattern attention kernel, the pattern builder and the shared block attention op
// (pattern_attention.h).
#include "attention/pattern_attention.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/rng.h"

namespace xb {

Var block_attention_op(const Var& qkv, int heads, const MixContext& ctx, float dropout, int layer,
                       std::shared_ptr<const BlockPattern> pattern) {
    const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
    const AttentionDims dims{int(B), int(T), heads, int(C / heads)};
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(dims.D));
    p.dropout_p = ctx.training ? dropout : 0.0f;
    p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer)));
    Var out = make_var(Tensor::empty({B, T, C}));
    Tensor lse = Tensor::empty({B, heads, T});
    const float* q = qkv->value.data();
    block_attention_forward(out->value.data(), int(C), lse.data(), q, q + C, q + 2 * C, int(3 * C),
                            ctx.lengths->data(), dims, p, pattern.get());
    if (needs_grad({&qkv})) {
        out->requires_grad = true;
        std::vector<int32_t> lens(*ctx.lengths);
        tape().push(
            [=] {
                bool accumulate = false;
                float* d = qkv->grad_target(&accumulate);
                const float* qq = qkv->value.data();
                block_attention_backward(d, d + C, d + 2 * C, int(3 * C), out->grad.data(), int(C),
                                         out->value.data(), lse.data(), qq, qq + C, qq + 2 * C,
                                         int(3 * C), lens.data(), dims, p, pattern.get(), nullptr,
                                         !accumulate);
            },
            {out});
    }
    return out;
}

std::vector<KeyRange> merge_ranges(std::vector<KeyRange> ranges, int T) {
    for (auto& [b, e] : ranges) b = std::max(b, 0), e = std::min(e, T);
    std::sort(ranges.begin(), ranges.end());
    std::vector<KeyRange> out;
    for (const auto& [b, e] : ranges) {
        if (b >= e) continue;
        if (!out.empty() && b <= out.back().second)
            out.back().second = std::max(out.back().second, e);
        else
            out.push_back({b, e});
    }
    return out;
}

PatternBuilder::PatternBuilder(int query_block, int band, bool per_head,
                               std::vector<int32_t> block_starts) {
    pattern_.query_block = query_block;
    pattern_.band = band;
    pattern_.per_head = per_head;
    pattern_.block_starts = std::move(block_starts);
    pattern_.offsets.push_back(0);
}

void PatternBuilder::add_block(std::vector<KeyRange> banded, std::vector<KeyRange> exempt, int T) {
    exempt = merge_ranges(std::move(exempt), T);
    std::vector<std::pair<KeyRange, uint8_t>> all;
    for (const KeyRange& r : exempt) all.push_back({r, 1});
    // Banded keys that are also exempt are exempt (the union): cut the exempt ranges out.
    for (KeyRange r : merge_ranges(std::move(banded), T)) {
        for (const KeyRange& x : exempt) {
            if (x.second <= r.first || x.first >= r.second) continue;
            if (x.first > r.first) all.push_back({{r.first, x.first}, 0});
            r.first = std::max(r.first, x.second);
        }
        if (r.first < r.second) all.push_back({r, 0});
    }
    std::sort(all.begin(), all.end());
    for (const auto& [r, is_exempt] : all) {
        pattern_.ranges.push_back(r);
        pattern_.band_exempt.push_back(is_exempt);
    }
    pattern_.offsets.push_back(int32_t(pattern_.ranges.size()));
}

BlockPattern PatternBuilder::finish() {
    // No exempt range, or no band: the exemption flags carry no information.
    if (pattern_.band < 0 || std::none_of(pattern_.band_exempt.begin(), pattern_.band_exempt.end(),
                                          [](uint8_t e) { return e != 0; }))
        pattern_.band_exempt.clear();
    return std::move(pattern_);
}

Var PatternAttention::attend(const Var& qkv, int heads, const MixContext& ctx) {
    const int T = int(qkv->value.dim(1));
    auto& cached = cache_[{T, heads}];
    if (!cached) {
        cached = std::make_shared<const BlockPattern>(make_(T, heads));
        check_block_pattern(*cached, T, heads);
    }
    return block_attention_op(qkv, heads, ctx, dropout_, layer_, cached);
}

// Reads `window` (positive, even) and returns the one-sided band window/2.
int read_half_window(OptionReader& opts, int def) {
    const int window = opts.get_int_at_least("window", def, 2);
    if (window % 2 != 0)
        throw ConfigError(
            fmt::format("{}={}: must be even (the window is window/2 keys on each "
                        "side of the query)",
                        opts.key_path("window"), window));
    return window / 2;
}

std::unique_ptr<Mixer> make_pattern_mixer(const MixerSpec& spec, ParameterStore& params,
                                          PatternAttention::Factory make) {
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<PatternAttention>(spec.attention_dropout, spec.layer, std::move(make)));
}

}  // namespace xb
