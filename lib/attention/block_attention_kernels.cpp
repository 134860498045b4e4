// The SIMD part of the fused block attention (block_attention_tiles.h), compiled once per
// Highway target and dispatched at run time. A query tile of 64 rows walks its key ranges in
// tiles of 64 keys: S^T = K (s·Q)^T, lane-wise online softmax, O^T += V^T P^T; forward keeps
// only O and the row log-sum-exp. Backward recomputes P^T = exp(S^T - lse) per tile and
// accumulates dV, dK (per-(b,h) scratch) and dQ (per tile), so a T×T matrix never exists.
// Scratch comes from the tracked pool, so peak_tensor_bytes counts it.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attention/block_attention_tiles.h"
#include "core/thread_scratch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attention/block_attention_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "attention/attention_microkernels-inl.h"
#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

using namespace attention_kernels;
using namespace block_attention_detail;

namespace {

constexpr int kBq = kQueryTile;  // row stride of every transposed (·, queries) tile buffer
static_assert(kQueryTile % kLanes == 0, "a query tile is whole vectors on every target");
constexpr float kInf = std::numeric_limits<float>::infinity();

// Sets S^T[j][i] = -inf where |(i0 + i) - (j0 + j)| > band (skipped if no element can be).
void MaskBand(float* st, int nk, int j0, int i0, int nq, int band) {
    if (band < 0 || (i0 + nq - 1 - j0 <= band && j0 + nk - 1 - i0 <= band)) return;
    for (int j = 0; j < nk; ++j) {
        // Lanes i with |i0 + i - (j0 + j)| <= band are [key - band - i0, key + band - i0].
        float* row = st + j * kBq;
        const int key = j0 + j;
        const int lo = std::clamp(key - band - i0, 0, kBq);
        const int hi = std::clamp(key + band - i0 + 1, lo, kBq);
        std::fill(row, row + lo, -kInf);
        std::fill(row + hi, row + kBq, -kInf);
    }
}

// Sets S^T[j][i] = -inf where query row i0 + i is key row j0 + j (mask_self).
void MaskSelf(float* st, int nk, int j0, int i0, int nq) {
    const int lo = std::max(j0, i0), hi = std::min(j0 + nk, i0 + nq);
    for (int r = lo; r < hi; ++r) st[(r - j0) * kBq + (r - i0)] = -kInf;
}

// z[i] = the dropout factor of (b, h, i0 + i, key j): 0 or 1/(1-p).
void DropoutFactors(float* z, int j, int i0, int b, int h, const AttentionCall& c) {
    const uint32_t key = attention_dropout_row_key(c.params.dropout_seed, b, h, j);
    for (int i = 0; i < kBq; ++i)
        z[i] = attention_dropout_bits(key, i0 + i) >= c.dropout_threshold ? c.dropout_scale : 0.0f;
}

// xt (D, kBq) = scale · x^T for nq rows of x (row stride ld), lanes past nq zeroed.
void PackTransposed(float* xt, const float* x, size_t ld, int nq, int D, float scale) {
    for (int d = 0; d < D; ++d) {
        float* row = xt + d * kBq;
        for (int i = 0; i < nq; ++i) row[i] = scale * x[i * ld + d];
        std::fill(row + nq, row + kBq, 0.0f);
    }
}

// One online-softmax step over an (nk, kBq) score tile, in place on its first nvec vectors of
// lanes: S^T becomes P^T = exp(S^T - m_new); alpha = exp(m_old - m_new) rescales the running sum
// l and (in the caller) O^T. Lanes with no finite score yet keep m = -inf and use 0 as their
// shift, so nothing is NaN.
void OnlineSoftmaxStep(float* st, int nk, int nvec, float* m, float* l, float* alpha) {
    const DF d;
    const VF minus_inf = hn::Set(d, -kInf), zero = hn::Zero(d);
    for (int v = 0; v < nvec; ++v) {
        float* col = st + v * kLanes;
        VF tile_max = minus_inf;
        for (int j = 0; j < nk; ++j) tile_max = hn::Max(hn::LoadU(d, col + j * kBq), tile_max);
        const VF m_old = hn::LoadU(d, m + v * kLanes), m_new = hn::Max(tile_max, m_old);
        const VF shift = hn::IfThenElse(m_new == minus_inf, zero, m_new);
        const VF a = ExpNonpositive(d, hn::Sub(m_old, shift));
        hn::StoreU(a, d, alpha + v * kLanes);
        hn::StoreU(m_new, d, m + v * kLanes);
        VF sum = zero;
        for (int j = 0; j < nk; ++j) {
            const VF p = ExpNonpositive(d, hn::Sub(hn::LoadU(d, col + j * kBq), shift));
            hn::StoreU(p, d, col + j * kBq);
            sum = hn::Add(sum, p);
        }
        hn::StoreU(hn::MulAdd(a, hn::LoadU(d, l + v * kLanes), sum), d, l + v * kLanes);
    }
}

void ForwardTile(const AttentionCall& c, const QueryTile& t, float* scratch, float* out, size_t ldo,
                 float* lse) {
    const int D = c.dims.D, nvec = (t.nq + kLanes - 1) / kLanes;
    float* qt = scratch;               // (D, kBq): scale · Q^T of the tile
    float* ot = qt + size_t(D) * kBq;  // (D, kBq): unnormalised O^T
    float* st = ot + size_t(D) * kBq;  // (kKeyTile, kBq): S^T, then P^T
    PackTransposed(qt, c.at(c.q, c.ld, t.b, t.i0, t.h), c.ld, t.nq, D, c.params.scale);
    std::fill(ot, ot + size_t(D) * kBq, 0.0f);
    alignas(64) float m[kBq], l[kBq], alpha[kBq], z[kBq];  // running max, sum, rescale; dropout
    std::fill(m, m + kBq, -kInf);
    std::fill(l, l + kBq, 0.0f);
    for_each_key_range(c, t, [&](int begin, int end, int band) {
        for (int j0 = begin; j0 < end; j0 += kKeyTile) {
            const int nk = std::min(kKeyTile, end - j0);
            const float* k_rows = c.at(c.k, c.ld, t.b, j0, t.h);
            RowsTimesTransposed(st, kBq, k_rows, c.ld, nk, qt, kBq, D, nvec);
            MaskBand(st, nk, j0, t.i0, t.nq, band);
            if (c.params.mask_self) MaskSelf(st, nk, j0, t.i0, t.nq);
            OnlineSoftmaxStep(st, nk, nvec, m, l, alpha);
            if (c.params.dropout_p > 0.0f) {
                for (int j = 0; j < nk; ++j) {
                    DropoutFactors(z, j0 + j, t.i0, t.b, t.h, c);
                    for (int i = 0; i < kBq; ++i) st[j * kBq + i] *= z[i];
                }
            }
            const float* v_rows = c.at(c.v, c.ld, t.b, j0, t.h);
            TransposedAccumulate(ot, kBq, alpha, v_rows, c.ld, nk, st, kBq, D, nvec);
        }
    });
    float* o = out + (size_t(t.b) * c.dims.T + t.i0) * ldo + size_t(t.h) * D;
    float* lse_out = c.lse_row(lse, t.b, t.h) + t.i0;
    for (int i = 0; i < t.nq; ++i) {
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
        for (int d = 0; d < D; ++d) o[i * ldo + d] = ot[d * kBq + i] * inv;
        lse_out[i] = l[i] > 0.0f ? m[i] + std::log(l[i]) : -kInf;
    }
}

// P^T = exp(S^T - lse), dS^T = P^T ⊙ (dP^T ⊙ Z' - Dvec), P^T ⊙ Z' in place of S^T, dS^T in place
// of dP^T, with Z' the dropout factor (1 without dropout). Lanes with lse = +inf (padding, empty
// rows) get P = 0 and dS = 0.
void BackwardProbabilities(float* st, float* dpt, int nk, int nvec, const float* lse,
                           const float* dvec, int j0, int i0, int b, int h,
                           const AttentionCall& c) {
    const DF d;
    const bool dropout = c.params.dropout_p > 0.0f;
    alignas(64) float z[kBq];
    for (int j = 0; j < nk; ++j) {
        if (dropout) DropoutFactors(z, j0 + j, i0, b, h, c);
        for (int v = 0; v < nvec; ++v) {
            float* s = st + j * kBq + v * kLanes;
            float* dp = dpt + j * kBq + v * kLanes;
            const VF p =
                ExpNonpositive(d, hn::Sub(hn::LoadU(d, s), hn::LoadU(d, lse + v * kLanes)));
            const VF dv = hn::LoadU(d, dvec + v * kLanes);
            if (dropout) {
                const VF zv = hn::LoadU(d, z + v * kLanes);
                hn::StoreU(hn::Mul(p, hn::Sub(hn::Mul(hn::LoadU(d, dp), zv), dv)), d, dp);
                hn::StoreU(hn::Mul(p, zv), d, s);
            } else {
                hn::StoreU(hn::Mul(p, hn::Sub(hn::LoadU(d, dp), dv)), d, dp);
                hn::StoreU(p, d, s);
            }
        }
    }
}

// Floats of one backward tile's scratch (besides the per-head dK, dV accumulators).
size_t BackwardTileFloats(int D, int Dp) { return size_t(3 * D + 2 * Dp + 2 * kKeyTile) * kBq; }

// Gradients of one query tile: dQ rows of the tile are complete at the end and added to dq;
// dK, dV of the head accumulate in dk_acc, dv_acc ((key len, Dp), unscaled dK).
void BackwardTile(const AttentionCall& c, const BackwardInputs& g, const QueryTile& t,
                  float* scratch, float* dk_acc, float* dv_acc, float* dq, size_t ld_grad) {
    const int D = c.dims.D, nvec = (t.nq + kLanes - 1) / kLanes;
    const int Dp = (D + kLanes - 1) / kLanes * kLanes;
    float* qt = scratch;                       // (D, kBq): scale · Q^T
    float* dot = qt + size_t(D) * kBq;         // (D, kBq): dO^T
    float* dqt = dot + size_t(D) * kBq;        // (D, kBq): dQ^T / scale
    float* qn = dqt + size_t(D) * kBq;         // (kBq, Dp): Q rows, zero-padded to Dp
    float* don = qn + size_t(kBq) * Dp;        // (kBq, Dp): dO rows, zero-padded to Dp
    float* st = don + size_t(kBq) * Dp;        // (kKeyTile, kBq): S^T, then P^T ⊙ Z'
    float* dpt = st + size_t(kKeyTile) * kBq;  // (kKeyTile, kBq): dP^T, then dS^T
    alignas(64) float lse[kBq], dvec[kBq];  // +inf for rows without probabilities; rowsum(dO⊙O)
    alignas(64) float ones[kBq];
    std::fill(ones, ones + kBq, 1.0f);
    const float* q = c.at(c.q, c.ld, t.b, t.i0, t.h);
    const float* dout = c.at(g.dout, g.ldo, t.b, t.i0, t.h);
    const float* out = c.at(g.out, g.ldo, t.b, t.i0, t.h);
    const float* lse_in = g.lse + (size_t(t.b) * c.dims.H + t.h) * c.dims.T + t.i0;
    PackTransposed(qt, q, c.ld, t.nq, D, c.params.scale);
    PackTransposed(dot, dout, g.ldo, t.nq, D, 1.0f);
    std::fill(dqt, dqt + size_t(D) * kBq, 0.0f);
    // Rows past nq and columns past D of qn, don are zero; only those are filled.
    std::fill(qn + size_t(t.nq) * Dp, qn + size_t(kBq) * Dp, 0.0f);
    std::fill(don + size_t(t.nq) * Dp, don + size_t(kBq) * Dp, 0.0f);
    for (int i = 0; i < kBq; ++i) {
        lse[i] = kInf;
        dvec[i] = 0.0f;
        if (i >= t.nq) continue;
        float dot_sum = 0.0f;
        for (int d = 0; d < D; ++d) {
            qn[i * Dp + d] = q[i * c.ld + d];
            don[i * Dp + d] = dout[i * g.ldo + d];
            dot_sum += dout[i * g.ldo + d] * out[i * g.ldo + d];
        }
        std::fill(qn + i * Dp + D, qn + (i + 1) * Dp, 0.0f);
        std::fill(don + i * Dp + D, don + (i + 1) * Dp, 0.0f);
        dvec[i] = dot_sum;
        if (lse_in[i] != -kInf) lse[i] = lse_in[i];
    }
    for_each_key_range(c, t, [&](int begin, int end, int band) {
        for (int j0 = begin; j0 < end; j0 += kKeyTile) {
            const int nk = std::min(kKeyTile, end - j0);
            const float* k_rows = c.at(c.k, c.ld, t.b, j0, t.h);
            const float* v_rows = c.at(c.v, c.ld, t.b, j0, t.h);
            RowsTimesTransposed(st, kBq, k_rows, c.ld, nk, qt, kBq, D, nvec);
            RowsTimesTransposed(dpt, kBq, v_rows, c.ld, nk, dot, kBq, D, nvec);
            MaskBand(st, nk, j0, t.i0, t.nq, band);
            if (c.params.mask_self) MaskSelf(st, nk, j0, t.i0, t.nq);
            BackwardProbabilities(st, dpt, nk, nvec, lse, dvec, j0, t.i0, t.b, t.h, c);
            RowsAccumulate(dv_acc + size_t(j0) * Dp, Dp, st, kBq, nk, don, Dp, t.nq, Dp / kLanes);
            RowsAccumulate(dk_acc + size_t(j0) * Dp, Dp, dpt, kBq, nk, qn, Dp, t.nq, Dp / kLanes);
            TransposedAccumulate(dqt, kBq, ones, k_rows, c.ld, nk, dpt, kBq, D, nvec);
        }
    });
    float* dq_rows = dq + (size_t(t.b) * c.dims.T + t.i0) * ld_grad + size_t(t.h) * D;
    const float scale = c.params.scale;
    for (int i = 0; i < t.nq; ++i) {
        float* row = dq_rows + i * ld_grad;
        if (g.overwrite)
            for (int d = 0; d < D; ++d) row[d] = scale * dqt[d * kBq + i];
        else
            for (int d = 0; d < D; ++d) row[d] += scale * dqt[d * kBq + i];
    }
}

// Sets columns [0, D) of rows [r0, r1) of m (row stride ld) to 0.
void ZeroRows(float* m, size_t ld, int r0, int r1, int D) {
    for (int r = r0; r < r1; ++r) std::fill(m + r * ld, m + r * ld + D, 0.0f);
}

}  // namespace

void ForwardTiles(const AttentionCall& c, const std::vector<QueryTile>& tiles, float* out,
                  size_t ldo, float* lse) {
    const int threads = omp_get_max_threads();
    const ThreadScratch scratch(threads, size_t(2 * c.dims.D + kKeyTile) * kBq);
    const long n_tiles = long(tiles.size());
    // Round-robin tiles: tiles differ in cost (pattern, lengths); each is computed whole by one
    // thread, so the result does not depend on the thread count at all.
#pragma omp parallel num_threads(threads)
    {
        float* s = scratch.get(omp_get_thread_num());
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_tiles; ++n) ForwardTile(c, tiles[n], s, out, ldo, lse);
    }
}

void BackwardHeads(const AttentionCall& c, const BackwardInputs& g, float* dq, float* dk, float* dv,
                   size_t ld_grad) {
    const AttentionDims& dims = c.dims;
    const int D = dims.D, Dp = (D + kLanes - 1) / kLanes * kLanes;
    const int threads = omp_get_max_threads();
    const size_t tile_floats = (BackwardTileFloats(D, Dp) + 15) / 16 * 16;
    const ThreadScratch scratch(threads, tile_floats + 2 * size_t(dims.T) * Dp);
    const long n_heads = long(dims.B) * dims.H;
    // One thread owns all of dq, dk, dv of a head: race-free without atomics, and each head is
    // computed in a fixed order, so results do not depend on the thread count.
#pragma omp parallel num_threads(threads)
    {
        float* s = scratch.get(omp_get_thread_num());
        float* dk_acc = s + tile_floats;               // (T, Dp)
        float* dv_acc = dk_acc + size_t(dims.T) * Dp;  // (T, Dp)
        std::vector<QueryTile> tiles;
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_heads; ++n) {
            const int b = int(n / dims.H), h = int(n % dims.H), len = c.key_lengths[b];
            const size_t head = size_t(b) * dims.T * ld_grad + size_t(h) * D;
            float *dq_rows = dq + head, *dk_rows = dk + head, *dv_rows = dv + head;
            if (c.lengths[b] == 0 || len == 0) {
                if (g.overwrite)
                    for (float* m : {dq_rows, dk_rows, dv_rows}) ZeroRows(m, ld_grad, 0, dims.T, D);
                continue;
            }
            std::fill(dk_acc, dk_acc + size_t(len) * Dp, 0.0f);
            std::fill(dv_acc, dv_acc + size_t(len) * Dp, 0.0f);
            tiles.clear();
            append_query_tiles(tiles, c, b, h);  // they cover query rows [0, lengths[b]) once
            for (const QueryTile& t : tiles) BackwardTile(c, g, t, s, dk_acc, dv_acc, dq, ld_grad);
            const float scale = c.params.scale;
            for (int j = 0; j < len; ++j) {
                float *dkj = dk_rows + j * ld_grad, *dvj = dv_rows + j * ld_grad;
                const float *ak = dk_acc + size_t(j) * Dp, *av = dv_acc + size_t(j) * Dp;
                if (g.overwrite) {
                    for (int d = 0; d < D; ++d) dkj[d] = scale * ak[d];
                    std::copy(av, av + D, dvj);
                } else {
                    for (int d = 0; d < D; ++d) dkj[d] += scale * ak[d];
                    for (int d = 0; d < D; ++d) dvj[d] += av[d];
                }
            }
            if (g.overwrite) {
                ZeroRows(dq_rows, ld_grad, c.lengths[b], dims.T, D);
                for (float* m : {dk_rows, dv_rows}) ZeroRows(m, ld_grad, len, dims.T, D);
            }
        }
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb::block_attention_detail {

HWY_EXPORT(ForwardTiles);
HWY_EXPORT(BackwardHeads);

void block_attention_forward_tiles(const AttentionCall& c, const std::vector<QueryTile>& tiles,
                                   float* out, size_t ldo, float* lse) {
    HWY_DYNAMIC_DISPATCH(ForwardTiles)(c, tiles, out, ldo, lse);
}

void block_attention_backward_heads(const AttentionCall& c, const BackwardInputs& g, float* dq,
                                    float* dk, float* dv, size_t ld_grad) {
    HWY_DYNAMIC_DISPATCH(BackwardHeads)(c, g, dq, dk, dv, ld_grad);
}

}  // namespace xb::block_attention_detail
#endif  // HWY_ONCE
