// Fused block attention (block_attention.h). A query tile of up to 64 rows walks its key ranges
// in tiles of 64 keys: S^T = K (s·Q)^T, lane-wise online softmax, O^T += V^T P^T; forward keeps
// only O and the row log-sum-exp. Backward recomputes P^T = exp(S^T - lse) per tile and
// accumulates dV, dK (per-(b,h) scratch) and dQ (per tile), so a T×T matrix never exists.
#include "attention/block_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "attention/attention_microkernels.h"
#include "core/check.h"
#include "core/vec_math.h"

namespace xb {
namespace {

using namespace attention_detail;

constexpr int kQueryTile = 64;  // rows per query tile: 4 vectors of lanes
constexpr int kKeyTile = 64;    // keys per score tile: S^T and dP^T tiles of 16 KB stay in L1
constexpr float kInf = std::numeric_limits<float>::infinity();

// Register blocking per lane-vector count NV: keys (or head columns) per micro-kernel block, so
// that the accumulators fill about half of the 32 vector registers. Measured on Zen 4 (D = 32,
// T = 2048-4096): 4 × 4 beats 6 × 4 and two 8 × 2 halves for full 64-row tiles.
constexpr int block_rows(int nv) { return nv >= 4 ? 4 : nv == 3 ? 5 : 8; }

// Calls f(std::integral_constant<int, NV>) with NV = the 16-lane vectors that nq rows need.
template <class F>
void with_lane_vectors(int nq, F&& f) {
    switch ((nq + kLanes - 1) / kLanes) {
        case 1:
            return f(std::integral_constant<int, 1>{});
        case 2:
            return f(std::integral_constant<int, 2>{});
        case 3:
            return f(std::integral_constant<int, 3>{});
        default:
            return f(std::integral_constant<int, 4>{});
    }
}

// Rows [i0, i0 + nq) of head (b, h); pattern_idx selects its key ranges (-1: all valid keys).
struct QueryTile {
    int b, h, i0, nq, pattern_idx;
};

// The arguments shared by every tile of one call.
struct AttentionCall {
    const float* q;
    const float* k;
    const float* v;
    size_t ld;
    const int32_t* lengths;
    AttentionDims dims;
    AttentionParams params;
    const BlockPattern* pattern;
    uint32_t dropout_threshold;
    float dropout_scale;  // 1/(1-p) for kept elements

    // Element (b, t, h, 0) of a (B, T, ·) buffer with row stride ld.
    template <class F>
    F* at(F* base, size_t ld_base, int b, int t, int h) const {
        return base + (size_t(b) * dims.T + t) * ld_base + size_t(h) * dims.D;
    }
    float* lse_row(float* lse, int b, int h) const {
        return lse + (size_t(b) * dims.H + h) * dims.T;
    }
};

AttentionCall make_call(const float* q, const float* k, const float* v, int ld,
                        const int32_t* lengths, const AttentionDims& dims,
                        const AttentionParams& params, const BlockPattern* pattern) {
    XB_CHECK(dims.B >= 0 && dims.T >= 1 && dims.H >= 1 && dims.D >= 1, "dims B={} T={} H={} D={}",
             dims.B, dims.T, dims.H, dims.D);
    XB_CHECK(ld >= dims.H * dims.D, "ld={} < H*D={}", ld, dims.H * dims.D);
    XB_CHECK(params.dropout_p >= 0.0f && params.dropout_p < 1.0f, "dropout_p={} not in [0, 1)",
             params.dropout_p);
    for (int b = 0; b < dims.B; ++b)
        XB_CHECK(lengths[b] >= 0 && lengths[b] <= dims.T, "lengths[{}]={} not in [0, T={}]", b,
                 lengths[b], dims.T);
    if (pattern) check_block_pattern(*pattern, dims.T, dims.H);
    AttentionCall c{q, k, v, size_t(ld), lengths, dims, params, pattern, 0, 1.0f};
    if (params.dropout_p > 0.0f) {
        c.dropout_threshold = attention_dropout_threshold(params.dropout_p);
        c.dropout_scale = 1.0f / (1.0f - params.dropout_p);
    }
    return c;
}

// Query tiles of head (b, h): the pattern's query blocks cut at the valid length, then split
// into tiles of at most kQueryTile rows (so each tile has one key-range list).
void append_query_tiles(std::vector<QueryTile>& tiles, const AttentionCall& c, int b, int h) {
    const int len = c.lengths[b];
    const BlockPattern* p = c.pattern;
    if (!p) {
        for (int i0 = 0; i0 < len; i0 += kQueryTile)
            tiles.push_back({b, h, i0, std::min(kQueryTile, len - i0), -1});
        return;
    }
    const int nqb = p->num_query_blocks(c.dims.T);
    for (int qb = 0; qb < nqb && p->block_begin(qb) < len; ++qb) {
        const int qe = std::min(p->block_end(qb, c.dims.T), len);
        const int idx = (p->per_head ? h : 0) * nqb + qb;
        for (int i0 = p->block_begin(qb); i0 < qe; i0 += kQueryTile)
            tiles.push_back({b, h, i0, std::min(kQueryTile, qe - i0), idx});
    }
}

// Calls f(begin, end, band) for each key range of the tile, clipped to the valid keys and, for
// banded ranges, to the band (band = -1 for ranges the band does not apply to).
template <class F>
void for_each_key_range(const AttentionCall& c, const QueryTile& t, F&& f) {
    const int len = c.lengths[t.b];
    if (t.pattern_idx < 0) {
        if (len > 0) f(0, len, -1);
        return;
    }
    const BlockPattern& p = *c.pattern;
    for (int r = p.offsets[t.pattern_idx]; r < p.offsets[t.pattern_idx + 1]; ++r) {
        int lo = 0, hi = len, band = -1;
        if (p.banded(r)) {
            band = p.band;
            lo = std::max(lo, t.i0 - band);
            hi = std::min(hi, t.i0 + t.nq + band);
        }
        const int begin = std::max(p.ranges[r].first, lo), end = std::min(p.ranges[r].second, hi);
        if (begin < end) f(begin, end, band);
    }
}

// Sets S^T[j][i] = -inf where |(i0 + i) - (j0 + j)| > band (skipped if no element can be).
template <int NV>
void mask_band(float* st, int nk, int j0, int i0, int nq, int band) {
    constexpr int kBq = NV * kLanes;
    if (band < 0 || (i0 + nq - 1 - j0 <= band && j0 + nk - 1 - i0 <= band)) return;
    for (int j = 0; j < nk; ++j) {
        float* row = st + j * kBq;
#pragma omp simd
        for (int i = 0; i < kBq; ++i) {
            const int diff = i0 + i - (j0 + j);
            if (diff > band || -diff > band) row[i] = -kInf;
        }
    }
}

// Multiplies P^T[j][i] by the dropout factor of (b, h, i0 + i, j0 + j): 0 or 1/(1-p).
template <int NV>
void apply_dropout(float* pt, int nk, int j0, int i0, int b, int h, const AttentionCall& c) {
    constexpr int kBq = NV * kLanes;
    const uint32_t threshold = c.dropout_threshold;
    const float keep_scale = c.dropout_scale;
    for (int j = 0; j < nk; ++j) {
        const uint32_t key = attention_dropout_row_key(c.params.dropout_seed, b, h, j0 + j);
        float* row = pt + j * kBq;
#pragma omp simd
        for (int i = 0; i < kBq; ++i)
            row[i] *= attention_dropout_bits(key, i0 + i) >= threshold ? keep_scale : 0.0f;
    }
}

// xt (D, kBq) = scale · x^T for nq rows of x (row stride ld), lanes past nq zeroed.
template <int NV>
void pack_transposed(float* xt, const float* x, size_t ld, int nq, int D, float scale) {
    constexpr int kBq = NV * kLanes;
    std::fill(xt, xt + size_t(D) * kBq, 0.0f);
    for (int i = 0; i < nq; ++i)
        for (int d = 0; d < D; ++d) xt[d * kBq + i] = scale * x[i * ld + d];
}

// One online-softmax step over a (nk, kBq) score tile, in place: S^T becomes P^T =
// exp(S^T - m_new); alpha = exp(m_old - m_new) rescales the running sum l and (in the caller)
// O^T. Lanes with no finite score yet keep m = -inf and use 0 as their shift, so nothing is NaN.
template <int NV>
void online_softmax_step(float* st, int nk, float* m, float* l, float* alpha) {
    constexpr int kBq = NV * kLanes;
    const Vec16 minus_inf = splat(-kInf), zero = Vec16{};
    Vec16 shift[NV], sum[NV];
    for (int v = 0; v < NV; ++v) shift[v] = minus_inf;  // the tile max first
    for (int j = 0; j < nk; ++j)
        for (int v = 0; v < NV; ++v)
            shift[v] = max_vec(load_vec(st + j * kBq + v * kLanes), shift[v]);
    for (int v = 0; v < NV; ++v) {
        const Vec16 m_old = load_vec(m + v * kLanes), m_new = max_vec(shift[v], m_old);
        shift[v] = m_new == minus_inf ? zero : m_new;
        store_vec(alpha + v * kLanes, exp_nonpositive(m_old - shift[v]));
        store_vec(m + v * kLanes, m_new);
        sum[v] = zero;
    }
    for (int j = 0; j < nk; ++j)
        for (int v = 0; v < NV; ++v) {
            float* s = st + j * kBq + v * kLanes;
            const Vec16 p = exp_nonpositive(load_vec(s) - shift[v]);
            store_vec(s, p);
            sum[v] += p;
        }
    for (int v = 0; v < NV; ++v)
        store_vec(l + v * kLanes, load_vec(alpha + v * kLanes) * load_vec(l + v * kLanes) + sum[v]);
}

template <int NV>
void forward_tile(const AttentionCall& c, const QueryTile& t, float* scratch, float* out,
                  size_t ldo, float* lse) {
    constexpr int kBq = NV * kLanes;
    constexpr int kRows = block_rows(NV);
    const int D = c.dims.D;
    float* qt = scratch;               // (D, kBq): scale · Q^T of the tile
    float* ot = qt + size_t(D) * kBq;  // (D, kBq): unnormalised O^T
    float* st = ot + size_t(D) * kBq;  // (kKeyTile, kBq): S^T, then P^T
    pack_transposed<NV>(qt, c.at(c.q, c.ld, t.b, t.i0, t.h), c.ld, t.nq, D, c.params.scale);
    std::fill(ot, ot + size_t(D) * kBq, 0.0f);
    alignas(64) float m[kBq], l[kBq], alpha[kBq];  // running max, sum, rescale
    std::fill(m, m + kBq, -kInf);
    std::fill(l, l + kBq, 0.0f);
    for_each_key_range(c, t, [&](int begin, int end, int band) {
        for (int j0 = begin; j0 < end; j0 += kKeyTile) {
            const int nk = std::min(kKeyTile, end - j0);
            const float* k_rows = c.at(c.k, c.ld, t.b, j0, t.h);
            rows_times_transposed<NV, kRows>(st, kBq, k_rows, c.ld, nk, qt, kBq, D);
            mask_band<NV>(st, nk, j0, t.i0, t.nq, band);
            online_softmax_step<NV>(st, nk, m, l, alpha);
            if (c.params.dropout_p > 0.0f) apply_dropout<NV>(st, nk, j0, t.i0, t.b, t.h, c);
            const float* v_rows = c.at(c.v, c.ld, t.b, j0, t.h);
            transposed_accumulate<NV, kRows>(ot, kBq, alpha, v_rows, c.ld, nk, st, kBq, D);
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

// What backward reads besides the forward inputs.
struct BackwardInputs {
    const float* dout;
    const float* out;
    size_t ldo;
    const float* lse;
};

// P^T = exp(S^T - lse), dS^T = P^T ⊙ (dP^T ⊙ Z' - Dvec), P^T ⊙ Z' in place of S^T, dS^T in place
// of dP^T, with Z' the dropout factor (1 without dropout). Lanes with lse = +inf (padding, empty
// rows) get P = 0 and dS = 0.
template <int NV>
void backward_probabilities(float* st, float* dpt, int nk, const float* lse, const float* dvec,
                            int j0, int i0, int b, int h, const AttentionCall& c) {
    constexpr int kBq = NV * kLanes;
    const bool dropout = c.params.dropout_p > 0.0f;
    const uint32_t threshold = c.dropout_threshold;
    const float keep_scale = c.dropout_scale;
    Vec16 lse_v[NV], dvec_v[NV];
    for (int v = 0; v < NV; ++v) {
        lse_v[v] = load_vec(lse + v * kLanes);
        dvec_v[v] = load_vec(dvec + v * kLanes);
    }
    alignas(64) float z[kBq];
    for (int j = 0; j < nk; ++j) {
        if (dropout) {
            const uint32_t key = attention_dropout_row_key(c.params.dropout_seed, b, h, j0 + j);
#pragma omp simd
            for (int i = 0; i < kBq; ++i)
                z[i] = attention_dropout_bits(key, i0 + i) >= threshold ? keep_scale : 0.0f;
        }
        for (int v = 0; v < NV; ++v) {
            float* s = st + j * kBq + v * kLanes;
            float* dp = dpt + j * kBq + v * kLanes;
            const Vec16 p = exp_nonpositive(load_vec(s) - lse_v[v]);
            if (dropout) {
                const Vec16 zv = load_vec(z + v * kLanes);
                store_vec(dp, p * (load_vec(dp) * zv - dvec_v[v]));
                store_vec(s, p * zv);
            } else {
                store_vec(dp, p * (load_vec(dp) - dvec_v[v]));
                store_vec(s, p);
            }
        }
    }
}

// Gradients of one query tile: dQ rows of the tile are complete at the end and added to dq;
// dK, dV of the head accumulate in dk_acc, dv_acc ((len, Dp), unscaled dK).
template <int NV>
void backward_tile(const AttentionCall& c, const BackwardInputs& g, const QueryTile& t,
                   float* scratch, float* dk_acc, float* dv_acc, float* dq, size_t ld_grad) {
    constexpr int kBq = NV * kLanes;
    constexpr int kRows = block_rows(NV);
    const int D = c.dims.D;
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
    pack_transposed<NV>(qt, q, c.ld, t.nq, D, c.params.scale);
    pack_transposed<NV>(dot, dout, g.ldo, t.nq, D, 1.0f);
    std::fill(dqt, dqt + size_t(D) * kBq, 0.0f);
    std::fill(qn, qn + size_t(kBq) * Dp, 0.0f);
    std::fill(don, don + size_t(kBq) * Dp, 0.0f);
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
        dvec[i] = dot_sum;
        if (lse_in[i] != -kInf) lse[i] = lse_in[i];
    }
    for_each_key_range(c, t, [&](int begin, int end, int band) {
        for (int j0 = begin; j0 < end; j0 += kKeyTile) {
            const int nk = std::min(kKeyTile, end - j0);
            const float* k_rows = c.at(c.k, c.ld, t.b, j0, t.h);
            const float* v_rows = c.at(c.v, c.ld, t.b, j0, t.h);
            rows_times_transposed<NV, kRows>(st, kBq, k_rows, c.ld, nk, qt, kBq, D);
            rows_times_transposed<NV, kRows>(dpt, kBq, v_rows, c.ld, nk, dot, kBq, D);
            mask_band<NV>(st, nk, j0, t.i0, t.nq, band);
            backward_probabilities<NV>(st, dpt, nk, lse, dvec, j0, t.i0, t.b, t.h, c);
            rows_accumulate(dv_acc + size_t(j0) * Dp, Dp, st, kBq, nk, don, Dp, t.nq, Dp / kLanes);
            rows_accumulate(dk_acc + size_t(j0) * Dp, Dp, dpt, kBq, nk, qn, Dp, t.nq, Dp / kLanes);
            transposed_accumulate<NV, kRows>(dqt, kBq, ones, k_rows, c.ld, nk, dpt, kBq, D);
        }
    });
    float* dq_rows = dq + (size_t(t.b) * c.dims.T + t.i0) * ld_grad + size_t(t.h) * D;
    for (int i = 0; i < t.nq; ++i)
        for (int d = 0; d < D; ++d) dq_rows[i * ld_grad + d] += c.params.scale * dqt[d * kBq + i];
}

// Per-thread scratch, 64-byte aligned, carved from one allocation per call.
struct ThreadScratch {
    std::vector<float> storage;
    size_t per_thread = 0;
    ThreadScratch(int threads, size_t floats) : per_thread((floats + 15) / 16 * 16) {
        storage.resize(per_thread * threads + 16);
    }
    float* get(int thread) {
        float* base = storage.data();
        base += (16 - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % 16) % 16;
        return base + per_thread * thread;
    }
};

}  // namespace

void check_block_pattern(const BlockPattern& p, int T, int H) {
    XB_CHECK(p.query_block >= 1, "query_block={}", p.query_block);
    XB_CHECK(p.band >= -1, "band={}", p.band);
    if (!p.block_starts.empty()) {
        XB_CHECK(
            p.block_starts.size() >= 2 && p.block_starts.front() == 0 && p.block_starts.back() == T,
            "block_starts must run from 0 to T={}", T);
        for (size_t i = 1; i < p.block_starts.size(); ++i)
            XB_CHECK(p.block_starts[i - 1] < p.block_starts[i], "block_starts not increasing at {}",
                     i);
    }
    XB_CHECK(p.band_exempt.empty() || p.band_exempt.size() == p.ranges.size(),
             "band_exempt has {} entries, ranges {}", p.band_exempt.size(), p.ranges.size());
    const size_t entries = size_t(p.per_head ? H : 1) * p.num_query_blocks(T);
    XB_CHECK(p.offsets.size() == entries + 1, "offsets has {} entries, expected {}",
             p.offsets.size(), entries + 1);
    XB_CHECK(p.offsets.front() == 0 && size_t(p.offsets.back()) == p.ranges.size(),
             "offsets span [{}, {}), ranges has {}", p.offsets.front(), p.offsets.back(),
             p.ranges.size());
    for (size_t e = 0; e < entries; ++e) {
        XB_CHECK(p.offsets[e] <= p.offsets[e + 1], "offsets decrease at {}", e);
        int prev_end = 0;
        for (int r = p.offsets[e]; r < p.offsets[e + 1]; ++r) {
            const auto [begin, end] = p.ranges[r];
            XB_CHECK(begin >= prev_end && begin <= end && end <= T,
                     "range {} = [{}, {}) of entry {} not sorted, disjoint and inside [0, T={}]", r,
                     begin, end, e, T);
            prev_end = end;
        }
    }
}

void block_attention_forward(float* out, int ldo, float* lse, const float* q, const float* k,
                             const float* v, int ld, const int32_t* lengths,
                             const AttentionDims& dims, const AttentionParams& params,
                             const BlockPattern* pattern) {
    const AttentionCall c = make_call(q, k, v, ld, lengths, dims, params, pattern);
    XB_CHECK(ldo >= dims.H * dims.D, "ldo={} < H*D={}", ldo, dims.H * dims.D);
    std::vector<QueryTile> tiles;
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < dims.H; ++h) append_query_tiles(tiles, c, b, h);
    // Skipped (padded) rows: output 0, lse -inf.
    for (int b = 0; b < dims.B; ++b) {
        for (int t = lengths[b]; t < dims.T; ++t)
            std::fill_n(out + (size_t(b) * dims.T + t) * ldo, dims.H * dims.D, 0.0f);
        for (int h = 0; h < dims.H; ++h)
            std::fill(c.lse_row(lse, b, h) + lengths[b], c.lse_row(lse, b, h) + dims.T, -kInf);
    }
    const int threads = omp_get_max_threads();
    ThreadScratch scratch(threads, size_t(2 * dims.D + kKeyTile) * kQueryTile);
    const long n_tiles = long(tiles.size());
    // Round-robin tiles: tiles differ in cost (pattern, lengths); each is computed whole by one
    // thread, so the result does not depend on the thread count at all.
#pragma omp parallel num_threads(threads)
    {
        float* s = scratch.get(omp_get_thread_num());
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_tiles; ++n) {
            const QueryTile& t = tiles[n];
            with_lane_vectors(
                t.nq, [&](auto nv) { forward_tile<decltype(nv)::value>(c, t, s, out, ldo, lse); });
        }
    }
}

void block_attention_backward(float* dq, float* dk, float* dv, int ld_grad, const float* dout,
                              int ldo, const float* out, const float* lse, const float* q,
                              const float* k, const float* v, int ld, const int32_t* lengths,
                              const AttentionDims& dims, const AttentionParams& params,
                              const BlockPattern* pattern) {
    const AttentionCall c = make_call(q, k, v, ld, lengths, dims, params, pattern);
    XB_CHECK(ldo >= dims.H * dims.D && ld_grad >= dims.H * dims.D, "ldo={}, ld_grad={} < H*D={}",
             ldo, ld_grad, dims.H * dims.D);
    const BackwardInputs g{dout, out, size_t(ldo), lse};
    const int D = dims.D, Dp = (D + kLanes - 1) / kLanes * kLanes;
    const int threads = omp_get_max_threads();
    const size_t tile_floats = size_t(3 * D + 2 * Dp + 2 * kKeyTile) * kQueryTile;
    ThreadScratch scratch(threads, tile_floats + 2 * size_t(dims.T) * Dp);
    const long n_heads = long(dims.B) * dims.H;
    // One thread owns all of dq, dk, dv of a head: race-free without atomics, and each head is
    // computed in a fixed order, so results do not depend on the thread count.
#pragma omp parallel num_threads(threads)
    {
        float* s = scratch.get(omp_get_thread_num());
        float* dk_acc = s + (tile_floats + 15) / 16 * 16;  // (T, Dp)
        float* dv_acc = dk_acc + size_t(dims.T) * Dp;      // (T, Dp)
        std::vector<QueryTile> tiles;
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_heads; ++n) {
            const int b = int(n / dims.H), h = int(n % dims.H), len = lengths[b];
            if (len == 0) continue;
            std::fill(dk_acc, dk_acc + size_t(len) * Dp, 0.0f);
            std::fill(dv_acc, dv_acc + size_t(len) * Dp, 0.0f);
            tiles.clear();
            append_query_tiles(tiles, c, b, h);
            for (const QueryTile& t : tiles) {
                with_lane_vectors(t.nq, [&](auto nv) {
                    backward_tile<decltype(nv)::value>(c, g, t, s, dk_acc, dv_acc, dq, ld_grad);
                });
            }
            float* dk_rows = dk + size_t(b) * dims.T * ld_grad + size_t(h) * D;
            float* dv_rows = dv + size_t(b) * dims.T * ld_grad + size_t(h) * D;
            for (int j = 0; j < len; ++j)
                for (int d = 0; d < D; ++d) {
                    dk_rows[j * size_t(ld_grad) + d] += params.scale * dk_acc[size_t(j) * Dp + d];
                    dv_rows[j * size_t(ld_grad) + d] += dv_acc[size_t(j) * Dp + d];
                }
        }
    }
}

}  // namespace xb
