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

}  // namespace xb
