// Shared pieces of the variants composed from ops: the head-major q, k, v of a fused (B, T, 3C)
// projection, attention dropout on a probability tensor, and positive-option checks that name
// the option in the error.
#pragma once
#include <string>

#include "attention/mixer.h"
#include "config/option_reader.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

struct HeadMajorQkv {
    Var q, k, v;  // (B, H, T, D) each
};

inline HeadMajorQkv split_qkv(const Var& qkv, int heads) {
    return {split_heads(qkv, heads, 0, 3), split_heads(qkv, heads, 1, 3),
            split_heads(qkv, heads, 2, 3)};
}

// Dropout on attention probabilities during training, keyed by (run seed, step, layer, use).
inline Var attention_dropout(const Var& probs, float p, const MixContext& ctx, int layer,
                             uint64_t use = 0) {
    if (!ctx.training || p == 0.0f) return probs;
    return dropout(probs, p, mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer))),
                   0xa77e + use);
}

}  // namespace xb
