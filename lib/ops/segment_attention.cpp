// Relative-position attention over segments with a memory (ops.h segment_attention): per
// (example, head, segment) the content scores are GEMMs of the queries (+u) against up to three
// contiguous key runs (compressed slots, memory, own segment), the position scores one GEMM of
// the queries (+v) against every relative key, picked per (query, key) by offset (Transformer-XL's
// "relative shift" as an index). Forward saves the row log-sum-exp; backward recomputes the tile.
// Parallel over (example, head), which owns its channel slice of every row it writes; the
// gradients of u, v and rk are summed per example and then over examples in a fixed order, so
// results do not depend on the thread count. The loops between the GEMMs (biased queries, the
// relative shift, softmax, its backward) are compiled once per SIMD target and dispatched at run
// time like the other kernels; the GEMMs are oneDNN's, which dispatches by itself.
#include <algorithm>
#include <cmath>

#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "core/rng.h"
#include "ops/ops.h"

#ifndef XB_OPS_SEGMENT_ATTENTION_SHARED_
#define XB_OPS_SEGMENT_ATTENTION_SHARED_
namespace xb {

namespace {

struct SegmentAttention {
    int64_t B, T, C, H, D, Tc;
    SegmentLayout lay;
    int64_t S, L, R;  // segment, keys per segment, relative offsets
    float scale, dropout_p;
    uint64_t dropout_seed;
    std::vector<int32_t> lengths;
    const float *q = nullptr, *u = nullptr, *v = nullptr, *rk = nullptr;
    const float* src[3] = {nullptr, nullptr, nullptr};  // kv of compressed, memory, own

    // Per-thread tiles: biased queries q + u, q + v (S, D), logits (S, L), Qv rkᵀ (S, R).
    struct Scratch {
        std::vector<float> qu, qv, logits, rel;
        explicit Scratch(const SegmentAttention& a)
            : qu(size_t(a.S * a.D)),
              qv(qu.size()),
              logits(size_t(a.S * a.L)),
              rel(size_t(a.S * a.R)) {}
    };

    // A contiguous run of keys: `count` rows of source `src` (0 compressed, 1 memory, 2 own)
    // from flattened row `row`, key numbers key0, key0 + 1, ...; tile columns from `col`.
    struct Run {
        int src;
        int64_t row, count, key0, col;
    };
    struct Tile {
        int64_t q0 = 0, rows = 0, n = 0;
        Run runs[3];
        int nruns = 0;
    };
    Tile tile(int64_t b, int64_t g) const {
        Tile t;
        const int64_t len = std::min<int64_t>(lengths[size_t(b)], T);
        t.q0 = g * S;
        t.rows = std::clamp<int64_t>(len - t.q0, 0, std::min(S, T - t.q0));
        if (t.rows == 0) return t;
        auto add = [&](int src, int64_t row, int64_t count, int64_t key0) {
            if (count <= 0) return;
            t.runs[t.nruns++] = {src, row, count, key0, t.n};
            t.n += count;
        };
        const int64_t per = lay.compressed > 0 ? S / lay.rate : 0, slots = lay.slots();
        const int64_t w0 = (g - lay.memory - lay.compressed) * per, wb = std::max<int64_t>(0, w0);
        add(0, b * Tc + wb, (g - lay.memory) * per - wb, wb - w0);
        const int64_t m0 = (g - lay.memory) * S, mb = std::max<int64_t>(0, m0);
        add(1, b * T + mb, t.q0 - mb, slots + mb - m0);
        add(2, b * T + t.q0, t.rows, L - S);
        return t;
    }
    // Dropout multiplier of query row (bh, i) and key number k: a pure function of the seed.
    float keep(int64_t bh, int64_t i, int64_t k) const {
        if (dropout_p == 0.0f) return 1.0f;
        return random_uniform(dropout_seed, uint64_t(bh * T + i), uint64_t(k)) >= dropout_p
                   ? 1.0f / (1.0f - dropout_p)
                   : 0.0f;
    }
    // row (one query row i of (bh) over the tile's keys) *= the dropout multipliers.
    void apply_dropout(float* row, int64_t bh, int64_t i, const Tile& t) const {
        if (dropout_p == 0.0f) return;
        for (int r = 0; r < t.nruns; ++r)
            for (int64_t c = 0; c < t.runs[r].count; ++c)
                row[t.runs[r].col + c] *= keep(bh, i, t.runs[r].key0 + c);
    }
    // Offset row of rk for query a of the tile and key number k.
    int64_t offset(int64_t a, int64_t k) const { return L - 1 + a - k; }

    // f(tile, b, h) for the tiles of (example, head) bh that hold a valid query, in order.
    template <class F>
    void for_each_tile(int64_t bh, F&& f) const {
        const int64_t b = bh / H, h = bh % H;
        for (int64_t g = 0; g * S < T; ++g) {
            const Tile t = tile(b, g);
            if (t.rows == 0) break;
            f(t, b, h);
        }
    }
};

}  // namespace
}  // namespace xb
#endif  // XB_OPS_SEGMENT_ATTENTION_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/segment_attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// The tile's biased queries (w.qu = q + u, w.qv = q + v) and its logits (rows, n)
// w.logits = scale·(Qu Kᵀ + rel), rel[i, c] = (Qv rkᵀ)[i, offset(i, key c)] (w.rel).
void TileLogits(const SegmentAttention& a, SegmentAttention::Scratch& w,
                const SegmentAttention::Tile& t, int64_t b, int64_t h) {
    const int64_t T = a.T, C = a.C, D = a.D, R = a.R;
    for (int64_t i = 0; i < t.rows; ++i) {
        const float* qr = a.q + (b * T + t.q0 + i) * C + h * D;
        for (int64_t d = 0; d < D; ++d) {
            w.qu[size_t(i * D + d)] = qr[d] + a.u[h * D + d];
            w.qv[size_t(i * D + d)] = qr[d] + a.v[h * D + d];
        }
    }
    float* s = w.logits.data();
    for (int r = 0; r < t.nruns; ++r) {
        const SegmentAttention::Run& run = t.runs[r];
        gemm(false, true, t.rows, run.count, D, 1.0f, w.qu.data(), D,
             a.src[run.src] + run.row * 2 * C + h * D, 2 * C, 0.0f, s + run.col, t.n);
    }
    gemm(false, true, t.rows, R, D, 1.0f, w.qv.data(), D, a.rk + h * D, C, 0.0f, w.rel.data(), R);
    for (int64_t i = 0; i < t.rows; ++i)
        for (int r = 0; r < t.nruns; ++r) {
            const SegmentAttention::Run& run = t.runs[r];
            float* row = s + i * t.n + run.col;
            const float* rel = w.rel.data() + i * R + a.offset(i, run.key0);  // key c: rel[-c]
#pragma omp simd
            for (int64_t c = 0; c < run.count; ++c) row[c] = a.scale * (row[c] + rel[-c]);
        }
}

// Forward of every (example, head): out (B, T, C), zero on entry; lse (B·H, T), the row
// log-sum-exp that backward recomputes the probabilities from.
void SegmentForward(const SegmentAttention& a, float* out, float* lse, bool parallel) {
    const int64_t B = a.B, T = a.T, C = a.C, D = a.D, heads = a.H;
#pragma omp parallel if (parallel)
    {
        SegmentAttention::Scratch w(a);
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * heads; ++bh) {
            a.for_each_tile(bh, [&](const SegmentAttention::Tile& t, int64_t b, int64_t h) {
                TileLogits(a, w, t, b, h);
                for (int64_t r = 0; r < t.rows; ++r) {
                    float* row = w.logits.data() + r * t.n;
                    const float m = MaxOf(row, t.n), sum = ExpShiftSum(row, t.n, m);
                    lse[bh * T + t.q0 + r] = m + std::log(sum);
                    const float inv = 1.0f / sum;
#pragma omp simd
                    for (int64_t c = 0; c < t.n; ++c) row[c] *= inv;
                    a.apply_dropout(row, bh, t.q0 + r, t);
                }
                float* o = out + (b * T + t.q0) * C + h * D;
                for (int i = 0; i < t.nruns; ++i) {
                    const SegmentAttention::Run& run = t.runs[i];
                    gemm(false, false, t.rows, D, run.count, 1.0f, w.logits.data() + run.col, t.n,
                         a.src[run.src] + run.row * 2 * C + C + h * D, 2 * C, 1.0f, o, C);
                }
            });
        }
    }
}

// Backward of every (example, head): adds to dq and to the key-value gradients dsrc (each may be
// null) and writes the per-example sums du, dv (B, C) and drk (B, R, C), zero on entry.
void SegmentBackward(const SegmentAttention& a, const float* lse, const float* g_out,
                     float* const* dsrc, float* dq, float* du, float* dv, float* drk,
                     bool parallel) {
    const int64_t B = a.B, T = a.T, C = a.C, D = a.D, R = a.R, heads = a.H;
    const float scale = a.scale;
#pragma omp parallel if (parallel)
    {
        SegmentAttention::Scratch w(a);
        std::vector<float> dqu(w.qu.size()), dqv(w.qu.size()), ds(w.logits.size()),
            drel(w.rel.size());
        std::vector<float>& p = w.logits;
        const std::vector<float>&qu = w.qu, &qv = w.qv;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < B * heads; ++bh) {
            a.for_each_tile(bh, [&](const SegmentAttention::Tile& t, int64_t b, int64_t h) {
                const int64_t n = t.n, rows = t.rows, qoff = (b * T + t.q0) * C + h * D;
                const float* go = g_out + qoff;
                TileLogits(a, w, t, b, h);
                // dP of the dropped probabilities = dO Vᵀ, per key run
                for (int i = 0; i < t.nruns; ++i) {
                    const SegmentAttention::Run& run = t.runs[i];
                    gemm(false, true, rows, run.count, D, 1.0f, go, C,
                         a.src[run.src] + run.row * 2 * C + C + h * D, 2 * C, 0.0f,
                         ds.data() + run.col, n);
                }
                std::fill(drel.begin(), drel.begin() + rows * R, 0.0f);
                for (int64_t r = 0; r < rows; ++r) {
                    const float row_lse = lse[bh * T + t.q0 + r];
                    float* pr = p.data() + r * n;
                    float* dr = ds.data() + r * n;
                    ExpShiftSum(pr, n, row_lse);
                    a.apply_dropout(dr, bh, t.q0 + r, t);  // d of the kept probabilities
                    float delta = 0.0f;
#pragma omp simd reduction(+ : delta)
                    for (int64_t c = 0; c < n; ++c) delta += pr[c] * dr[c];
                        // dS = P ⊙ (dP − Σ P dP), times the logit scale
#pragma omp simd
                    for (int64_t c = 0; c < n; ++c) dr[c] = scale * pr[c] * (dr[c] - delta);
                    // the dropped probabilities, for dV
                    a.apply_dropout(pr, bh, t.q0 + r, t);
                    for (int i = 0; i < t.nruns; ++i) {
                        const SegmentAttention::Run& run = t.runs[i];
                        float* dst = drel.data() + r * R + a.offset(r, run.key0);
                        const float* src_ds = dr + run.col;
#pragma omp simd
                        for (int64_t c = 0; c < run.count; ++c) dst[-c] += src_ds[c];
                    }
                }
                std::fill(dqu.begin(), dqu.begin() + rows * D, 0.0f);
                for (int i = 0; i < t.nruns; ++i) {
                    const SegmentAttention::Run& run = t.runs[i];
                    const float* kr = a.src[run.src] + run.row * 2 * C + h * D;
                    float* dkr = dsrc[run.src];
                    if (dkr) {
                        dkr += run.row * 2 * C + h * D;
                        gemm(true, false, run.count, D, rows, 1.0f, p.data() + run.col, n, go, C,
                             1.0f, dkr + C, 2 * C);  // dV
                        gemm(true, false, run.count, D, rows, 1.0f, ds.data() + run.col, n,
                             qu.data(), D, 1.0f, dkr, 2 * C);  // dK
                    }
                    gemm(false, false, rows, D, run.count, 1.0f, ds.data() + run.col, n, kr, 2 * C,
                         1.0f, dqu.data(), D);
                }
                gemm(false, false, rows, D, R, 1.0f, drel.data(), R, a.rk + h * D, C, 0.0f,
                     dqv.data(), D);
                gemm(true, false, R, D, rows, 1.0f, drel.data(), R, qv.data(), D, 1.0f,
                     drk + b * R * C + h * D, C);
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t d = 0; d < D; ++d) {
                        const float gu = dqu[size_t(r * D + d)], gv = dqv[size_t(r * D + d)];
                        if (dq) dq[qoff + r * C + d] += gu + gv;
                        du[b * C + h * D + d] += gu;
                        dv[b * C + h * D + d] += gv;
                    }
            });
        }
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(SegmentForward);
HWY_EXPORT(SegmentBackward);

Var segment_attention(const Var& q, const Var& kv, const Var& kvm, const Var& kvc, const Var& u,
                      const Var& v, const Var& rk, int heads, const SegmentLayout& layout,
                      const std::vector<int32_t>& lengths, float scale, float dropout_p,
                      uint64_t dropout_seed) {
    const Shape& s = q->value.shape();
    XB_CHECK(s.ndim == 3 && heads >= 1 && s[2] % heads == 0 && int64_t(lengths.size()) == s[0],
             "segment_attention: q {} heads {}", s, heads);
    const int64_t B = s[0], T = s[1], C = s[2];
    XB_CHECK(layout.segment >= 1 && layout.memory >= 0 && layout.compressed >= 0 &&
                 layout.rate >= 1 && (layout.compressed == 0 || layout.segment % layout.rate == 0),
             "segment_attention: layout segment {} memory {} compressed {} rate {}", layout.segment,
             layout.memory, layout.compressed, layout.rate);
    const Shape kv_shape{B, T, 2 * C}, rk_shape{layout.offsets(), C};
    XB_CHECK(kv->value.shape() == kv_shape && kvm->value.shape() == kv_shape &&
                 u->value.numel() == C && v->value.numel() == C && rk->value.shape() == rk_shape,
             "segment_attention: q {} kv {} kvm {} u {} v {} rk {}", s, kv->value.shape(),
             kvm->value.shape(), u->value.shape(), v->value.shape(), rk->value.shape());
    const int64_t Tc = kvc ? kvc->value.dim(1) : 0;
    const Shape kvc_shape{B, Tc, 2 * C};
    XB_CHECK(layout.compressed == 0 || !kvc || kvc->value.shape() == kvc_shape,
             "segment_attention: compressed memory missing or not (B, Tc, 2C) for q {}", s);
    SegmentAttention a{B,
                       T,
                       C,
                       heads,
                       C / heads,
                       Tc,
                       layout,
                       layout.segment,
                       layout.keys(),
                       layout.offsets(),
                       scale,
                       dropout_p,
                       dropout_seed,
                       lengths};
    const int64_t S = a.S, L = a.L, R = a.R, N = (T + S - 1) / S;
    if (layout.compressed > 0 && N > layout.memory + 1)
        XB_CHECK(Tc >= (N - 1 - layout.memory) * (S / layout.rate),
                 "segment_attention: {} compressed slots for {} segments", Tc, N);
    a.q = q->value.data(), a.u = u->value.data(), a.v = v->value.data(), a.rk = rk->value.data();
    a.src[0] = kvc ? kvc->value.data() : nullptr;
    a.src[1] = kvm->value.data();
    a.src[2] = kv->value.data();
    Var out = make_var(Tensor::zeros(s));
    Tensor lse = Tensor::empty({B * heads, T});
    const bool parallel = B * T * C * (L + R) >= kMinParallelWork;
    HWY_DYNAMIC_DISPATCH(SegmentForward)(a, out->value.data(), lse.data(), parallel);
    const bool grad = needs_grad({&q, &kv, &kvm, &u, &v, &rk}) || (kvc && needs_grad({&kvc}));
    if (!grad) return out;
    out->requires_grad = true;
    tape().push(
        [=] {
            auto buffer = [](const Var& x) {
                return x && x->requires_grad ? x->grad_buffer().data() : nullptr;
            };
            float* dsrc[3] = {buffer(kvc), buffer(kvm), buffer(kv)};
            float* dq = buffer(q);
            const float* g_out = out->grad.data();
            // Per-example sums of the gradients of u, v and rk, added over examples afterwards.
            std::vector<float> du(size_t(B * C), 0.0f), dv(du.size(), 0.0f),
                drk(size_t(B * R * C), 0.0f);
            HWY_DYNAMIC_DISPATCH(SegmentBackward)
            (a, lse.data(), g_out, dsrc, dq, du.data(), dv.data(), drk.data(), parallel);
            auto add_over_examples = [&](const Var& x, const std::vector<float>& per_example) {
                float* gx = buffer(x);
                if (!gx) return;
                const int64_t n = x->value.numel();
                for (int64_t b = 0; b < B; ++b)
                    for (int64_t i = 0; i < n; ++i) gx[i] += per_example[size_t(b * n + i)];
            };
            add_over_examples(u, du);
            add_over_examples(v, dv);
            add_over_examples(rk, drk);
        },
        {out});
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
