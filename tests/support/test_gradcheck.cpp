// gradcheck: the harness must reject a wrong gradient, or a passing op test proves nothing.
#include <doctest/doctest.h>

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

TEST_SUITE_END();
