// The attention of Sparse Sinkhorn (ops.h own_and_sorted_block_attention): each query block
// attends, with one softmax, to its own block's valid keys and to its sorted block. Per
// (example, group, query block) the scores are two small GEMMs into one (rows, own + sorted)
// tile; forward saves the row log-sum-exp and backward recomputes the tile. Parallel over
// (example, group, query block), which owns every write (its query rows, its own key rows and
// its sorted block), so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "core/rng.h"
#include "ops/ops.h"

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
    const int64_t tiles = a.B * a.G * N, width = 2 * int64_t(block);
    const bool parallel = a.B * a.G * T * width * D >= kMinParallelWork;
#pragma omp parallel if (parallel)
    {
        std::vector<float> sc(size_t(block * width));
#pragma omp for schedule(static)
        for (int64_t bgi = 0; bgi < tiles; ++bgi) {
            const int64_t bg = bgi / N, i = bgi % N;
            const SortedAttention::Tile t = a.tile(bg, i);
            if (t.rows == 0) continue;
            const int64_t n = t.keys(), off = (bg * T + t.row0) * D;
            a.scores(sc.data(), t, q->value.data(), k->value.data(), ks->value.data(), bg, i);
            for (int64_t r = 0; r < t.rows; ++r) {
                float* row = sc.data() + r * n;
                const float m = *std::max_element(row, row + n);
                float sum = 0.0f;
                for (int64_t c = 0; c < n; ++c) sum += row[c] = std::exp(row[c] - m);
                lse.data()[bg * T + t.row0 + r] = m + std::log(sum);
                for (int64_t c = 0; c < n; ++c)
                    row[c] *= a.keep(bg, t.row0 + r, c) / sum;  // dropped probabilities
            }
            float* o = out->value.data() + off;
            gemm(false, false, t.rows, D, t.rows, 1.0f, sc.data(), n, v->value.data() + off, D,
                 0.0f, o, D);
            gemm(false, false, t.rows, D, t.sorted, 1.0f, sc.data() + t.rows, n,
                 vs->value.data() + a.sorted_offset(bg, i), D, 1.0f, o, D);
        }
    }
    if (needs_grad({&q, &k, &v, &ks, &vs})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                auto buffer = [](const Var& x) {
                    return x->requires_grad ? x->grad_buffer().data() : nullptr;
                };
                float *dq = buffer(q), *dk = buffer(k), *dv = buffer(v), *dks = buffer(ks),
                      *dvs = buffer(vs);
                const float* g = out->grad.data();
#pragma omp parallel if (parallel)
                {
                    std::vector<float> prob(size_t(block * width)), dropped(prob.size()),
                        dprob(prob.size());
#pragma omp for schedule(static)
                    for (int64_t bgi = 0; bgi < tiles; ++bgi) {
                        const int64_t bg = bgi / N, i = bgi % N;
                        const SortedAttention::Tile t = a.tile(bg, i);
                        if (t.rows == 0) continue;
                        const int64_t n = t.keys(), rows = t.rows, sorted = t.sorted;
                        const int64_t off = (bg * T + t.row0) * D, soff = a.sorted_offset(bg, i);
                        const float* go = g + off;
                        const float* qo = q->value.data() + off;
                        float *p = prob.data(), *pd = dropped.data(), *ds = dprob.data();
                        a.scores(p, t, q->value.data(), k->value.data(), ks->value.data(), bg, i);
                        // dP of the dropped probabilities = dO [V_own; V_sorted]ᵀ
                        gemm(false, true, rows, rows, D, 1.0f, go, D, v->value.data() + off, D,
                             0.0f, ds, n);
                        gemm(false, true, rows, sorted, D, 1.0f, go, D, vs->value.data() + soff, D,
                             0.0f, ds + rows, n);
                        for (int64_t r = 0; r < rows; ++r) {
                            const float row_lse = lse.data()[bg * T + t.row0 + r];
                            float delta = 0.0f;
                            for (int64_t c = r * n; c < (r + 1) * n; ++c) {
                                const float keep = a.keep(bg, t.row0 + r, c - r * n);
                                p[c] = std::exp(p[c] - row_lse);
                                pd[c] = p[c] * keep;
                                ds[c] *= keep;
                                delta += p[c] * ds[c];
                            }
                            // dS = P ⊙ (dP − Σ P dP), times the logit scale
                            for (int64_t c = r * n; c < (r + 1) * n; ++c)
                                ds[c] = scale * p[c] * (ds[c] - delta);
                        }
                        if (dv)
                            gemm(true, false, rows, D, rows, 1.0f, pd, n, go, D, 1.0f, dv + off, D);
                        if (dvs)
                            gemm(true, false, sorted, D, rows, 1.0f, pd + rows, n, go, D, 1.0f,
                                 dvs + soff, D);
                        if (dq) {
                            gemm(false, false, rows, D, rows, 1.0f, ds, n, k->value.data() + off, D,
                                 1.0f, dq + off, D);
                            gemm(false, false, rows, D, sorted, 1.0f, ds + rows, n,
                                 ks->value.data() + soff, D, 1.0f, dq + off, D);
                        }
                        if (dk)
                            gemm(true, false, rows, D, rows, 1.0f, ds, n, qo, D, 1.0f, dk + off, D);
                        if (dks)
                            gemm(true, false, sorted, D, rows, 1.0f, ds + rows, n, qo, D, 1.0f,
                                 dks + soff, D);
                    }
                }
            },
            {out});
    }
    return out;
}

}  // namespace xb
