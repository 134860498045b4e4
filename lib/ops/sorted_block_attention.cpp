// The attention of Sparse Sinkhorn (ops.h own_and_sorted_block_attention): each query block
// attends, with one softmax, to its own block's valid keys and to its sorted block. Per
// (example, group, query block) the scores are two small GEMMs into one (rows, own + sorted)
// tile; forward saves the row log-sum-exp and backward recomputes the tile. Parallel over
// (example, group, query block), which owns every write (its query rows, its own key rows and
// its sorted block), so results do not depend on the thread count. The softmax loops between
// the GEMMs are compiled once per SIMD target and dispatched at run time; the GEMMs are oneDNN's.
#include <algorithm>
#include <cmath>

#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "core/rng.h"
#include "ops/ops.h"

#ifndef XB_OPS_SORTED_BLOCK_ATTENTION_SHARED_
#define XB_OPS_SORTED_BLOCK_ATTENTION_SHARED_
namespace xb {

namespace {

struct SortedAttention {
    int64_t B, G, T, D, block, N;
    float scale, dropout_p;
    uint64_t dropout_seed;
    std::vector<int32_t> lengths;

    // Query block i of (example, group) bg: its first row, valid rows (= own valid keys) and
    // valid sorted slots (slot p holds valid keys iff p < len).
    struct Tile {
        int64_t row0, rows, sorted;
        int64_t keys() const { return rows + sorted; }
    };
    Tile tile(int64_t bg, int64_t i) const {
        const int64_t len = std::min<int64_t>(lengths[size_t(bg / G)], T);
        const int64_t row0 = i * block;
        return {row0, std::clamp<int64_t>(len - row0, 0, std::min(block, T - row0)),
                std::min<int64_t>(block, len)};
    }
    int64_t sorted_offset(int64_t bg, int64_t i) const { return (bg * N + i) * block * D; }
    // Dropout multiplier of (row bg·T + r, key column c): a pure function of the seed.
    float keep(int64_t bg, int64_t r, int64_t c) const {
        if (dropout_p == 0.0f) return 1.0f;
        return random_uniform(dropout_seed, uint64_t(bg * T + r), uint64_t(c)) >= dropout_p
                   ? 1.0f / (1.0f - dropout_p)
                   : 0.0f;
    }
    // s (rows, keys) = scale · Q_tile [K_own; K_sorted]ᵀ
    void scores(float* s, const Tile& t, const float* q, const float* k, const float* ks,
                int64_t bg, int64_t i) const {
        const int64_t n = t.keys(), off = (bg * T + t.row0) * D;
        gemm(false, true, t.rows, t.rows, D, scale, q + off, D, k + off, D, 0.0f, s, n);
        gemm(false, true, t.rows, t.sorted, D, scale, q + off, D, ks + sorted_offset(bg, i), D,
             0.0f, s + t.rows, n);
    }
};

}  // namespace
}  // namespace xb
#endif  // XB_OPS_SORTED_BLOCK_ATTENTION_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/sorted_block_attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// Forward of every tile: out (.., T, D), zero on entry, and the row log-sum-exp lse (B·G, T).
void SortedForward(const SortedAttention& a, const float* q, const float* k, const float* v,
                   const float* ks, const float* vs, float* out, float* lse, bool parallel) {
    const int64_t T = a.T, D = a.D, N = a.N, block = a.block, tiles = a.B * a.G * N,
                  width = 2 * block;
#pragma omp parallel if (parallel)
    {
        std::vector<float> sc(size_t(block * width));
#pragma omp for schedule(static)
        for (int64_t bgi = 0; bgi < tiles; ++bgi) {
            const int64_t bg = bgi / N, i = bgi % N;
            const SortedAttention::Tile t = a.tile(bg, i);
            if (t.rows == 0) continue;
            const int64_t n = t.keys(), off = (bg * T + t.row0) * D;
            a.scores(sc.data(), t, q, k, ks, bg, i);
            for (int64_t r = 0; r < t.rows; ++r) {
                float* row = sc.data() + r * n;
                const float m = MaxOf(row, n), sum = ExpShiftSum(row, n, m);
                lse[bg * T + t.row0 + r] = m + std::log(sum);
                const float inv = 1.0f / sum;
#pragma omp simd
                for (int64_t c = 0; c < n; ++c) row[c] *= inv;
                if (a.dropout_p > 0.0f)  // the dropped probabilities
                    for (int64_t c = 0; c < n; ++c) row[c] *= a.keep(bg, t.row0 + r, c);
            }
            float* o = out + off;
            gemm(false, false, t.rows, D, t.rows, 1.0f, sc.data(), n, v + off, D, 0.0f, o, D);
            gemm(false, false, t.rows, D, t.sorted, 1.0f, sc.data() + t.rows, n,
                 vs + a.sorted_offset(bg, i), D, 1.0f, o, D);
        }
    }
}

// Backward of every tile: adds to each gradient that is not null.
void SortedBackward(const SortedAttention& a, const float* q, const float* k, const float* v,
                    const float* ks, const float* vs, const float* lse, const float* g, float* dq,
                    float* dk, float* dv, float* dks, float* dvs, bool parallel) {
    const int64_t T = a.T, D = a.D, N = a.N, block = a.block, tiles = a.B * a.G * N,
                  width = 2 * block;
    const float scale = a.scale;
    const bool dropout = a.dropout_p > 0.0f;
#pragma omp parallel if (parallel)
    {
        std::vector<float> prob(size_t(block * width)), dropped(dropout ? prob.size() : 0),
            dprob(prob.size());
#pragma omp for schedule(static)
        for (int64_t bgi = 0; bgi < tiles; ++bgi) {
            const int64_t bg = bgi / N, i = bgi % N;
            const SortedAttention::Tile t = a.tile(bg, i);
            if (t.rows == 0) continue;
            const int64_t n = t.keys(), rows = t.rows, sorted = t.sorted;
            const int64_t off = (bg * T + t.row0) * D, soff = a.sorted_offset(bg, i);
            const float* go = g + off;
            const float* qo = q + off;
            // pd: the dropped probabilities (P itself without dropout)
            float *p = prob.data(), *pd = dropout ? dropped.data() : p, *ds = dprob.data();
            a.scores(p, t, q, k, ks, bg, i);
            // dP of the dropped probabilities = dO [V_own; V_sorted]ᵀ
            gemm(false, true, rows, rows, D, 1.0f, go, D, v + off, D, 0.0f, ds, n);
            gemm(false, true, rows, sorted, D, 1.0f, go, D, vs + soff, D, 0.0f, ds + rows, n);
            for (int64_t r = 0; r < rows; ++r) {
                const float row_lse = lse[bg * T + t.row0 + r];
                float *pr = p + r * n, *pdr = pd + r * n, *dr = ds + r * n;
                ExpShiftSum(pr, n, row_lse);
                if (dropout)
                    for (int64_t c = 0; c < n; ++c) {
                        const float keep = a.keep(bg, t.row0 + r, c);
                        pdr[c] = pr[c] * keep;
                        dr[c] *= keep;
                    }
                float delta = 0.0f;
#pragma omp simd reduction(+ : delta)
                for (int64_t c = 0; c < n; ++c) delta += pr[c] * dr[c];
                    // dS = P ⊙ (dP − Σ P dP), times the logit scale
#pragma omp simd
                for (int64_t c = 0; c < n; ++c) dr[c] = scale * pr[c] * (dr[c] - delta);
            }
            if (dv) gemm(true, false, rows, D, rows, 1.0f, pd, n, go, D, 1.0f, dv + off, D);
            if (dvs)
                gemm(true, false, sorted, D, rows, 1.0f, pd + rows, n, go, D, 1.0f, dvs + soff, D);
            if (dq) {
                gemm(false, false, rows, D, rows, 1.0f, ds, n, k + off, D, 1.0f, dq + off, D);
                gemm(false, false, rows, D, sorted, 1.0f, ds + rows, n, ks + soff, D, 1.0f,
                     dq + off, D);
            }
            if (dk) gemm(true, false, rows, D, rows, 1.0f, ds, n, qo, D, 1.0f, dk + off, D);
            if (dks)
                gemm(true, false, sorted, D, rows, 1.0f, ds + rows, n, qo, D, 1.0f, dks + soff, D);
        }
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(SortedForward);
HWY_EXPORT(SortedBackward);

Var own_and_sorted_block_attention(const Var& q, const Var& k, const Var& v, const Var& ks,
                                   const Var& vs, const std::vector<int32_t>& lengths, int block,
                                   float scale, float dropout_p, uint64_t dropout_seed) {
    const Shape& s = q->value.shape();
    XB_CHECK(s.ndim >= 3 && block >= 1 && k->value.shape() == s && v->value.shape() == s &&
                 int64_t(lengths.size()) == s[0],
             "own_and_sorted_block_attention: q {} k {} v {} block {}", s, k->value.shape(),
             v->value.shape(), block);
    const int64_t T = s[-2], D = s[-1], N = (T + block - 1) / block;
    const SortedAttention a{
        s[0], s.numel() / (s[0] * T * D), T, D, block, N, scale, dropout_p, dropout_seed, lengths};
    XB_CHECK(
        ks->value.numel() == a.B * a.G * N * block * D && vs->value.numel() == ks->value.numel(),
        "own_and_sorted_block_attention: ks {} vs {} for q {} block {}", ks->value.shape(),
        vs->value.shape(), s, block);
    Var out = make_var(Tensor::zeros(s));
    Tensor lse = Tensor::empty({a.B * a.G, T});
    const int64_t width = 2 * int64_t(block);
    const bool parallel = a.B * a.G * T * width * D >= kMinParallelWork;
    HWY_DYNAMIC_DISPATCH(SortedForward)
    (a, q->value.data(), k->value.data(), v->value.data(), ks->value.data(), vs->value.data(),
     out->value.data(), lse.data(), parallel);
    if (needs_grad({&q, &k, &v, &ks, &vs})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                auto buffer = [](const Var& x) {
                    return x->requires_grad ? x->grad_buffer().data() : nullptr;
                };
                float *dq = buffer(q), *dk = buffer(k), *dv = buffer(v), *dks = buffer(ks),
                      *dvs = buffer(vs);
                HWY_DYNAMIC_DISPATCH(SortedBackward)
                (a, q->value.data(), k->value.data(), v->value.data(), ks->value.data(),
                 vs->value.data(), lse.data(), out->grad.data(), dq, dk, dv, dks, dvs, parallel);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
