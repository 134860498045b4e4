// Autograd tape; see tape.h.
#include "autograd/tape.h"

namespace xb {

namespace {
thread_local Tape g_tape;
thread_local bool g_grad_enabled = true;
}  // namespace

Tensor& VarData::grad_buffer() {
    if (!grad.defined()) grad = Tensor::zeros(value.shape());
    return grad;
}

float* VarData::grad_target(bool* accumulate) {
    *accumulate = grad.defined();
    if (!grad.defined()) grad = Tensor::empty(value.shape());
    return grad.data();
}

Var make_var(Tensor value, bool requires_grad, std::string name) {
    auto v = std::make_shared<VarData>();
    v->value = std::move(value);
    v->requires_grad = requires_grad;
    v->name = std::move(name);
    return v;
}

Var make_param(Tensor value, std::string name) {
    Var v = make_var(std::move(value), true, std::move(name));
    v->is_param = true;
    return v;
}

void Tape::push(std::function<void()> backward, std::vector<Var> outputs) {
    steps_.push_back({std::move(backward), std::move(outputs)});
}

void Tape::backward(const Var& loss) {
    XB_CHECK(loss->value.numel() == 1, "backward() needs a scalar loss, got {}",
             loss->value.shape());
    loss->grad_buffer().fill(1.0f);
    run();
}

void Tape::backward(const Var& out, const Tensor& cotangent) {
    XB_CHECK(cotangent.shape() == out->value.shape(), "cotangent {} for output {}",
             cotangent.shape(), out->value.shape());
    out->grad_buffer().copy_from(cotangent);
    run();
}

void Tape::run() {
    while (!steps_.empty()) {
        Step step = std::move(steps_.back());
        steps_.pop_back();
        bool any_grad = false;
        for (const Var& o : step.outputs) any_grad = any_grad || o->grad.defined();
        if (any_grad) step.backward();
        for (const Var& o : step.outputs)
            if (!o->is_param) o->grad = Tensor();
    }
}

void Tape::clear() { steps_.clear(); }

Tape& tape() { return g_tape; }
bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<const Var*> inputs) {
    if (!g_grad_enabled) return false;
    for (const Var* v : inputs)
        if (v && *v && (*v)->requires_grad) return true;
    return false;
}

}  // namespace xb
