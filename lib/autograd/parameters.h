// The parameter registry: every trainable tensor of a model with its name and whether weight
// decay applies to it. Initialisation is counter-based (seed, parameter index, element), so a
// model is identical for a given seed whatever the thread count.
#pragma once
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace xb {

struct Parameter {
    Var var;
    bool decay;           // matrices decay; biases, norms and embeddings do not (unless decay_all)
    std::string group;    // optimizer group for per-group overrides (optim.groups), "" = none
    bool trained = true;  // false: model state kept with the weights, never given a gradient
};

class ParameterStore {
  public:
    explicit ParameterStore(uint64_t seed) : seed_(seed) {}

    Var normal(const std::string& name, const Shape& shape, float stddev, bool decay);
    // Glorot/Xavier uniform for a (fan_out, fan_in) matrix, as flax's xavier_uniform.
    Var xavier(const std::string& name, int64_t fan_out, int64_t fan_in);
    Var constant(const std::string& name, const Shape& shape, float value, bool decay = false);
    // Uniform in [lo, hi).
    Var uniform(const std::string& name, const Shape& shape, float lo, float hi, bool decay);
    // Puts an already registered parameter into an optimizer group (see OptimConfig::groups).
    void set_group(const Var& var, const std::string& group);
    // Makes a registered parameter model state: saved, restored and evaluated with the weights,
    // but updated by its layer rather than by the optimizer, and not in count() (e.g. routing's
    // k-means centroids).
    void set_untrained(const Var& var);

    const std::vector<Parameter>& all() const { return params_; }
    int64_t count() const;  // number of trained scalar parameters
    void zero_grad();

  private:
    Var add(const std::string& name, Tensor value, bool decay);
    Parameter& find(const Var& var);
    uint64_t seed_;
    std::vector<Parameter> params_;
};

}  // namespace xb
