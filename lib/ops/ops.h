// Differentiable ops on Vars. Each op family lives in one file with its raw forward and
// backward loops adjacent; the Var wrapper computes the output and, when gradients are on,
// records a backward step that ADDS into the inputs' gradients.
//
// Dimension legend: B batch, T tokens, C model width, H heads, D head width, F feed-forward
// width, V vocab, K classes, N rows (any leading dims flattened), IN/OUT linear widths.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tape.h"

namespace xb {

// x (N.., IN), w (OUT, IN), b (OUT) or nullptr -> (N.., OUT)
Var linear(const Var& x, const Var& w, const Var& b);

// Normalises over the last dim: x (N.., C), gamma (C), beta (C) -> (N.., C)
Var layernorm(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

// GELU, tanh approximation (as flax nn.gelu and GPT-2)
Var gelu(const Var& x);
Var relu(const Var& x);

// Elementwise, same shapes
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);

// Concatenate along the last dim: xs[i] (N.., Ci) -> (N.., ΣCi)
Var concat_last(const std::vector<Var>& xs);

// Inverted dropout with a counter-based mask keyed by (seed, stream, element index), so the
// same mask is regenerated in backward without storing it. p == 0 returns x itself.
Var dropout(const Var& x, float p, uint64_t seed, uint64_t stream);

// ids (B*T) in [0, V) -> table rows (B, T, C); table (V, C)
Var embedding(const std::vector<int32_t>& ids, int64_t B, int64_t T, const Var& table);

// x (B, T, C) + table[0:T] (Tmax, C), broadcast over B. table may be a constant (sinusoidal).
Var add_positions(const Var& x, const Var& table);
// The fixed sinusoidal position table (Tmax, C) of Vaswani et al.
Tensor sinusoidal_table(int64_t Tmax, int64_t C);

// x (B, T, C), token (C) -> (B, T+1, C) with the token at position 0 (a learned CLS vector)
Var prepend_token(const Var& x, const Var& token);

// Mean over the first lengths[b] positions: x (B, T, C) -> (B, C). lengths[b] == 0 gives 0.
Var mean_pool(const Var& x, const std::vector<int32_t>& lengths);
// Position 0 of every sequence: x (B, T, C) -> (B, C)
Var first_token(const Var& x);

// Mean softmax cross-entropy: logits (B, K), labels[b] in [0, K) -> scalar
Var cross_entropy(const Var& logits, const std::vector<int32_t>& labels);

}  // namespace xb
