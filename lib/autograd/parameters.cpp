// Parameter registry and initialisers; see parameters.h.
#include "autograd/parameters.h"

#include <cmath>

#include "core/rng.h"

namespace xb {

Var ParameterStore::add(const std::string& name, Tensor value, bool decay) {
    for (const auto& p : params_) XB_CHECK(p.var->name != name, "duplicate parameter {}", name);
    Var v = make_param(std::move(value), name);
    params_.push_back({v, decay, {}});
    return v;
}

Var ParameterStore::normal(const std::string& name, const Shape& shape, float stddev, bool decay) {
    Tensor t = Tensor::empty(shape);
    uint64_t stream = params_.size() + 1;
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = stddev * random_normal(seed_, stream, i);
    return add(name, std::move(t), decay);
}

Var ParameterStore::xavier(const std::string& name, int64_t fan_out, int64_t fan_in) {
    Tensor t = Tensor::empty({fan_out, fan_in});
    float limit = std::sqrt(6.0f / float(fan_in + fan_out));
    uint64_t stream = params_.size() + 1;
    for (int64_t i = 0; i < t.numel(); ++i)
        t.data()[i] = limit * (2.0f * random_uniform(seed_, stream, i) - 1.0f);
    return add(name, std::move(t), true);
}

Var ParameterStore::constant(const std::string& name, const Shape& shape, float value, bool decay) {
    return add(name, Tensor::full(shape, value), decay);
}

Var ParameterStore::uniform(const std::string& name, const Shape& shape, float lo, float hi,
                            bool decay) {
    Tensor t = Tensor::empty(shape);
    uint64_t stream = params_.size() + 1;
    for (int64_t i = 0; i < t.numel(); ++i)
        t.data()[i] = lo + (hi - lo) * random_uniform(seed_, stream, i);
    return add(name, std::move(t), decay);
}

Parameter& ParameterStore::find(const Var& var) {
    for (auto& p : params_)
        if (p.var == var) return p;
    XB_CHECK(false, "{} is not a registered parameter", var->name);
    return params_.front();
}

void ParameterStore::set_group(const Var& var, const std::string& group) {
    find(var).group = group;
}

void ParameterStore::set_untrained(const Var& var) {
    find(var).trained = false;
    var->requires_grad = false;
}

int64_t ParameterStore::count() const {
    int64_t n = 0;
    for (const auto& p : params_)
        if (p.trained) n += p.var->value.numel();
    return n;
}

void ParameterStore::zero_grad() {
    for (const auto& p : params_)
        if (p.var->grad.defined()) p.var->grad.zero();
}

}  // namespace xb
