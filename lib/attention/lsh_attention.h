// LSH attention (Reformer, Kitaev et al. 2020; xformers.md 1.9), the mechanism of the `reformer`
// variant. Shared QK: per head one vector q per token, the keys are q/‖q‖. Each of R rounds
// sorts the tokens by (hash bucket, position); the sorted order is cut into chunks, each chunk
// attends to itself and the chunk before it (the first chunk only to itself), and a token
// attends to itself only when it has no other key in any round (it then outputs its value). The
// rounds are combined by their log-sum-exp, i.e. one softmax over the multiset of every round's
// keys. All rounds run through the fused block attention kernel as extra rows; its backward, given
// each token's COMBINED output and log-sum-exp, recomputes exactly the probabilities of that one
// softmax.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "attention/block_attention.h"
#include "autograd/tape.h"

namespace xb {

// The sorted order of every (batch row, head, round) group gr = (b·H + h)·rounds + r:
// perm[gr·T + p] is the token at sorted position p. Valid tokens come first, sorted stably by
// bucket; padded tokens (t >= lengths[b]) follow in position order.
struct LshSort {
    int rounds = 0, T = 0;
    std::vector<int32_t> perm;
};

// Hashes the q half of qv (B, T, 2C; heads of D = C/heads) by h(x) = argmax([xR; -xR]) with one
// random rotation R (D, n_buckets/2) per round, drawn from rotation_seed and shared by batch
// rows and heads; n_buckets = 1 puts every token in one bucket. Not differentiable (piecewise
// constant). n_buckets must be 1 or even.
LshSort lsh_sort(const Tensor& qv, int heads, const std::vector<int32_t>& lengths, int n_hashes,
                 int n_buckets, uint64_t rotation_seed);

// Query blocks of `chunk` rows; block c attends to rows [(c-1)·chunk, (c+1)·chunk) ∩ [0, T).
BlockPattern lsh_chunk_pattern(int T, int chunk);

// qv (B, T, 2C): per head the query (first C channels) and value (last C) of each token ->
// (B, T, C). params: scale, attention dropout (mask_self is always on). A token with no key but
// itself in every round outputs its own value (no dropout, no gradient to q). Padded query rows
// output 0. Saves the output and the combined row log-sum-exp (B·H, T); backward re-sorts the
// rows, so memory while attending is O(B·R·T·C) and O(B·T·C) between forward and backward.
Var lsh_attention(const Var& qv, int heads, const std::vector<int32_t>& lengths,
                  std::shared_ptr<const LshSort> sort, int chunk, const AttentionParams& params);

}  // namespace xb
