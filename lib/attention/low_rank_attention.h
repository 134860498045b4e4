// softmax(Q K̄ᵀ / √D) V̄ for the queries of a fused (B, T, 3C) projection over a short sequence
// of k projected keys and values (B, H, k, D), as Linformer computes it (linformer.cpp).
#pragma once
#include "attention/mixer.h"

namespace xb {

// In the fused kernel (block_attention.h with k valid keys): K̄, V̄ are laid out token-major in
// the columns [C, 3C) of the first k rows of a (B, T, 3C) buffer, which the kernel reads with the
// stride of qkv (q comes from qkv itself). Keeps the row log-sum-exp (B, H, T) and that buffer;
// no (B, H, T, k) tensor. Needs k <= T. Attention dropout uses the kernel's mask.
Var low_rank_fused_attention(const Var& qkv, const Var& k_proj, const Var& v_proj, int heads,
                             const MixContext& ctx, float dropout, int layer);

// The same from ops (batched matmuls and a masked softmax over (B, H, T, k) scores), for any k;
// attention dropout uses the dropout op's mask. The reference of the fused one in the tests.
Var low_rank_composed_attention(const Var& qkv, const Var& k_proj, const Var& v_proj, int heads,
                                const MixContext& ctx, float dropout, int layer);

}  // namespace xb
