// gelu and relu: forward against double-precision formulas, backward against finite differences.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

// The tanh argument u = √(2/π)(x + 0.044715x³) and gelu = 0.5x(1 + tanh u), in double. For
// u < −18, 1 + tanh u cancels even in double, so the tail uses the equal form 2 / (1 + e^{−2u}).
static double gelu_u(double v) {
    return std::sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v);
}
static double gelu_reference(double v) {
    double u = gelu_u(v);
    return u > -1 ? 0.5 * v * (1 + std::tanh(u)) : v / (1 + std::exp(-2 * u));
}

TEST_CASE("gelu: forward matches the tanh-approximation formula in double") {
    Tensor x = random_tensor({2, 7, 12}, 1, 3.0f);
    Var y = gelu(make_var(x));
    std::vector<double> ref;
    for (int64_t i = 0; i < x.numel(); ++i) ref.push_back(gelu_reference(x.data()[i]));
    CHECK(y->value.shape() == x.shape());
    CHECK(max_abs_diff(y->value, ref) < 1e-5);
}

TEST_CASE("gelu: accurate over the whole float range, tails included, and NaN propagates") {
    // Far tails exercise the overflow, underflow and subnormal paths of the gate's exp.
    std::vector<float> xs = {-1e30f, -60.0f, -12.0f, -9.5f, -5.0f,
                             -1e-3f, 0.0f,   1e-6f,  3.0f,  1e30f};
    for (float v = -15.0f; v <= 15.0f; v += 0.0137f) xs.push_back(v);
    Tensor x = Tensor::empty({int64_t(xs.size())});
    for (size_t i = 0; i < xs.size(); ++i) x.data()[i] = xs[i];
    Var y = gelu(make_var(x));
    for (size_t i = 0; i < xs.size(); ++i) {
        double ref = gelu_reference(xs[i]), got = y->value.data()[i];
        CAPTURE(xs[i]);
        // In the negative tail gelu ≈ x·e^{2u}: rounding u to float alone moves it by about
        // 2|u| ulp relative, so the tolerance grows with |u|.
        double rel = 3e-7 * (2 + 2 * std::fabs(gelu_u(xs[i])));
        CHECK(std::fabs(got - ref) <= rel * std::fabs(ref) + 1e-37);
    }
    Tensor nan = Tensor::full({3}, std::nanf(""));
    CHECK(std::isnan(gelu(make_var(nan))->value.data()[1]));
}

TEST_CASE("gelu: backward matches finite differences") {
    Var x = make_var(random_tensor({2, 7, 12}, 2, 2.0f), true, "x");
    CHECK(gradcheck([](const std::vector<Var>& in) { return gelu(in[0]); }, {x}));
}

TEST_CASE("bias_gelu: the same bits as linear's bias add then gelu, forward and backward") {
    // 37 rows × 20 columns: rows not a multiple of the 32 bias-sum chunks, columns not of a vector.
    Var x = make_var(random_tensor({37, 12}, 3), true, "x");
    Var w = make_param(random_tensor({20, 12}, 4), "w");
    Var b = make_param(random_tensor({20}, 5), "b");
    Tensor r = random_tensor({37, 20}, 6);
    Var fused = bias_gelu(linear(x, w, nullptr), b);
    tape().backward(fused, r);
    Tensor dx = x->grad.clone(), dw = w->grad.clone(), db = b->grad.clone();
    x->grad = w->grad = b->grad = Tensor();
    Var unfused = gelu(linear(x, w, b));
    tape().backward(unfused, r);
    CHECK(max_abs_diff(fused->value, unfused->value) == 0.0);
    CHECK(max_abs_diff(dx, x->grad) == 0.0);
    CHECK(max_abs_diff(dw, w->grad) == 0.0);
    CHECK(max_abs_diff(db, b->grad) == 0.0);
}

TEST_CASE("bias_gelu: backward matches finite differences for x and b") {
    Var x = make_var(random_tensor({3, 5, 11}, 7, 2.0f), true, "x");
    Var b = make_param(random_tensor({11}, 8), "b");
    CHECK(gradcheck([](const std::vector<Var>& in) { return bias_gelu(in[0], in[1]); }, {x, b}));
}

// Values N(0, 1) pushed to |x| >= 0.1 so finite differences never straddle the kink at 0.
static Tensor off_kink(const Shape& shape, uint64_t seed) {
    Tensor x = random_tensor(shape, seed);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] += x.data()[i] >= 0 ? 0.1f : -0.1f;
    return x;
}

TEST_CASE("relu: forward matches max(x, 0)") {
    Tensor x = random_tensor({2, 7, 12}, 3);
    Var y = relu(make_var(x));
    std::vector<double> ref;
    for (int64_t i = 0; i < x.numel(); ++i) ref.push_back(std::max(0.0, double(x.data()[i])));
    CHECK(max_abs_diff(y->value, ref) == 0.0);
}

TEST_CASE("relu: backward matches finite differences away from 0") {
    Var x = make_var(off_kink({2, 7, 12}, 4), true, "x");
    CHECK(gradcheck([](const std::vector<Var>& in) { return relu(in[0]); }, {x}));
}

TEST_SUITE_END();
