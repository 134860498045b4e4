// The strided half of the Sparse Transformer's strided pattern (Child et al. 2019), non-causal:
// query i attends to keys j with (i - j) mod l = 0, for the odd heads only (split mode; the even
// heads get the local half from a band pattern in sparse_attention.cpp). The rows of one residue
// class c = i mod l are a strided view of the (B, T, ·) buffers (row stride l·ld), so the fused
// kernel runs once per (batch row, residue) on that view with all keys of the class, and the
// even heads an empty key set. O(T·(T/l)·D) time; backward saves the row lse (B, l, H, ⌈T/l⌉).
#include <algorithm>
#include <cmath>
#include <map>

#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "core/rng.h"

namespace xb {

namespace {

// Kernel arguments of one (batch row b, residue c) call on the strided view.
struct ResidueCall {
    size_t row;     // offset of (b, c, ·) in rows of the (B, T, ·) buffers
    int T, length;  // rows of the class, valid rows of the class
    size_t lse;     // offset of its (H, T) lse block
};

std::vector<ResidueCall> residue_calls(const std::vector<int32_t>& lengths, int T, int H, int l) {
    std::vector<ResidueCall> calls;
    const int rows_max = (T + l - 1) / l;
    for (int b = 0; b < int(lengths.size()); ++b)
        for (int c = 0; c < std::min(l, T); ++c) {
            const int rows = (T - c + l - 1) / l;
            const int valid = lengths[b] > c ? (lengths[b] - c + l - 1) / l : 0;
            calls.push_back(
                {size_t(b) * T + c, rows, valid, (size_t(b) * l + c) * size_t(H) * rows_max});
        }
    return calls;
}

}  // namespace

BlockPattern strided_heads_pattern(int T, int H) {
    PatternBuilder builder(std::max(T, 1), -1, true);
    for (int h = 0; h < H; ++h)
        builder.add_block({}, h % 2 == 1 ? std::vector<KeyRange>{{0, T}} : std::vector<KeyRange>{},
                          T);
    return builder.finish();
}

Var strided_attention_op(const Var& qkv, int heads, const MixContext& ctx, float dropout, int layer,
                         int stride) {
    const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
    const int D = int(C / heads), l = stride;
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(D));
    p.dropout_p = ctx.training ? dropout : 0.0f;
    p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer) + 7919));
    const std::vector<ResidueCall> calls = residue_calls(*ctx.lengths, int(T), heads, l);
    // One pattern per class length (there are at most two).
    std::map<int, std::shared_ptr<const BlockPattern>> patterns;
    for (const ResidueCall& rc : calls)
        if (!patterns.count(rc.T))
            patterns[rc.T] =
                std::make_shared<const BlockPattern>(strided_heads_pattern(rc.T, heads));
    Var out = make_var(Tensor::empty({B, T, C}));
    Tensor lse = Tensor::empty({B * l * heads * ((T + l - 1) / l)});
    const float* q = qkv->value.data();
    // Dropout masks are a function of (seed, 0, h, row in class, key in class): a seed per
    // (b, c) keeps the classes' masks independent.
    const auto call_params = [p](const ResidueCall& rc) {
        AttentionParams pc = p;
        pc.dropout_seed = mix64(p.dropout_seed + rc.row);
        return pc;
    };
    for (const ResidueCall& rc : calls) {
        const AttentionDims dims{1, rc.T, heads, D};
        const float* qr = q + rc.row * 3 * C;
        block_attention_forward(out->value.data() + rc.row * C, int(l * C), lse.data() + rc.lse, qr,
                                qr + C, qr + 2 * C, int(l * 3 * C), &rc.length, dims,
                                call_params(rc), patterns.at(rc.T).get());
    }
    if (needs_grad({&qkv})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                float* d = qkv->grad_buffer().data();
                const float* qq = qkv->value.data();
                for (const ResidueCall& rc : calls) {
                    const AttentionDims dims{1, rc.T, heads, D};
                    const float* qr = qq + rc.row * 3 * C;
                    float* dr = d + rc.row * 3 * C;
                    block_attention_backward(dr, dr + C, dr + 2 * C, int(l * 3 * C),
                                             out->grad.data() + rc.row * C, int(l * C),
                                             out->value.data() + rc.row * C, lse.data() + rc.lse,
                                             qr, qr + C, qr + 2 * C, int(l * 3 * C), &rc.length,
                                             dims, call_params(rc), patterns.at(rc.T).get());
                }
            },
            {out});
    }
    return out;
}

}  // namespace xb
