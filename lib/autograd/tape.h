// Reverse-mode autograd over coarse ops. A Var holds a value tensor and (lazily) its gradient.
// An op computes its output and, when gradients are on, pushes a backward closure onto the
// tape; backward() runs the closures in reverse. Backward closures always ADD into gradient
// buffers. Closures hold what backward needs (shared Vars and saved tensors) and are destroyed
// as soon as they have run, so activation memory is released progressively during backward.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace xb {

struct VarData {
    Tensor value;
    Tensor grad;  // allocated on first use (see grad_buffer and grad_target)
    bool requires_grad = false;
    bool is_param = false;  // parameter grads persist across backward(); others are freed
    std::string name;

    // The gradient buffer, zero-filled on first use.
    Tensor& grad_buffer();
    // The gradient buffer for a backward step that writes every element, and whether it already
    // holds a gradient to add to. With *accumulate == false the buffer is new and uninitialised:
    // the caller must overwrite all of it. Spares a zero-fill and a read of activation-sized
    // gradients that have one consumer.
    float* grad_target(bool* accumulate);
};
using Var = std::shared_ptr<VarData>;

Var make_var(Tensor value, bool requires_grad = false, std::string name = {});
Var make_param(Tensor value, std::string name);

class Tape {
  public:
    // Records a backward step. `outputs` are the op's outputs: their grads are freed after the
    // step has run (unless they are parameters).
    void push(std::function<void()> backward, std::vector<Var> outputs);
    // Seeds d(loss) = 1 (loss must be a single element) and runs every recorded step in reverse.
    void backward(const Var& loss);
    // Seeds d(out) = cotangent instead of 1 (used by gradient checks).
    void backward(const Var& out, const Tensor& cotangent);
    void clear();
    size_t size() const { return steps_.size(); }

  private:
    struct Step {
        std::function<void()> backward;
        std::vector<Var> outputs;
    };
    void run();
    std::vector<Step> steps_;
};

// The tape of the calling thread.
Tape& tape();
// True when ops should record backward steps (default on; off inside NoGradGuard).
bool grad_enabled();

class NoGradGuard {
  public:
    NoGradGuard();
    ~NoGradGuard();

  private:
    bool previous_;
};

// True when an op with these inputs must record a backward step.
bool needs_grad(std::initializer_list<const Var*> inputs);

}  // namespace xb
