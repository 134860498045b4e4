// AdamW with decoupled weight decay (p -= lr * wd * p, as flax's Adam and Loshchilov & Hutter),
// applied only to parameters flagged for decay unless decay_all; per-group lr and decay overrides
// (OptimConfig::groups) for parameters in a named group; and gradient clipping by the
// global L2 norm. Moments live in tracked tensors shaped like the parameters.
#pragma once
#include <vector>

#include "autograd/parameters.h"
#include "config/run_config.h"

namespace xb {

class AdamW {
  public:
    AdamW(const ParameterStore& params, const OptimConfig& cfg);
    // One update with learning rate lr; step is 1-based (for bias correction).
    void step(double lr, int64_t step);
    size_t state_bytes() const;
    // The moment estimates, one tensor per parameter in registry order (for checkpoints).
    const std::vector<Tensor>& first_moments() const { return m_; }
    const std::vector<Tensor>& second_moments() const { return v_; }

  private:
    const ParameterStore& params_;
    OptimConfig cfg_;
    std::vector<Tensor> m_, v_;
};

// Global L2 norm of all parameter gradients (computed in double, in a fixed order).
double global_grad_norm(const ParameterStore& params);
// Scales all gradients by max_norm / norm when norm > max_norm; returns the norm before clipping.
double clip_grad_norm(const ParameterStore& params, double max_norm);

}  // namespace xb
