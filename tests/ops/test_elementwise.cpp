// add, sub, mul and concat_last: forward against direct loops, backward against finite
// differences, including the aliased case where both operands are the same Var.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("elementwise: add, sub, mul forward match direct loops") {
    Tensor a = random_tensor({2, 7, 12}, 1), b = random_tensor({2, 7, 12}, 2);
    Var va = make_var(a), vb = make_var(b);
    std::vector<double> sum, diff, prod;
    for (int64_t i = 0; i < a.numel(); ++i) {
        double x = a.data()[i], y = b.data()[i];
        sum.push_back(x + y);
        diff.push_back(x - y);
        prod.push_back(x * y);
    }
    CHECK(max_abs_diff(add(va, vb)->value, sum) < 1e-6);
    CHECK(max_abs_diff(sub(va, vb)->value, diff) < 1e-6);
    CHECK(max_abs_diff(mul(va, vb)->value, prod) < 1e-6);
}

TEST_CASE("elementwise: add, sub, mul backward match finite differences") {
    Var a = make_var(random_tensor({2, 7, 12}, 3), true, "a");
    Var b = make_var(random_tensor({2, 7, 12}, 4), true, "b");
    CHECK(gradcheck([](const std::vector<Var>& in) { return add(in[0], in[1]); }, {a, b}));
    CHECK(gradcheck([](const std::vector<Var>& in) { return sub(in[0], in[1]); }, {a, b}));
    CHECK(gradcheck([](const std::vector<Var>& in) { return mul(in[0], in[1]); }, {a, b}));
    // Only one operand trainable: the other is a constant and gets no gradient.
    Var c = make_var(random_tensor({2, 7, 12}, 5));
    CHECK(gradcheck([&](const std::vector<Var>& in) { return mul(in[0], c); }, {a}));
    CHECK(!c->grad.defined());
}

TEST_CASE("elementwise: mul(x, x) and add(x, x) accumulate both operand gradients") {
    Var x = make_var(random_tensor({3, 5}, 6), true, "x");
    Tensor r = random_tensor({3, 5}, 7);
    tape().backward(mul(x, x), r);
    for (int64_t i = 0; i < r.numel(); ++i)
        CHECK(x->grad.data()[i] == doctest::Approx(2.0 * x->value.data()[i] * r.data()[i]));
    x->grad = Tensor();
    tape().backward(add(x, x), r);
    for (int64_t i = 0; i < r.numel(); ++i)
        CHECK(x->grad.data()[i] == doctest::Approx(2.0 * r.data()[i]));
}

TEST_CASE("concat_last: forward places each input at its column offset") {
    Tensor a = random_tensor({2, 7, 3}, 8), b = random_tensor({2, 7, 1}, 9);
    Tensor c = random_tensor({2, 7, 5}, 10);
    Var y = concat_last({make_var(a), make_var(b), make_var(c)});
    CHECK(y->value.shape() == Shape{2, 7, 9});
    std::vector<double> ref;
    for (int64_t n = 0; n < 14; ++n) {
        for (int64_t k = 0; k < 3; ++k) ref.push_back(a.data()[n * 3 + k]);
        ref.push_back(b.data()[n]);
        for (int64_t k = 0; k < 5; ++k) ref.push_back(c.data()[n * 5 + k]);
    }
    CHECK(max_abs_diff(y->value, ref) == 0.0);
}

TEST_CASE("concat_last: backward matches finite differences") {
    Var a = make_var(random_tensor({2, 7, 3}, 11), true, "a");
    Var b = make_var(random_tensor({2, 7, 1}, 12), true, "b");
    Var c = make_var(random_tensor({2, 7, 5}, 13), false, "c");
    CHECK(gradcheck(
        [](const std::vector<Var>& in) {
            return concat_last({in[0], in[1], in[2], in[0]});
        },
        {a, b, c}));
    CHECK(!c->grad.defined());
}

TEST_SUITE_END();
