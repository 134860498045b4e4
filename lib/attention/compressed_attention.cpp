// `compressed`: memory-compressed attention (Liu et al. 2018, "Generating Wikipedia by
// Summarizing Long Sequences" §4.2.2). Keys and values are shortened by a learned strided
// convolution with kernel = stride = c along the sequence (one for K, one for V), then every
// query attends to the T/c compressed keys through the fused kernel (cross_attention.h).
// Time O(B·H·T·(T/c)·D) — quadratic with a c-fold smaller constant — memory O(B·T·C): no
// probability matrix is kept; backward recomputes it from the row log-sum-exp. A compressed
// key covers positions [j·c, (j+1)·c); padded positions enter its convolution as zeros and a
// key with no valid position is masked. Exact in the limit c = 1 with identity convolutions.
#include <cmath>

#include "attention/cross_attention.h"
#include "ops/ops.h"

namespace xb {

namespace {

class CompressedMixer : public Mixer {
  public:
    CompressedMixer(const MixerSpec& spec, ParameterStore& params, int c)
        : heads_(spec.heads),
          layer_(spec.layer),
          c_(c),
          dropout_(spec.attention_dropout),
          proj_(spec, params, "attention") {
        const int64_t C = spec.dim;
        // As a flax Conv (lecun_normal over the c·C inputs of a window).
        const float stddev = 1.0f / std::sqrt(float(c * C));
        w_k_ = params.normal(spec.prefix + "compress.k.weight", {C, c * C}, stddev, true);
        b_k_ = params.constant(spec.prefix + "compress.k.bias", {C}, 0.0f);
        w_v_ = params.normal(spec.prefix + "compress.v.weight", {C, c * C}, stddev, true);
        b_v_ = params.constant(spec.prefix + "compress.v.bias", {C}, 0.0f);
    }

    Var forward(const Var& x, const MixContext& ctx) override {
        const std::vector<int32_t>& lengths = *ctx.lengths;
        const int64_t B = x->value.dim(0), T = x->value.dim(1), C = x->value.dim(2);
        const int64_t Tk = (T + c_ - 1) / c_;
        Var q = linear(x, proj_.w_q, proj_.b_q);     // (B, T, C)
        Var kv = linear(x, proj_.w_kv, proj_.b_kv);  // (B, T, 2C)
        // Window j of row b: positions j·c .. j·c + c - 1, padded ones as zeros.
        std::vector<int64_t> src(static_cast<size_t>(B * Tk * c_));
        std::vector<int32_t> key_lengths(static_cast<size_t>(B));
        for (int64_t b = 0; b < B; ++b) {
            key_lengths[size_t(b)] = int32_t((lengths[size_t(b)] + c_ - 1) / c_);
            for (int64_t t = 0; t < Tk * c_; ++t)
                src[size_t(b * Tk * c_ + t)] = t < lengths[size_t(b)] ? b * T + t : -1;
        }
        const Shape windows{B, Tk, c_ * C};
        Var k = linear(gather_rows(kv, src, windows, 0, C), w_k_, b_k_);      // (B, Tk, C)
        Var v = linear(gather_rows(kv, src, windows, C, 2 * C), w_v_, b_v_);  // (B, Tk, C)
        Var o = cross_attention(q, concat_last({k, v}), heads_, lengths, key_lengths, ctx, dropout_,
                                layer_, 0);  // (B, T, C)
        return linear(o, proj_.w_out, proj_.b_out);
    }

  private:
    int heads_, layer_;
    int64_t c_;
    float dropout_;
    CrossProjections proj_;
    Var w_k_, b_k_, w_v_, b_v_;  // (C, c·C), (C): the strided convolutions as matrices
};

int read_compression(const MixerSpec& spec) { return read_single_positive_option(spec, "c", 32); }

}  // namespace

MixerFootprint compressed_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const double c = read_compression(spec), C = spec.dim, B = shape.B, T = shape.T;
    const double Tk = std::ceil(T / c), A = B * T * C, K = B * Tk * C;
    MixerFootprint f;
    f.params = CrossProjections::parameters(spec) + 2 * (c * C * C + C);
    // q, kv, the two gathered windows, k, v and their concatenation, the attention, the output.
    f.saved = 3 * A + 2 * c * K + 4 * K + cross_attention_saved(spec, B, T, Tk) + A;
    // The attention's backward beside d o and d kv, then the windows' and k, v's gradients.
    f.backward = std::max(cross_attention_backward(spec, B, T, Tk, shape.threads) + 2 * K,
                          2 * c * K + 4 * K) +
                 3 * A;
    return f;
}

std::unique_ptr<Mixer> make_compressed_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<CompressedMixer>(spec, params, read_compression(spec));
}

}  // namespace xb
