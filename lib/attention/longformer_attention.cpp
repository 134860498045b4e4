// `longformer`: sliding window + global tokens (Beltagy et al. 2020; xformers.md 1.4). Every
// query attends to keys with |i - j| <= window/2 and to every global position; global queries
// attend to all keys (global attention is symmetric). Global rows are query blocks of their own
// (BlockPattern::block_starts) with the whole key range; global columns are band-exempt ranges
// next to each block's banded window. With global_projections (the paper's and LRA's choice),
// global rows use their own Q, K, V projection: two kernel calls over disjoint rows (window rows
// with the local projection, global rows with the global one) whose outputs add. O(T·(window +
// G)·D) time for G global positions; backward saves the row lse (B, H, T) of each call. Exact
// (equal to `full`) without global projections when window/2 >= T - 1 or every position is
// global. Not implemented: dilation (neither HF nor LRA has it).
// Options: window (512, LRA/HF), global_tokens (positions, default [0]: the first token, the CLS
// token with CLS pooling), global_first (g: positions 0..g-1 are global too, default 0),
// global_projections (true). Positions >= T are ignored for that length.
#include <algorithm>

#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "ops/ops.h"

namespace xb {

// The longformer pattern for length T: global runs of consecutive positions become query
// blocks; the other rows are cut into blocks of up to 64 aligned to multiples of 64.
BlockPattern longformer_pattern(int T, int band, const std::vector<int>& global_positions,
                                LongformerRows rows) {
    std::vector<char> global(T, 0);
    for (int g : global_positions)
        if (g < T) global[g] = 1;
    std::vector<KeyRange> global_runs;
    for (int i = 0; i < T; ++i) {
        if (!global[i]) continue;
        if (!global_runs.empty() && global_runs.back().second == i)
            ++global_runs.back().second;
        else
            global_runs.push_back({i, i + 1});
    }
    constexpr int kQueryBlock = 64;
    std::vector<int32_t> starts{0};
    for (int i = 1; i < T; ++i)
        if (global[i] != global[i - 1] || (!global[i] && i % kQueryBlock == 0)) starts.push_back(i);
    starts.push_back(T);
    const std::vector<int32_t> block_starts = starts;
    PatternBuilder builder(kQueryBlock, band, false, std::move(starts));
    for (size_t qb = 0; qb + 1 < block_starts.size(); ++qb) {
        const int s = block_starts[qb], e = block_starts[qb + 1];
        if (global[s])
            builder.add_block({},
                              rows != LongformerRows::kWindow ? std::vector<KeyRange>{{0, T}}
                                                              : std::vector<KeyRange>{},
                              T);
        else if (rows != LongformerRows::kGlobal)
            builder.add_block({{s - band, e + band}}, global_runs, T);
        else
            builder.add_block({}, {}, T);
    }
    return builder.finish();
}

namespace {

// Window rows attend through the local projection, global rows through their own.
class LongformerMixer : public Mixer {
  public:
    LongformerMixer(const MixerSpec& spec, ParameterStore& params, int band,
                    const std::vector<int>& global)
        : heads_(spec.heads),
          window_rows_(spec.attention_dropout, spec.layer,
                       [=](int T, int) {
                           return longformer_pattern(T, band, global, LongformerRows::kWindow);
                       }),
          global_rows_(spec.attention_dropout, spec.layer, [=](int T, int) {
              return longformer_pattern(T, band, global, LongformerRows::kGlobal);
          }) {
        const std::string& p = spec.prefix;
        const int64_t C = spec.dim;
        w_qkv_ = params.xavier(p + "qkv.weight", 3 * C, C);
        b_qkv_ = params.constant(p + "qkv.bias", {3 * C}, 0.0f);
        w_qkv_global_ = params.xavier(p + "qkv_global.weight", 3 * C, C);
        b_qkv_global_ = params.constant(p + "qkv_global.bias", {3 * C}, 0.0f);
        w_out_ = params.xavier(p + "out.weight", C, C);
        b_out_ = params.constant(p + "out.bias", {C}, 0.0f);
    }

    // x (B, T, C) -> (B, T, C)
    Var forward(const Var& x, const MixContext& ctx) override {
        Var o = window_rows_.attend(linear(x, w_qkv_, b_qkv_), heads_, ctx);  // global rows 0
        Var og = global_rows_.attend(linear(x, w_qkv_global_, b_qkv_global_), heads_, ctx);
        return linear(add(o, og), w_out_, b_out_);
    }

  private:
    int heads_;
    PatternAttention window_rows_, global_rows_;
    Var w_qkv_, b_qkv_, w_qkv_global_, b_qkv_global_, w_out_, b_out_;
};

}  // namespace

namespace {

struct LongformerOptions {
    int band;
    std::vector<int> global;
    bool global_projections;
};

LongformerOptions read_longformer_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    const int band = read_half_window(opts, 512);
    std::vector<int> global = opts.get_int_list("global_tokens", {0});
    for (int g : global)
        if (g < 0)
            throw ConfigError(
                fmt::format("{}: position {} is negative", opts.key_path("global_tokens"), g));
    const int first = opts.get_int_at_least("global_first", 0, 0);
    const bool global_projections = opts.get_bool("global_projections", true);
    opts.finish();
    for (int g = 0; g < first; ++g) global.push_back(g);
    return {band, global, global_projections};
}

}  // namespace

// With global projections: a second QKV projection and kernel call, and the sum of the two.
MixerFootprint longformer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    if (!read_longformer_options(spec).global_projections)
        return block_attention_mixer_footprint(spec, shape);
    const double C = spec.dim;
    return block_attention_mixer_footprint(spec, shape, 2, 3 * C * C + 3 * C,
                                           3 * shape.B * shape.T * C);
}

std::unique_ptr<Mixer> make_longformer_mixer(const MixerSpec& spec, ParameterStore& params) {
    const LongformerOptions o = read_longformer_options(spec);
    const int band = o.band;
    const std::vector<int> global = o.global;
    if (o.global_projections) return std::make_unique<LongformerMixer>(spec, params, band, global);
    return make_pattern_mixer(spec, params, [band, global](int T, int) {
        return longformer_pattern(T, band, global, LongformerRows::kAll);
    });
}

}  // namespace xb
