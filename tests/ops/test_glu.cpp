// glu: forward against its definition, backward against finite differences.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("glu: a ⊙ σ(g) over the halves of the last dim, with correct gradients") {
    Tensor x = random_tensor({3, 2, 8}, 1);
    Var y = glu(make_var(x));
    CHECK(y->value.shape() == Shape{3, 2, 4});
    std::vector<double> ref;
    for (int64_t i = 0; i < 6; ++i)
        for (int64_t c = 0; c < 4; ++c) {
            const double a = x.data()[i * 8 + c], g = x.data()[i * 8 + 4 + c];
            ref.push_back(a / (1.0 + std::exp(-g)));
        }
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
    Var xv = make_var(x.clone(), true, "x");
    gradcheck([](const std::vector<Var>& in) { return glu(in[0]); }, {xv});
}

TEST_SUITE_END();
