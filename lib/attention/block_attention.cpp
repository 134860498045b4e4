// Fused block attention (block_attention.h): argument checks, the list of query tiles, padded
// rows; the tiles themselves run in the per-SIMD-target kernels (block_attention_kernels.cpp).
#include "attention/block_attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "attention/block_attention_tiles.h"
#include "core/check.h"

namespace xb {

using namespace block_attention_detail;

namespace {

AttentionCall make_call(const float* q, const float* k, const float* v, int ld,
                        const int32_t* lengths, const AttentionDims& dims,
                        const AttentionParams& params, const BlockPattern* pattern,
                        const int32_t* key_lengths) {
    XB_CHECK(dims.B >= 0 && dims.T >= 1 && dims.H >= 1 && dims.D >= 1, "dims B={} T={} H={} D={}",
             dims.B, dims.T, dims.H, dims.D);
    XB_CHECK(ld >= dims.H * dims.D, "ld={} < H*D={}", ld, dims.H * dims.D);
    XB_CHECK(params.dropout_p >= 0.0f && params.dropout_p < 1.0f, "dropout_p={} not in [0, 1)",
             params.dropout_p);
    if (!key_lengths) key_lengths = lengths;
    for (int b = 0; b < dims.B; ++b)
        XB_CHECK(lengths[b] >= 0 && lengths[b] <= dims.T && key_lengths[b] >= 0 &&
                     key_lengths[b] <= dims.T,
                 "lengths[{}]={}, key_lengths[{}]={} not in [0, T={}]", b, lengths[b], b,
                 key_lengths[b], dims.T);
    if (pattern) check_block_pattern(*pattern, dims.T, dims.H);
    AttentionCall c{q, k, v, size_t(ld), lengths, key_lengths, dims, params, pattern, 0, 1.0f};
    if (params.dropout_p > 0.0f) {
        c.dropout_threshold = attention_dropout_threshold(params.dropout_p);
        c.dropout_scale = 1.0f / (1.0f - params.dropout_p);
    }
    return c;
}

}  // namespace

namespace block_attention_detail {

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

}  // namespace block_attention_detail

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
                             const BlockPattern* pattern, const int32_t* key_lengths) {
    const AttentionCall c = make_call(q, k, v, ld, lengths, dims, params, pattern, key_lengths);
    XB_CHECK(ldo >= dims.H * dims.D, "ldo={} < H*D={}", ldo, dims.H * dims.D);
    std::vector<QueryTile> tiles;
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < dims.H; ++h) append_query_tiles(tiles, c, b, h);
    // Skipped (padded) rows: output 0, lse -inf.
    const float inf = std::numeric_limits<float>::infinity();
    for (int b = 0; b < dims.B; ++b) {
        for (int t = lengths[b]; t < dims.T; ++t)
            std::fill_n(out + (size_t(b) * dims.T + t) * ldo, dims.H * dims.D, 0.0f);
        for (int h = 0; h < dims.H; ++h)
            std::fill(c.lse_row(lse, b, h) + lengths[b], c.lse_row(lse, b, h) + dims.T, -inf);
    }
    block_attention_forward_tiles(c, tiles, out, size_t(ldo), lse);
}

void block_attention_backward(float* dq, float* dk, float* dv, int ld_grad, const float* dout,
                              int ldo, const float* out, const float* lse, const float* q,
                              const float* k, const float* v, int ld, const int32_t* lengths,
                              const AttentionDims& dims, const AttentionParams& params,
                              const BlockPattern* pattern, const int32_t* key_lengths,
                              bool overwrite) {
    const AttentionCall c = make_call(q, k, v, ld, lengths, dims, params, pattern, key_lengths);
    XB_CHECK(ldo >= dims.H * dims.D && ld_grad >= dims.H * dims.D, "ldo={}, ld_grad={} < H*D={}",
             ldo, ld_grad, dims.H * dims.D);
    block_attention_backward_heads(c, {dout, out, size_t(ldo), lse, overwrite}, dq, dk, dv,
                                   size_t(ld_grad));
}

}  // namespace xb
