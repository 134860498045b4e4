// Non-causal linear attention (Katharopoulos et al. 2020, xformers.md 1.8): φ(x) = elu(x) + 1,
// O_i = φ(q_i)ᵀS / (φ(q_i)ᵀz + eps), S = Σ_j φ(k_j) v_jᵀ (D×D), z = Σ_j φ(k_j) over valid keys.
// Time O(B·H·T·D²), memory O(B·H·D²): forward saves S and z per (b, h) for backward.
#pragma once
#include <cstdint>

#include "attention/block_attention.h"  // AttentionDims

namespace xb {

// Layout as in block_attention.h: element (b, t, h, d) of q, k, v at ptr[(b*T + t)*ld + h*D + d],
// out/dout with ldo, gradients with ld_grad; lengths[b] valid positions (padding is a suffix).
// Padded keys are excluded from S and z; padded query rows output 0 and get no gradient.
// state_s (B, H, D, D) holds S[d][e], state_z (B, H, D) holds z; both written by forward.
void linear_attention_forward(float* out, int ldo, float* state_s, float* state_z, const float* q,
                              const float* k, const float* v, int ld, const int32_t* lengths,
                              const AttentionDims& dims, float eps = 1e-6f);

// Adds (+=) the gradients w.r.t. q, k, v into dq, dk, dv. Parallel over (b, h), each computed by
// one thread in a fixed order: bitwise reproducible for any thread count.
void linear_attention_backward(float* dq, float* dk, float* dv, int ld_grad, const float* dout,
                               int ldo, const float* state_s, const float* state_z, const float* q,
                               const float* k, const float* v, int ld, const int32_t* lengths,
                               const AttentionDims& dims, float eps = 1e-6f);

// Double-precision references (linear_attention_naive.cpp): S and z summed explicitly, the
// backward written out per element; used by the tests.
void linear_attention_forward_naive(double* out, int ldo, const double* q, const double* k,
                                    const double* v, int ld, const int32_t* lengths,
                                    const AttentionDims& dims, double eps = 1e-6);
void linear_attention_backward_naive(double* dq, double* dk, double* dv, int ld_grad,
                                     const double* dout, int ldo, const double* q, const double* k,
                                     const double* v, int ld, const int32_t* lengths,
                                     const AttentionDims& dims, double eps = 1e-6);

}  // namespace xb
