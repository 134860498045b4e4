// Attention whose keys are another sequence than its queries (memory-compressed keys, inducing
// points, Luna's packed sequence), through the fused block attention kernel with separate key
// lengths: O(B·H·Tq·Tk·D) time, O(B·(Tq + Tk)·C) memory, no Tq×Tk matrix. Also the projections
// of such an attention (query, fused key-value and output) as one parameter set.
#pragma once
#include <string>
#include <vector>

#include "attention/mixer.h"

namespace xb {

// q (B, Tq, C), kv (B, Tk, 2C) holding keys then values -> (B, Tq, C). Query rows
// t >= query_lengths[b] output 0; keys t >= key_lengths[b] are never attended (a row with no
// key outputs 0). Attention dropout p on the probabilities during training, its mask keyed by
// (run seed, step, layer, use). Saves q and kv in one (B, max(Tq, Tk), 3C) buffer, the output
// and the row log-sum-exp.
Var cross_attention(const Var& q, const Var& kv, int heads,
                    const std::vector<int32_t>& query_lengths,
                    const std::vector<int32_t>& key_lengths, const MixContext& ctx, float dropout,
                    int layer, uint64_t use);

// Floats cross_attention keeps for backward (its output included) and its backward's most
// (gradient buffer and kernel scratch) for B rows, Tq queries, Tk keys.
double cross_attention_saved(const MixerSpec& spec, double B, double Tq, double Tk);
double cross_attention_backward(const MixerSpec& spec, double B, double Tq, double Tk, int threads);

// Query (C, C), key-value (2C, C) and output (C, C) projections with biases, named
// prefix + name + ".q.weight" etc.
struct CrossProjections {
    Var w_q, b_q, w_kv, b_kv, w_out, b_out;
    CrossProjections(const MixerSpec& spec, ParameterStore& params, const std::string& name);
    static double parameters(const MixerSpec& spec) {
        const double C = spec.dim;
        return 4 * C * C + 4 * C;
    }
};

// Multi-head attention of `queries` (B, Tq, C) over `context` (B, Tk, C) with projections p:
// out(cross_attention(q(queries), kv(context))) -> (B, Tq, C).
Var multihead_attention(const CrossProjections& p, const Var& queries, const Var& context,
                        int heads, const std::vector<int32_t>& query_lengths,
                        const std::vector<int32_t>& key_lengths, const MixContext& ctx,
                        float dropout, int layer, uint64_t use);
// Floats multihead_attention keeps for backward (projections included) and its backward's most.
double multihead_attention_saved(const MixerSpec& spec, double B, double Tq, double Tk);
double multihead_attention_backward(const MixerSpec& spec, double B, double Tq, double Tk,
                                    int threads);

// A learned (R, C) sequence repeated for B batch rows -> (B, R, C).
Var repeat_rows(const Var& x, int64_t B);

// The footprint of a mixer that attends from R rows (learned or carried) to the sequence and
// back (isab, luna): two multihead attentions, the (B, R, C) rows, their residual sum and layer
// norm, R·C parameters of its own besides the two projection sets and the norm.
MixerFootprint rows_and_back_footprint(const MixerSpec& spec, const MixerShape& shape, double R);

// The one option of a variant with a single positive integer option `key` (default def), read
// strictly from model.attention.options.
int read_single_positive_option(const MixerSpec& spec, const char* key, int def);

}  // namespace xb
