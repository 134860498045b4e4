// Fused multi-head softmax attention over a block pattern (FlashAttention-style online softmax,
// xformers.md 4.1/4.2): full, banded and block-sparse key sets, key padding, attention dropout.
// Time O(B·H·T·keys·D); memory O(B·H·T) beyond the inputs: forward saves only the per-row
// log-sum-exp and backward recomputes the probabilities from it. No T×T matrix is ever built.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace xb {

struct AttentionDims {
    int B = 0;  // batch
    int T = 0;  // padded sequence length
    int H = 0;  // heads
    int D = 0;  // head width
};

// Which keys each query block attends to, before key padding is applied. Query blocks are
// [qb*query_block, (qb+1)*query_block) cut at T, or, when block_starts is given, the explicit
// rows [block_starts[qb], block_starts[qb+1]) (0 = first < ... < last = T; lets single global
// rows be blocks of their own). The key ranges [begin, end) of block qb are
// ranges[offsets[idx]], ..., ranges[offsets[idx+1] - 1] with idx = (per_head ? h : 0)*nqb + qb,
// nqb = num_query_blocks(T); sorted and disjoint. band >= 0 additionally masks |i - j| > band in
// every range except those with band_exempt[r] = 1 (global columns next to a sliding window);
// band_exempt is empty (no exemption) or parallel to ranges.
struct BlockPattern {
    int query_block = 64;
    int band = -1;
    bool per_head = false;
    std::vector<int32_t> offsets;                     // (heads·nqb + 1)
    std::vector<std::pair<int32_t, int32_t>> ranges;  // key ranges [begin, end)
    std::vector<uint8_t> band_exempt;                 // empty or (ranges.size())
    std::vector<int32_t> block_starts;                // empty or (nqb + 1)
    int num_query_blocks(int T) const {
        return block_starts.empty() ? (T + query_block - 1) / query_block
                                    : int(block_starts.size()) - 1;
    }
    int block_begin(int qb) const {
        return block_starts.empty() ? qb * query_block : block_starts[qb];
    }
    int block_end(int qb, int T) const {
        return block_starts.empty() ? std::min(T, (qb + 1) * query_block) : block_starts[qb + 1];
    }
    bool banded(int r) const { return band >= 0 && (band_exempt.empty() || !band_exempt[r]); }
};

// Aborts (XB_CHECK) unless the pattern is well formed for sequence length T and H heads.
void check_block_pattern(const BlockPattern& pattern, int T, int H);

struct AttentionParams {
    float scale = 1.0f;         // logits are scale · q·k, usually 1/sqrt(D)
    float dropout_p = 0.0f;     // attention dropout on the probabilities, in [0, 1)
    uint64_t dropout_seed = 0;  // mask = pure function of (seed, b, h, i, j)
    // Shared-QK attention (Reformer): key row i is masked for query row i (a row whose only key
    // is itself has an empty key set: output 0, lse -inf; the caller decides what it means).
    bool mask_self = false;
};

// Layout: element (b, t, h, d) of q, k, v is at ptr[(b*T + t)*ld + h*D + d]; ld >= H*D lets q,
// k, v be slices of one fused (B, T, 3·H·D) projection. out, dout use ldo; dq, dk, dv ld_grad.
// lengths[b] in [0, T] valid positions of example b (padding is a suffix). Keys j >= lengths[b]
// are masked; query rows i >= lengths[b] are skipped: output 0, lse -inf, no gradient. Rows
// whose key set is empty also output 0 with lse = -inf. pattern == nullptr: all valid keys.
// key_lengths (optional, in [0, T]): keys j >= key_lengths[b] are masked instead, for
// attention whose keys are another sequence than its queries (cross_attention.h); rows of k, v
// past the key count are never read.

// out (B,T,·,ldo): attention output; lse (B,H,T): per-row log-sum-exp of the scaled logits.
void block_attention_forward(float* out, int ldo, float* lse, const float* q, const float* k,
                             const float* v, int ld, const int32_t* lengths,
                             const AttentionDims& dims, const AttentionParams& params,
                             const BlockPattern* pattern, const int32_t* key_lengths = nullptr);

// Adds (+=) the gradients of the loss w.r.t. q, k, v into dq, dk, dv, given dout, the out and
// lse written by forward with the same arguments; with overwrite, writes them instead (all T rows
// of the H·D columns, 0 where no gradient flows: the buffers may hold anything before). Parallel
// over (b, h); each (b, h) is computed by one thread in a fixed order, so results are bitwise
// reproducible for any thread count.
void block_attention_backward(float* dq, float* dk, float* dv, int ld_grad, const float* dout,
                              int ldo, const float* out, const float* lse, const float* q,
                              const float* k, const float* v, int ld, const int32_t* lengths,
                              const AttentionDims& dims, const AttentionParams& params,
                              const BlockPattern* pattern, const int32_t* key_lengths = nullptr,
                              bool overwrite = false);

// Double-precision O(T²)-memory references with an explicit mask built from the same pattern
// semantics and the same dropout mask (block_attention_naive.cpp); used by the tests.
void block_attention_forward_naive(double* out, int ldo, double* lse, const double* q,
                                   const double* k, const double* v, int ld, const int32_t* lengths,
                                   const AttentionDims& dims, const AttentionParams& params,
                                   const BlockPattern* pattern,
                                   const int32_t* key_lengths = nullptr);
void block_attention_backward_naive(double* dq, double* dk, double* dv, int ld_grad,
                                    const double* dout, int ldo, const double* q, const double* k,
                                    const double* v, int ld, const int32_t* lengths,
                                    const AttentionDims& dims, const AttentionParams& params,
                                    const BlockPattern* pattern,
                                    const int32_t* key_lengths = nullptr);

// Attention dropout mask. Element (b, h, query i, key j) is kept iff
// attention_dropout_bits(attention_dropout_row_key(seed, b, h, j), i) >= threshold(p), which
// happens with probability 1 - p; kept elements are scaled by 1/(1 - p). The per-key part is a
// full counter-based hash (rng.h); the per-query part is a cheap 32-bit mix that vectorises.
inline uint32_t attention_dropout_row_key(uint64_t seed, int b, int h, int j) {
    return uint32_t(random_bits(seed, (uint64_t(uint32_t(b)) << 32) | uint32_t(h), uint32_t(j)) >>
                    32);
}
inline uint32_t attention_dropout_bits(uint32_t row_key, int i) {
    uint32_t x = row_key + uint32_t(i) * 0x9E3779B1u;  // murmur3 fmix32: a bijection
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}
inline uint32_t attention_dropout_threshold(float p) {
    double t = double(p) * 4294967296.0;
    return t >= 4294967295.0 ? 4294967295u : uint32_t(t);
}
inline bool attention_dropout_keep(uint64_t seed, int b, int h, int i, int j, float p) {
    return attention_dropout_bits(attention_dropout_row_key(seed, b, h, j), i) >=
           attention_dropout_threshold(p);
}

}  // namespace xb
