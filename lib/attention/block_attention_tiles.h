// Internals of the fused block attention shared by its driver (block_attention.cpp) and its
// per-SIMD-target kernels (block_attention_kernels.cpp): the call's arguments, query tiles and
// the walk over a tile's key ranges. Not a public header.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "attention/block_attention.h"

namespace xb::block_attention_detail {

constexpr int kQueryTile = 64;  // rows per query tile, along SIMD lanes (4 AVX-512 vectors)
constexpr int kKeyTile = 64;    // keys per score tile: S^T and dP^T tiles of 16 KB stay in L1

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
    const int32_t* lengths;      // valid queries per batch row
    const int32_t* key_lengths;  // valid keys per batch row (== lengths for self-attention)
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
    template <class F>
    F* lse_row(F* lse, int b, int h) const {
        return lse + (size_t(b) * dims.H + h) * dims.T;
    }
};

// What backward reads besides the forward inputs.
struct BackwardInputs {
    const float* dout;
    const float* out;
    size_t ldo;
    const float* lse;
    // Write dq, dk, dv instead of adding to them: every element of their H·D columns and T rows
    // is written once (0 where no gradient flows), so the buffers need no zero-fill first.
    bool overwrite = false;
};

// Query tiles of head (b, h): the pattern's query blocks cut at the valid length, then split
// into tiles of at most kQueryTile rows (so each tile has one key-range list).
void append_query_tiles(std::vector<QueryTile>& tiles, const AttentionCall& c, int b, int h);

// Calls f(begin, end, band) for each key range of the tile, clipped to the valid keys and, for
// banded ranges, to the band (band = -1 for ranges the band does not apply to).
template <class F>
void for_each_key_range(const AttentionCall& c, const QueryTile& t, F&& f) {
    const int len = c.key_lengths[t.b];
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

// The SIMD kernels, dispatched to the best target at run time (block_attention_kernels.cpp).
// Forward computes every tile (rows of padded queries are left to the caller); backward adds
// the gradients of every (b, h) head.
void block_attention_forward_tiles(const AttentionCall& c, const std::vector<QueryTile>& tiles,
                                   float* out, size_t ldo, float* lse);
void block_attention_backward_heads(const AttentionCall& c, const BackwardInputs& g, float* dq,
                                    float* dk, float* dv, size_t ld_grad);

}  // namespace xb::block_attention_detail
