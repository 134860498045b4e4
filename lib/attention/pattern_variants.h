// The key patterns of the pattern-based variants, one function per variant file, exposed so the
// tests can compare each against the paper's per-element definition.
#pragma once
#include <cstdint>
#include <vector>

#include "attention/block_attention.h"
#include "attention/mixer.h"

namespace xb {

// local_attention.cpp: blocks of `block` positions attend within themselves.
BlockPattern local_pattern(int T, int block);
// sliding_attention.cpp: |i - j| <= band.
BlockPattern sliding_pattern(int T, int band);
// sparse_attention.cpp: fixed pattern, own block ∪ summary columns (merged) or split by head.
BlockPattern fixed_sparse_pattern(int T, int H, int block, int summary, bool split);
// sparse_attention.cpp, strided pattern, split heads: even heads |i - j| <= stride (this
// pattern), odd heads (i - j) mod stride = 0 (strided_attention.cpp: the kernel on strided views
// of q, k, v, one call per batch row and residue class; strided_heads_pattern is its pattern
// inside a class: odd heads all keys, even heads none).
BlockPattern strided_local_pattern(int T, int H, int stride);
BlockPattern strided_heads_pattern(int T, int H);
Var strided_attention_op(const Var& qkv, int heads, const MixContext& ctx, float dropout, int layer,
                         int stride);

// longformer_attention.cpp: |i - j| <= band, or i or j global. kWindow: global rows get no
// keys; kGlobal: only global rows have keys (for separate global projections).
enum class LongformerRows { kAll, kWindow, kGlobal };
BlockPattern longformer_pattern(int T, int band, const std::vector<int>& global_positions,
                                LongformerRows rows = LongformerRows::kAll);

// bigbird_attention.cpp.
struct BigBirdOptions {
    int block = 64, random_blocks = 3, window_blocks = 3;
    std::vector<int> global_blocks{0, -1};  // block indices, negative from the end
    bool lra_random_range = false;          // random blocks only among the first 1024 positions
    uint64_t seed = 0;                      // run seed
    int layer = 0;
};
BlockPattern bigbird_pattern(int T, int H, const BigBirdOptions& options);

}  // namespace xb
