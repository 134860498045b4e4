// gradcheck: the harness must reject a wrong gradient, or a passing op test proves nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

// y = x² elementwise, with a backward that is `factor` times the true gradient 2x·dy.
static Var square_with_gradient_factor(const Var& x, float factor) {
    Var out = make_var(Tensor::empty(x->value.shape()));
    int64_t n = x->value.numel();
    for (int64_t i = 0; i < n; ++i) out->value.data()[i] = x->value.data()[i] * x->value.data()[i];
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                float* dx = x->grad_buffer().data();
                for (int64_t i = 0; i < n; ++i)
                    dx[i] += factor * 2.0f * x->value.data()[i] * out->grad.data()[i];
            },
            {out});
    }
    return out;
}

TEST_CASE("gradcheck: accepts a correct backward and rejects one that is 2x too large") {
    Var x = make_var(random_tensor({3, 5}, 1), true, "x");
    GradcheckOptions quiet;
    quiet.report_failures = false;
    CHECK(
        gradcheck([](const std::vector<Var>& in) { return square_with_gradient_factor(in[0], 1); },
                  {x}, quiet));
    CHECK_FALSE(
        gradcheck([](const std::vector<Var>& in) { return square_with_gradient_factor(in[0], 2); },
                  {x}, quiet));
}

TEST_CASE("max_abs_diff, worst_central_difference: a NaN is the worst difference there is") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    Tensor a = random_tensor({2, 3, 2}, 2), b = a.clone();
    CHECK(max_abs_diff(a, b) == 0.0);
    b.data()[7] = nan;
    CHECK(std::isinf(max_abs_diff(a, b)));
    CHECK(std::isinf(max_abs_diff(b, a)));
    CHECK(std::isinf(max_abs_diff_valid(a, b, {3, 3})));
    std::vector<double> ref(size_t(a.numel()), 0.0), grad{1.0, nan};
    for (int64_t i = 0; i < a.numel(); ++i) ref[size_t(i)] = a.data()[i];
    ref[3] = std::nan("");
    CHECK(std::isinf(max_abs_diff(a, ref)));
    std::vector<double> p{0.5, 0.25};
    auto loss = [](const std::vector<double>& v) { return v[0] + v[1]; };
    CHECK(std::isinf(worst_central_difference(p, loss, grad, 1e-4).worst));
}

TEST_SUITE_END();
