// `axial`: axial attention (Ho et al. 2019, "Axial Attention in Multidimensional Transformers").
// The sequence is laid out row-major on a grid of `width` columns (32 for LRA's 32×32 images:
// the default is ⌊√max_len⌋); every position attends along its row, then the row outputs are
// attended along each column with the same queries and keys, so one layer reaches every
// position in two hops. Both passes run the fused kernel (block_attention.h): the row pass in
// place with the local pattern of W-position blocks, the column pass on columns gathered into
// rows: time O(B·H·T·(W + T/W)·D) = O(T√T) at W = √T, memory O(B·T·C). Exact on a 1 × T grid.
#include <algorithm>
#include <cmath>
#include <memory>

#include "attention/block_attention.h"
#include "attention/mixer.h"
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "config/option_reader.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

namespace {

class AxialAttention : public AttentionKernel {
  public:
    AxialAttention(int width, float dropout, int layer)
        : width_(width),
          dropout_(dropout),
          layer_(layer),
          rows_(dropout, layer,
                [width](int T, int) { return local_pattern(T, std::min(width, T)); }) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
        const int64_t W = std::min<int64_t>(width_, T), R = (T + W - 1) / W;
        // Rows are runs of W consecutive positions: the local pattern with blocks of W, in place.
        Var row_out = rows_.attend(qkv, heads, ctx);
        // Column layout (B·W, R, ·): cell (b, w, r) is position r·W + w, or padding past T.
        std::vector<int64_t> col_src(static_cast<size_t>(B * W * R));
        std::vector<int32_t> col_lengths(static_cast<size_t>(B * W));
        for (int64_t b = 0; b < B; ++b) {
            const int64_t len = lengths[size_t(b)];
            for (int64_t w = 0; w < W; ++w) {
                for (int64_t r = 0; r < R; ++r) {
                    const int64_t t = r * W + w;
                    col_src[size_t((b * W + w) * R + r)] = t < T ? b * T + t : -1;
                }
                col_lengths[size_t(b * W + w)] = int32_t(len > w ? (len - w + W - 1) / W : 0);
            }
        }
        // Columns: the same queries and keys, the row outputs as values, gathered in one pass.
        MixContext col_ctx = ctx;
        col_ctx.lengths = &col_lengths;
        col_ctx.seed = mix64(ctx.seed ^ 0xa71a1);  // its own dropout masks
        Var cols = gather_rows({{qkv, 0, 2 * C}, {row_out}}, col_src, {B * W, R, 3 * C});
        Var col_out = block_attention_op(cols, heads, col_ctx, dropout_, layer_, nullptr);
        // Back to sequence order: position t = r·W + w is column cell (b, w, r).
        std::vector<int64_t> back(static_cast<size_t>(B * T));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t) back[size_t(b * T + t)] = (b * W + t % W) * R + t / W;
        return gather_rows(col_out, std::move(back), {B, T, C});
    }

  private:
    int width_;
    float dropout_;
    int layer_;
    PatternAttention rows_;  // the row pass
};

// The grid width: the option, or ⌊√max_len⌋ (32 for a 32×32 image).
int read_axial_width(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    const int def = std::max(1, int(std::floor(std::sqrt(double(spec.max_len)))));
    const int width = opts.get_int_at_least("width", def, 1);
    opts.finish();
    return width;
}

}  // namespace

MixerFootprint axial_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const double W = std::min<double>(read_axial_width(spec), shape.T);
    const double R = std::ceil(shape.T / W), C = spec.dim, A = shape.B * shape.T * C;
    const double G = shape.B * R * W * C;  // a column-grid tensor of C channels
    const double lse_a = shape.B * shape.T * spec.heads, lse_g = shape.B * R * W * spec.heads;
    const double D = C / spec.heads, tile = 64, longest = std::max(W, R);
    const double scratch = double(shape.threads) * ((5 * D + 2 * tile) * tile + 2 * longest * D);
    // Row pass (out, lse), the gathered columns, column pass, the sequence-order output.
    const double saved = (A + lse_a) + 3 * G + (G + lse_g) + A;
    // Backward: d col_out beside d cols, then d cols beside d row_out.
    return attention_mixer_footprint(spec, shape, 0, saved, 4 * G + A + scratch);
}

std::unique_ptr<Mixer> make_axial_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<AxialAttention>(read_axial_width(spec), spec.attention_dropout,
                                         spec.layer));
}

}  // namespace xb
