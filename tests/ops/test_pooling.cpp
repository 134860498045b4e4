// prepend_token, mean_pool and first_token: forward against direct loops, backward against
// finite differences, and mean_pool's independence from padded positions.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("prepend_token: forward puts the token at position 0 of every sequence") {
    Tensor x = random_tensor({2, 7, 12}, 1), token = random_tensor({12}, 2);
    Var y = prepend_token(make_var(x), make_var(token));
    CHECK(y->value.shape() == Shape{2, 8, 12});
    std::vector<double> ref;
    for (int64_t b = 0; b < 2; ++b) {
        for (int64_t c = 0; c < 12; ++c) ref.push_back(token.data()[c]);
        for (int64_t i = 0; i < 7 * 12; ++i) ref.push_back(x.data()[b * 7 * 12 + i]);
    }
    CHECK(max_abs_diff(y->value, ref) == 0.0);
}

TEST_CASE("prepend_token: backward matches finite differences") {
    Var x = make_var(random_tensor({2, 7, 12}, 3), true, "x");
    Var token = make_param(random_tensor({12}, 4), "token");
    CHECK(gradcheck([](const std::vector<Var>& in) { return prepend_token(in[0], in[1]); },
                    {x, token}));
}

static const std::vector<int32_t> kLengths = {5, 0, 7};

TEST_CASE("mean_pool: forward averages the first lengths[b] positions, zeros for length 0") {
    Tensor x = random_tensor({3, 7, 12}, 5);
    Var y = mean_pool(make_var(x), kLengths);
    CHECK(y->value.shape() == Shape{3, 12});
    std::vector<double> ref;
    for (int64_t b = 0; b < 3; ++b)
        for (int64_t c = 0; c < 12; ++c) {
            double sum = 0;
            for (int64_t t = 0; t < kLengths[b]; ++t) sum += x.data()[(b * 7 + t) * 12 + c];
            ref.push_back(kLengths[b] ? sum / kLengths[b] : 0.0);
        }
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
    for (int64_t c = 0; c < 12; ++c) CHECK(y->value.data()[12 + c] == 0.0f);
}

TEST_CASE("mean_pool: positions at or past the length change nothing") {
    Tensor x = random_tensor({3, 7, 12}, 6);
    Var before = mean_pool(make_var(x), kLengths);
    Tensor changed = x.clone();
    for (int64_t b = 0; b < 3; ++b)
        for (int64_t t = kLengths[b]; t < 7; ++t)
            for (int64_t c = 0; c < 12; ++c) changed.data()[(b * 7 + t) * 12 + c] = 1e6f;
    Var after = mean_pool(make_var(changed), kLengths);
    CHECK(max_abs_diff(before->value, after->value) == 0.0);
}

TEST_CASE("mean_pool: backward matches finite differences and is zero past the length") {
    Var x = make_var(random_tensor({3, 7, 12}, 7), true, "x");
    GradcheckOptions every_coordinate;
    every_coordinate.max_coords = 3 * 7 * 12;
    CHECK(gradcheck([](const std::vector<Var>& in) { return mean_pool(in[0], kLengths); }, {x},
                    every_coordinate));
    for (int64_t b = 0; b < 3; ++b)
        for (int64_t t = kLengths[b]; t < 7; ++t)
            for (int64_t c = 0; c < 12; ++c) CHECK(x->grad.data()[(b * 7 + t) * 12 + c] == 0.0f);
}

TEST_CASE("first_token: forward takes position 0 and backward matches finite differences") {
    Var x = make_var(random_tensor({2, 7, 12}, 8), true, "x");
    Var y = first_token(x);
    CHECK(y->value.shape() == Shape{2, 12});
    std::vector<double> ref;
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t c = 0; c < 12; ++c) ref.push_back(x->value.data()[b * 7 * 12 + c]);
    CHECK(max_abs_diff(y->value, ref) == 0.0);
    CHECK(gradcheck([](const std::vector<Var>& in) { return first_token(in[0]); }, {x}));
}

TEST_SUITE_END();
