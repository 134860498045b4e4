// Performer's random feature matrix and options (performer.cpp, performer_features.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace xb {

struct PerformerOptions {
    int features = 256;              // m random features
    int redraw = 1000;               // training steps between redraws; 0 = never
    std::string kernel = "softmax";  // softmax (FAVOR+) | relu (generalised)
    std::string scaling = "chi";     // row norms: chi (norms of fresh Gaussian rows) | sqrt_d
};

// Positive orthogonal random features W (m, D): ⌈m/D⌉ blocks of D mutually orthogonal unit rows
// (Gram-Schmidt of Gaussian rows, a Haar-random orthogonal matrix), the last block truncated,
// each row scaled to the norm of a fresh D-dim Gaussian (chi) or to √D (sqrt_d). A pure
// function of the seed.
Tensor orthogonal_random_features(uint64_t seed, int m, int D, const std::string& scaling);

// The seed of the features used by `layer` during redraw epoch `epoch` of a run.
uint64_t performer_feature_seed(uint64_t run_seed, int layer, int64_t epoch);

constexpr float kPerformerSoftmaxEps = 1e-4f;  // Google/LRA softmax_kernel_transformation
constexpr float kPerformerReluEps = 1e-3f;     // LRA generalized kernel_epsilon

struct PerformerFeatureShape {
    int64_t B, H, T, D, M;  // batch, heads, tokens, head width, features
    float data_scale;       // D^{-1/4}
    float norm;             // m^{-1/2}
    bool is_key;            // keys: rows past the length are 0, one max per example
    bool softmax_kernel;    // FAVOR+ softmax kernel, else relu
};

// φ in place (performer.cpp's file comment): phi (B, H, T, M) holds u = x̂ Wᵀ on entry; x (B, H,
// T, D) unscaled; lengths (B). Compiled per SIMD target (performer_kernels.cpp).
void performer_feature_rows(float* phi, const float* x, const int32_t* lengths,
                            const PerformerFeatureShape& s);

// Its backward before the GEMM through W: du (B·H·T, M) = dφ ⊙ ∂φ/∂u from g = dφ and phi = φ
// (softmax: φ − m^{-1/2}ε; relu: [u > 0]; 0 on padded key rows), and, for the softmax kernel,
// dx (B, H, T, D) −= D^{-1/2} (Σ_r du_r) x for the −‖x̂‖²/2 term. Compiled per SIMD target.
void performer_feature_rows_backward(float* du, float* dx, const float* g, const float* phi,
                                     const float* x, const int32_t* lengths,
                                     const PerformerFeatureShape& s);

}  // namespace xb
