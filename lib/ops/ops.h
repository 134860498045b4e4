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
// gelu(x + b) for x (N.., C), b (C): the bias add and activation of a feed-forward layer in one
// pass, forward and backward (the same values as gelu(x + b) bit for bit).
Var bias_gelu(const Var& x, const Var& b);
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
// x + dropout(h, p, seed, stream) in one pass, forward and backward (the residual branch of a
// block): the same values and gradients as add(x, dropout(h, ...)) up to float rounding.
Var residual_dropout(const Var& x, const Var& h, float p, uint64_t seed, uint64_t stream);

// ids (B*T) in [0, V) -> table rows times scale (B, T, C); table (V, C)
Var embedding(const std::vector<int32_t>& ids, int64_t B, int64_t T, const Var& table,
              float scale = 1.0f);

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

// ---- Attention building blocks (batched matrices; G = any group dims such as heads) ----

// Per-batch matrix product: a (N.., M, K) or (N.., K, M) if trans_a, b (N.., K, P) or
// (N.., P, K) if trans_b, with the same leading dims N.. -> alpha · op(a) op(b) (N.., M, P).
Var batched_matmul(const Var& a, const Var& b, bool trans_a, bool trans_b, float alpha = 1.0f);

// Softmax over the last dim of x (B, G.., R, L). Entries in columns j >= col_lengths[b] and
// whole rows i >= row_lengths[b] are 0 (a null lengths vector masks nothing); a row with no
// valid column is 0.
Var masked_softmax(const Var& x, const std::vector<int32_t>* row_lengths,
                   const std::vector<int32_t>* col_lengths);

// Head split of part p of a fused projection: x (B, T, parts·H·D) -> (B, H, T, D).
Var split_heads(const Var& x, int heads, int part, int parts);
// Inverse layout: x (B, H, T, D) -> (B, T, H·D).
Var merge_heads(const Var& x);

// The leading block x[.., 0:rows, 0:cols] of x (N.., R, L) -> (N.., rows, cols).
Var slice_leading(const Var& x, int64_t rows, int64_t cols);

// Row gather: x viewed as rows (N, X); output unit u = x[src[u], channel_begin:channel_end]
// (channel_end -1: X), or zeros where src[u] = -1, laid out as out_shape (numel = units ×
// width). Backward scatter-adds. Sequence layouts of the memory variants (grids, groups).
Var gather_rows(const Var& x, std::vector<int64_t> src, const Shape& out_shape,
                int64_t channel_begin = 0, int64_t channel_end = -1);
// Channels [channel_begin, channel_end) (channel_end -1: all) of the rows of x.
struct GatherPiece {
    Var x;
    int64_t channel_begin = 0, channel_end = -1;
};
// The same with several sources side by side, all with the same number of rows: unit u is the
// concatenation of every piece's channels of row src[u], in the order given. One pass where a
// gather per piece and a concatenation would copy everything twice.
Var gather_rows(std::vector<GatherPiece> pieces, std::vector<int64_t> src, const Shape& out_shape);

// Means of S = min(segments, T) contiguous segments of x (B, G.., T, D) -> (B, G.., S, D).
// Segment s covers [floor(s·T/S), floor((s+1)·T/S)) ∩ [0, lengths[b]); an empty one gives 0.
Var segment_means(const Var& x, const std::vector<int32_t>& lengths, int segments);
// Per batch row, how many of those segments hold at least one valid token (a prefix).
std::vector<int32_t> segment_valid_counts(int64_t T, int segments,
                                          const std::vector<int32_t>& lengths);

// Iterative Moore-Penrose pseudo-inverse pieces (Razavi et al. 2014, as in Nyströmformer):
// a (N.., M, M) -> aᵀ / (‖a‖₁ ‖a‖∞) per matrix (gradients flow through the norms too).
Var pinv_initial_guess(const Var& a);
// c·I - a for a (N.., M, M).
Var scaled_identity_minus(const Var& a, float c);
// Z ← ¼ Z (13I − AZ (15I − AZ (7I − AZ))), `iterations` times from pinv_initial_guess(a).
Var iterative_pinv(const Var& a, int iterations);

// Normalised kernel attention with feature maps: phi_q, phi_k (B, G.., T, M), v (B, G.., T, D)
// -> o_i = φq_i S / (φq_i · z), S = Σ_{j<len} φk_j v_jᵀ, z = Σ_{j<len} φk_j. Padded keys are
// excluded; padded query rows and rows with a zero normaliser output 0.
Var kernel_attention(const Var& phi_q, const Var& phi_k, const Var& v,
                     const std::vector<int32_t>& lengths);

// Projection along the sequence (Linformer): e (He, K, Lmax) with He = 1 (shared) or G, x (B, G,
// T, D) -> (B, G, K, D) = e[g][:, 0:len] x[b, g, 0:len]: padded rows of x are treated as zero.
Var sequence_projection(const Var& e, const Var& x, const std::vector<int32_t>& lengths);

// ---- Sparse Sinkhorn attention (sorted_blocks.cpp); blocks of `block` rows, N = ceil(T/block)
// ----

// Per batch row, the blocks holding at least one valid token: ceil(min(len, T) / block).
std::vector<int32_t> valid_block_counts(int64_t T, int block, const std::vector<int32_t>& lengths);
// Means over each block's valid rows: x (B, G.., T, D) -> (B, G.., N, D); an empty block gives 0.
Var block_means(const Var& x, const std::vector<int32_t>& lengths, int block);
// Log-space Sinkhorn normalisation of logits (B, G.., N, N) / temperature, restricted to the
// leading valid[b] × valid[b] block: `iterations` rounds of row then column log-sum-exp
// subtraction, then exp -> (B, G.., N, N), zero outside the valid block. Differentiable through
// every round (each half-step's output is saved, (B·G, 2·iterations, N, N)).
Var sinkhorn_normalize(const Var& logits, const std::vector<int32_t>& valid, int iterations,
                       float temperature);
// Soft permutation of blocks: p (B, G.., N, N), x (B, G.., T, D) -> (B, G.., N·block, D) with
// row p' of out block i = Σ_j p[i, j] · x[j·block + p'] over the valid rows of x (padded rows
// and rows past T count as zero).
Var permute_blocks(const Var& p, const Var& x, const std::vector<int32_t>& lengths, int block);
// Each query block i of q (B, G.., T, D) attends, with one softmax, to the valid keys of its own
// block of k, v (B, G.., T, D) and to the first min(block, len) rows of block i of ks, vs
// (B, G.., N·block, D) (permute_blocks output: its row p' holds a valid key iff p' < len).
// Logits scale·q·k; dropout_p > 0 drops probabilities with a mask that is a pure function of
// dropout_seed. Padded query rows output 0. Saves the row log-sum-exp (B·G, T) and recomputes
// the probabilities in backward: O(B·G·T·2·block·D) time, O(B·G·T) memory beyond the inputs.
Var own_and_sorted_block_attention(const Var& q, const Var& k, const Var& v, const Var& ks,
                                   const Var& vs, const std::vector<int32_t>& lengths, int block,
                                   float scale, float dropout_p, uint64_t dropout_seed);

// ---- Segment recurrence with a memory (Transformer-XL, Compressive Transformer;
// segment_attention.cpp) ----

// Which keys a segment sees. The sequence is cut into segments of `segment` positions; segment
// g attends to itself, to the `memory` segments before it and to the compressed slots of the
// `compressed` segments before those (segment / rate slots each, slot w summarising positions
// [w·rate, (w+1)·rate)). Keys are numbered [compressed slots; memory; own segment], L = keys()
// in all; query a of the segment has number L − segment + a and the relative offset of a pair is
// query number − key number, in [−(segment − 1), L − 1]. Keys before the sequence start are
// missing (masked); offsets stay those of the full layout.
struct SegmentLayout {
    int segment = 1, memory = 0, compressed = 0, rate = 1;
    int64_t slots() const { return int64_t(compressed) * (segment / rate); }
    int64_t keys() const { return slots() + int64_t(memory) * segment + segment; }
    int64_t offsets() const { return keys() + segment - 1; }  // rows of rk
};

// Relative-position attention over segments with a memory (Dai et al. 2019, eq. in §3.3):
// q (B, T, C); kv, kvm (B, T, 2C) keys then values of the own segment and of the memory (the
// caller projects the memory from a stop-gradient input); kvc (B, Tc, 2C) the compressed slots
// (null when layout.compressed = 0; Tc covers every slot a valid query reaches); u, v (C); rk
// (layout.offsets(), C) whose row o is the relative key of offset o − (segment − 1). Per head h
// (channels [h·D, (h+1)·D)): logit(i, j) = scale·((q_i + u)·k_j + (q_i + v)·rk_{i−j}), softmax
// over i's key set (own keys j < lengths[b]). dropout_p > 0 drops probabilities with a mask
// that is a pure function of dropout_seed. Padded query rows output 0. Saves the row
// log-sum-exp (B·H, T) and recomputes the probabilities in backward.
Var segment_attention(const Var& q, const Var& kv, const Var& kvm, const Var& kvc, const Var& u,
                      const Var& v, const Var& rk, int heads, const SegmentLayout& layout,
                      const std::vector<int32_t>& lengths, float scale, float dropout_p,
                      uint64_t dropout_seed);

// ---- Attention-free mixers (FFTs through core/fft.h) ----

// FNet mixing: the real part of the 2-D DFT over (sequence, hidden) of each example's first
// lengths[b] rows, times 1/√(L·C) when unitary: x (B, T, C) -> (B, T, C); padded rows are 0.
Var fourier_mix(const Var& x, const std::vector<int32_t>& lengths, bool unitary);

// S4D convolution kernels by the Vandermonde product (ZOH): for direction r, channel c, lag l,
//   k[r, c, l] = 2·Re Σ_n C[r,c,n] · B[c,n] · (e^{λ_n} − 1)/A[c,n] · e^{l·λ_n},  λ = Δ_c·A[c,n],
//   Δ = exp(log_dt), A = −exp(log_a_real) + i·a_imag, plus the skip d[c] at k[0, c, 0].
// log_dt (C), log_a_real, a_imag (C, N) [N complex modes], b (C, N, 2), c (R, C, N, 2)
// [complex as (re, im)], d (C) -> k (R, C, T). R = 1 (causal) or 2 (bidirectional).
Var s4d_kernel(const Var& log_dt, const Var& log_a_real, const Var& a_imag, const Var& b,
               const Var& c, const Var& d, int64_t T);

// Long convolution over each example's valid length, by FFT: u (B, T, C), k (R, C, T) ->
//   y[b, t, c] = Σ_{s≤t} k[0, c, t−s]·u[b, s, c] + (R = 2) Σ_{t<s<L} k[1, c, s−t−1]·u[b, s, c]
// for t < L = lengths[b]; padded rows are 0 and padded inputs never enter.
Var long_conv(const Var& u, const Var& k, const std::vector<int32_t>& lengths);

// Gated linear unit over the last dim: x (N.., 2C) -> x[.., 0:C] ⊙ σ(x[.., C:2C]) (N.., C)
Var glu(const Var& x);

}  // namespace xb
