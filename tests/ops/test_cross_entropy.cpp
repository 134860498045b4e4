// cross_entropy: a hand-computed example, a double-precision reference, finite differences,
// finiteness for huge logits, and accumulation.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("cross_entropy: matches -log softmax for a hand example") {
    Var logits = make_var(Tensor::empty({1, 3}));
    logits->value.data()[0] = 1.0f;
    logits->value.data()[1] = 2.0f;
    logits->value.data()[2] = 3.0f;
    Var loss = cross_entropy(logits, {0});
    CHECK(loss->value.numel() == 1);
    // -log(e / (e + e² + e³)) = log(1 + e + e²)
    CHECK(loss->value.data()[0] == doctest::Approx(2.4076059644443806).epsilon(1e-6));
}

TEST_CASE("cross_entropy: forward matches the double-precision mean NLL") {
    Tensor z = random_tensor({5, 7}, 1, 3.0f);
    std::vector<int32_t> labels = {0, 6, 3, 3, 1};
    Var loss = cross_entropy(make_var(z), labels);
    double total = 0;
    for (int64_t b = 0; b < 5; ++b) {
        double sum = 0;
        for (int64_t k = 0; k < 7; ++k) sum += std::exp(double(z.data()[b * 7 + k]));
        total += std::log(sum) - z.data()[b * 7 + labels[b]];
    }
    CHECK(max_abs_diff(loss->value, {total / 5}) < 1e-5);
}

TEST_CASE("cross_entropy: backward matches finite differences") {
    Var logits = make_var(random_tensor({5, 7}, 2, 2.0f), true, "logits");
    CHECK(gradcheck(
        [](const std::vector<Var>& in) {
            return cross_entropy(in[0], {0, 6, 3, 3, 1});
        },
        {logits}));
}

TEST_CASE("cross_entropy: finite loss and gradient for logits of +-1e4") {
    Var logits = make_var(Tensor::empty({2, 3}), true, "logits");
    const float z[] = {1e4f, -1e4f, 0.0f, -1e4f, 1e4f, 1e4f};
    for (int i = 0; i < 6; ++i) logits->value.data()[i] = z[i];
    Var loss = cross_entropy(logits, {0, 0});
    // Row 0 is confidently right (loss 0); row 1 is 2e4 + log 2 wrong.
    CHECK(std::isfinite(loss->value.data()[0]));
    CHECK(loss->value.data()[0] == doctest::Approx((2e4 + std::log(2.0)) / 2).epsilon(1e-6));
    tape().backward(loss);
    for (int i = 0; i < 6; ++i) CHECK(std::isfinite(logits->grad.data()[i]));
    CHECK(logits->grad.data()[3] == doctest::Approx(-0.5));
    CHECK(logits->grad.data()[4] == doctest::Approx(0.25));
}

TEST_CASE("cross_entropy: backward accumulates into existing gradients") {
    Var logits = make_var(random_tensor({4, 5}, 3), true, "logits");
    std::vector<int32_t> labels = {4, 0, 2, 2};
    tape().backward(cross_entropy(logits, labels));
    Tensor once = logits->grad.clone();
    tape().backward(cross_entropy(logits, labels));
    for (int64_t i = 0; i < once.numel(); ++i)
        CHECK(logits->grad.data()[i] == doctest::Approx(2 * once.data()[i]));
}

TEST_SUITE_END();
