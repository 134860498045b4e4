// Gradient checks against central finite differences. The scalar loss is L = Σ r·f(inputs) with
// a fixed random cotangent r, accumulated in double; up to max_coords sampled coordinates per
// input are perturbed by ±eps. A coordinate passes if |num − ana| ≤ atol + rtol·|num|; on
// failure the worst coordinate of each input is reported.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "autograd/tape.h"
#include "core/rng.h"

namespace xb::test {

struct GradcheckOptions {
    double eps = 1e-2;
    double atol = 2e-3;
    double rtol = 2e-2;
    int max_coords = 48;
    uint64_t seed = 7;
    // When false, failures are only returned, not CHECKed: lets a test assert that the harness
    // rejects a wrong gradient without the rejection failing that test.
    bool report_failures = true;
};

// A tensor of the given shape filled with N(0, scale²) values from a counter-based stream.
Tensor random_tensor(const Shape& shape, uint64_t seed, float scale = 1.0f);

// Runs the check for every input with requires_grad; returns true when all coordinates pass.
bool gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs,
               const GradcheckOptions& opt = {});

// Central differences of a double-precision loss at every coordinate of x (restored after use),
// compared with grad; returns the largest |numeric - grad| and where. skip(i) == true leaves a
// coordinate out (e.g. one on a kink). Used for the naive double references of fused kernels.
struct DoubleFdResult {
    double worst = 0.0;
    size_t at = 0;
};
DoubleFdResult worst_central_difference(
    std::vector<double>& x, const std::function<double(const std::vector<double>&)>& loss,
    const std::vector<double>& grad, double h, const std::function<bool(size_t)>& skip = nullptr);

// The max_abs_diff helpers and the two gradient checks count a NaN (in either operand) as an
// infinite difference.
// Max |a - b| over all elements (shapes must match).
double max_abs_diff(const Tensor& a, const Tensor& b);
// Max |a - b| over the valid positions (b, t < lengths[b]) of (B, T, C) tensors.
double max_abs_diff_valid(const Tensor& a, const Tensor& b, const std::vector<int32_t>& lengths);
// Max |a - ref| against a double-precision reference of the same number of elements.
double max_abs_diff(const Tensor& a, const std::vector<double>& ref);

}  // namespace xb::test
