// The segment-recurrence mixer of `xl` and `compressive` (segment_recurrence.h).
#include "attention/segment_recurrence.h"

#include <fmt/format.h>

#include <cmath>

#include "config/option_reader.h"
#include "core/rng.h"

namespace xb {

SegmentRecurrenceOptions read_segment_recurrence_options(const MixerSpec& spec, bool compressive) {
    OptionReader opts(spec.options, "model.attention.options");
    SegmentRecurrenceOptions o;
    o.layout.segment = opts.get_int_at_least("segment", 128, 1);
    o.layout.memory = opts.get_int_at_least("memory", 1, 0);
    if (compressive) {
        o.layout.compressed = opts.get_int_at_least("compressed", 1, 1);
        o.layout.rate = opts.get_int_at_least("rate", 4, 1);
        if (o.layout.segment % o.layout.rate != 0)
            throw ConfigError(fmt::format("{}={}: must divide {}={}", opts.key_path("rate"),
                                          o.layout.rate, opts.key_path("segment"),
                                          o.layout.segment));
        o.learned_compression = opts.get_choice("compression", "conv", {"conv", "mean"}) == "conv";
    }
    opts.finish();
    return o;
}

Tensor relative_position_table(const SegmentLayout& layout, int64_t C) {
    const int64_t R = layout.offsets(), half = C / 2;
    Tensor t = Tensor::zeros({R, C});
    for (int64_t o = 0; o < R; ++o) {
        const double offset = double(o - (layout.segment - 1));
        for (int64_t k = 0; k < half; ++k) {
            const double f = std::pow(10000.0, -2.0 * double(k) / double(C));
            t.data()[o * C + k] = float(std::sin(offset * f));
            t.data()[o * C + half + k] = float(std::cos(offset * f));
        }
    }
    return t;
}

SegmentRecurrenceMixer::SegmentRecurrenceMixer(const MixerSpec& spec, ParameterStore& params,
                                               const SegmentRecurrenceOptions& options)
    : heads_(spec.heads),
      layer_(spec.layer),
      dropout_(spec.attention_dropout),
      o_(options),
      proj_(spec, params, "attention") {
    const int64_t C = spec.dim, c = o_.layout.rate;
    // u, v as kimiyoung's r_w_bias, r_r_bias (normal, std 0.02); W_r as the other projections.
    u_ = params.normal(spec.prefix + "xl.u", {C}, 0.02f, false);
    v_ = params.normal(spec.prefix + "xl.v", {C}, 0.02f, false);
    w_r_ = params.xavier(spec.prefix + "xl.r.weight", C, C);
    r_table_ = make_var(relative_position_table(o_.layout, C));
    if (o_.layout.compressed == 0) return;
    if (o_.learned_compression) {
        // As a flax Conv (lecun_normal over the c·C inputs of a window).
        w_c_ = params.normal(spec.prefix + "compress.weight", {C, c * C},
                             1.0f / std::sqrt(float(c * C)), true);
        b_c_ = params.constant(spec.prefix + "compress.bias", {C}, 0.0f);
    } else {
        Tensor w = Tensor::zeros({C, c * C});
        for (int64_t i = 0; i < c; ++i)
            for (int64_t ch = 0; ch < C; ++ch) w.data()[ch * c * C + i * C + ch] = 1.0f / float(c);
        w_c_ = make_var(w);
    }
}

Var SegmentRecurrenceMixer::forward(const Var& x, const MixContext& ctx) {
    const int64_t B = x->value.dim(0), T = x->value.dim(1), C = x->value.dim(2);
    const SegmentLayout& lay = o_.layout;
    const int64_t S = lay.segment, N = (T + S - 1) / S;
    Var q = linear(x, proj_.w_q, proj_.b_q);     // (B, T, C)
    Var kv = linear(x, proj_.w_kv, proj_.b_kv);  // (B, T, 2C)
    // The memory: the same layer input without its gradient (SG in Dai et al. eq. 1); its keys
    // and values still train W_kv. With one segment nothing is read from it.
    const Var stopped = make_var(x->value);
    const bool reads_memory = lay.memory > 0 && N > 1;
    Var kvm = reads_memory ? linear(stopped, proj_.w_kv, proj_.b_kv) : kv;
    Var kvc;
    if (lay.compressed > 0 && N > lay.memory + 1) {
        // Slot w compresses positions [w·c, (w+1)·c) of the stopped input; only the segments at
        // least memory + 1 before the last one are ever read.
        const int64_t c = lay.rate, Tc = (N - 1 - lay.memory) * (S / c);
        std::vector<int64_t> src(size_t(B * Tc * c));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < Tc * c; ++t) src[size_t(b * Tc * c + t)] = b * T + t;
        Var windows = gather_rows(stopped, std::move(src), {B, Tc, c * C});
        kvc = linear(linear(windows, w_c_, b_c_), proj_.w_kv, proj_.b_kv);  // (B, Tc, 2C)
    }
    Var rk = linear(r_table_, w_r_, nullptr);  // (offsets, C)
    const float p = ctx.training ? dropout_ : 0.0f;
    const uint64_t seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer_)));
    Var o = segment_attention(q, kv, kvm, kvc, u_, v_, rk, heads_, lay, *ctx.lengths,
                              1.0f / std::sqrt(float(C / heads_)), p, seed);
    return linear(o, proj_.w_out, proj_.b_out);
}

MixerFootprint segment_recurrence_footprint(const MixerSpec& spec, const MixerShape& shape,
                                            const SegmentRecurrenceOptions& options) {
    const SegmentLayout& lay = options.layout;
    const double C = spec.dim, B = shape.B, T = shape.T, A = B * T * C, S = lay.segment;
    const double N = std::ceil(T / S), R = double(lay.offsets());
    const double memory = lay.memory > 0 && N > 1 ? 2 * A : 0;
    const double c = lay.rate;
    const double Tc = lay.compressed > 0 && N > lay.memory + 1 ? (N - 1 - lay.memory) * (S / c) : 0;
    // Windows, the compressed rows and their keys and values.
    const double compressed = B * Tc * (c * C + C + 2 * C);
    MixerFootprint f;
    f.params = CrossProjections::parameters(spec) + 2 * C + C * C +
               (lay.compressed > 0 && options.learned_compression ? c * C * C + C : 0);
    // q, kv, the memory's kv, rk, the attention output and its lse, the output projection.
    f.saved = 3 * A + memory + compressed + R * C + A + B * T * spec.heads + A;
    // The gradients of o, q, kv and the memory's kv, then the compressed rows' gradients (the
    // op's per-thread tiles and per-example sums are plain vectors, not tensors).
    f.backward = A + 3 * A + memory + compressed;
    return f;
}

}  // namespace xb
