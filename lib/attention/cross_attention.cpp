// Cross attention through the fused kernel (cross_attention.h).
#include "attention/cross_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attention/block_attention.h"
#include "config/option_reader.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

namespace {

// buf (B, T, 3C) rows t < Tq hold q in [0, C), rows t < Tk hold kv in [C, 3C); the rest 0.
void pack_cross(float* buf, const float* q, const float* kv, int64_t B, int64_t T, int64_t Tq,
                int64_t Tk, int64_t C) {
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < B * T; ++bt) {
        const int64_t b = bt / T, t = bt % T;
        float* row = buf + bt * 3 * C;
        if (t < Tq)
            std::memcpy(row, q + (b * Tq + t) * C, sizeof(float) * C);
        else
            std::fill(row, row + C, 0.0f);
        if (t < Tk)
            std::memcpy(row + C, kv + (b * Tk + t) * 2 * C, sizeof(float) * 2 * C);
        else
            std::fill(row + C, row + 3 * C, 0.0f);
    }
}

}  // namespace

Var cross_attention(const Var& q, const Var& kv, int heads,
                    const std::vector<int32_t>& query_lengths,
                    const std::vector<int32_t>& key_lengths, const MixContext& ctx, float dropout,
                    int layer, uint64_t use) {
    const int64_t B = q->value.dim(0), Tq = q->value.dim(1), C = q->value.dim(2);
    const int64_t Tk = kv->value.dim(1), T = std::max(Tq, Tk);
    XB_CHECK(kv->value.dim(0) == B && kv->value.dim(2) == 2 * C && C % heads == 0 &&
                 int64_t(query_lengths.size()) == B && int64_t(key_lengths.size()) == B,
             "cross_attention: q {} kv {} heads {} lengths {} {}", q->value.shape(),
             kv->value.shape(), heads, query_lengths.size(), key_lengths.size());
    for (int64_t b = 0; b < B; ++b)
        XB_CHECK(query_lengths[b] <= Tq && key_lengths[b] <= Tk,
                 "cross_attention: row {} has {} queries of {}, {} keys of {}", b, query_lengths[b],
                 Tq, key_lengths[b], Tk);
    const AttentionDims dims{int(B), int(T), heads, int(C / heads)};
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(dims.D));
    p.dropout_p = ctx.training ? dropout : 0.0f;
    p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer))) ^ use;
    Tensor buf = Tensor::empty({B, T, 3 * C});
    pack_cross(buf.data(), q->value.data(), kv->value.data(), B, T, Tq, Tk, C);
    Tensor out_full = Tensor::empty({B, T, C}), lse = Tensor::empty({B, heads, T});
    const float* bq = buf.data();
    block_attention_forward(out_full.data(), int(C), lse.data(), bq, bq + C, bq + 2 * C, int(3 * C),
                            query_lengths.data(), dims, p, nullptr, key_lengths.data());
    // Tq < T (fewer queries than keys): the output is the leading Tq rows.
    Var out = make_var(Tq == T ? out_full : Tensor::empty({B, Tq, C}));
    if (Tq < T)
        for (int64_t b = 0; b < B; ++b)
            std::memcpy(out->value.data() + b * Tq * C, out_full.data() + b * T * C,
                        sizeof(float) * Tq * C);
    if (needs_grad({&q, &kv})) {
        out->requires_grad = true;
        std::vector<int32_t> qlen(query_lengths), klen(key_lengths);
        tape().push(
            [=] {
                Tensor dout = out->grad;
                if (Tq < T) {  // back to the kernel's (B, T, C) layout
                    dout = Tensor::zeros({B, T, C});
                    for (int64_t b = 0; b < B; ++b)
                        std::memcpy(dout.data() + b * T * C, out->grad.data() + b * Tq * C,
                                    sizeof(float) * Tq * C);
                }
                Tensor g = Tensor::empty({B, T, 3 * C});  // overwritten whole
                float* d = g.data();
                const float* bb = buf.data();
                block_attention_backward(d, d + C, d + 2 * C, int(3 * C), dout.data(), int(C),
                                         out_full.data(), lse.data(), bb, bb + C, bb + 2 * C,
                                         int(3 * C), qlen.data(), dims, p, nullptr, klen.data(),
                                         true);
                float* dq = q->requires_grad ? q->grad_buffer().data() : nullptr;
                float* dkv = kv->requires_grad ? kv->grad_buffer().data() : nullptr;
#pragma omp parallel for schedule(static)
                for (int64_t bt = 0; bt < B * T; ++bt) {
                    const int64_t b = bt / T, t = bt % T;
                    const float* row = d + bt * 3 * C;
                    if (dq && t < Tq)
                        for (int64_t c = 0; c < C; ++c) dq[(b * Tq + t) * C + c] += row[c];
                    if (dkv && t < Tk)
                        for (int64_t c = 0; c < 2 * C; ++c)
                            dkv[(b * Tk + t) * 2 * C + c] += row[C + c];
                }
            },
            {out});
    }
    return out;
}

double cross_attention_saved(const MixerSpec& spec, double B, double Tq, double Tk) {
    const double T = std::max(Tq, Tk), C = spec.dim;
    // buffer, the kernel's output and lse, and the output when it is a copy
    return 3 * B * T * C + B * T * C + B * T * spec.heads + (Tq < T ? B * Tq * C : 0);
}

double cross_attention_backward(const MixerSpec& spec, double B, double Tq, double Tk,
                                int threads) {
    const double T = std::max(Tq, Tk), C = spec.dim;
    return 3 * B * T * C + (Tq < T ? B * T * C : 0) +
           block_attention_scratch(spec, MixerShape{B, T, threads});
}

Var multihead_attention(const CrossProjections& p, const Var& queries, const Var& context,
                        int heads, const std::vector<int32_t>& query_lengths,
                        const std::vector<int32_t>& key_lengths, const MixContext& ctx,
                        float dropout, int layer, uint64_t use) {
    Var q = linear(queries, p.w_q, p.b_q);     // (B, Tq, C)
    Var kv = linear(context, p.w_kv, p.b_kv);  // (B, Tk, 2C)
    Var o = cross_attention(q, kv, heads, query_lengths, key_lengths, ctx, dropout, layer, use);
    return linear(o, p.w_out, p.b_out);
}

double multihead_attention_saved(const MixerSpec& spec, double B, double Tq, double Tk) {
    const double C = spec.dim;
    return B * Tq * C + 2 * B * Tk * C + cross_attention_saved(spec, B, Tq, Tk) + B * Tq * C;
}

double multihead_attention_backward(const MixerSpec& spec, double B, double Tq, double Tk,
                                    int threads) {
    const double C = spec.dim;
    return cross_attention_backward(spec, B, Tq, Tk, threads) + 2 * B * Tq * C + 2 * B * Tk * C;
}

Var repeat_rows(const Var& x, int64_t B) {
    const int64_t R = x->value.dim(0);
    std::vector<int64_t> src(static_cast<size_t>(B * R));
    for (int64_t i = 0; i < B * R; ++i) src[size_t(i)] = i % R;
    return gather_rows(x, std::move(src), {B, R, x->value.dim(1)});
}

MixerFootprint rows_and_back_footprint(const MixerSpec& spec, const MixerShape& shape, double R) {
    const double C = spec.dim, B = shape.B, T = shape.T, M = B * R * C;
    MixerFootprint f;
    f.params = 2 * CrossProjections::parameters(spec) + R * C + 2 * C;
    // The rows, the attention to the sequence, the residual sum, its layer norm (with mean and
    // rstd), the attention back.
    f.saved = M + multihead_attention_saved(spec, B, R, T) + M + (M + 2 * B * R) +
              multihead_attention_saved(spec, B, T, R);
    f.backward = std::max(multihead_attention_backward(spec, B, T, R, shape.threads),
                          multihead_attention_backward(spec, B, R, T, shape.threads)) +
                 3 * M;
    return f;
}

int read_single_positive_option(const MixerSpec& spec, const char* key, int def) {
    OptionReader opts(spec.options, "model.attention.options");
    const int value = opts.get_int_at_least(key, def, 1);
    opts.finish();
    return value;
}

CrossProjections::CrossProjections(const MixerSpec& spec, ParameterStore& params,
                                   const std::string& name) {
    const std::string p = spec.prefix + name + ".";
    const int64_t C = spec.dim;
    w_q = params.xavier(p + "q.weight", C, C);
    b_q = params.constant(p + "q.bias", {C}, 0.0f);
    w_kv = params.xavier(p + "kv.weight", 2 * C, C);
    b_kv = params.constant(p + "kv.bias", {2 * C}, 0.0f);
    w_out = params.xavier(p + "out.weight", C, C);
    b_out = params.constant(p + "out.bias", {C}, 0.0f);
}

}  // namespace xb
