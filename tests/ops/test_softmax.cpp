// masked_softmax: forward against a direct computation with row and column masks, backward
// against finite differences.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("masked_softmax: masked columns and rows are zero, valid entries a softmax") {
    const std::vector<int32_t> rows = {4, 2}, cols = {3, 6};
    Tensor x = random_tensor({2, 3, 4, 6}, 1, 2.0f);
    Var y = masked_softmax(make_var(x), &rows, &cols);
    std::vector<double> ref(size_t(x.numel()), 0.0);
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t g = 0; g < 3; ++g)
            for (int64_t i = 0; i < rows[size_t(b)]; ++i) {
                const int64_t base = ((b * 3 + g) * 4 + i) * 6;
                double sum = 0;
                for (int64_t j = 0; j < cols[size_t(b)]; ++j) sum += std::exp(x.data()[base + j]);
                for (int64_t j = 0; j < cols[size_t(b)]; ++j)
                    ref[size_t(base + j)] = std::exp(x.data()[base + j]) / sum;
            }
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
    Var unmasked = masked_softmax(make_var(x), nullptr, nullptr);
    double row_sum = 0;
    for (int64_t j = 0; j < 6; ++j) row_sum += unmasked->value.data()[5 * 6 + j];
    CHECK(row_sum == doctest::Approx(1.0).epsilon(1e-6));
}

// Rows of 37 of 40 columns take the full-vector passes (16 or 8 lanes) and their tails; a row
// of -inf logits becomes zeros, and -inf entries get probability 0.
TEST_CASE("masked_softmax: long rows, -inf logits") {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<int32_t> cols = {37, 40};
    Tensor x = random_tensor({2, 1, 3, 40}, 3, 6.0f);
    for (int64_t j = 0; j < 40; ++j) x.data()[j] = -inf;  // example 0, row 0
    x.data()[1 * 40 + 17] = -inf;                         // example 0, row 1
    Var y = masked_softmax(make_var(x), nullptr, &cols);
    for (int64_t r = 0; r < 6; ++r) {
        CAPTURE(r);
        const int64_t n = cols[size_t(r / 3)];
        const float* xr = x.data() + r * 40;
        double m = -inf, sum = 0;
        for (int64_t j = 0; j < n; ++j) m = std::max(m, double(xr[j]));
        for (int64_t j = 0; j < n; ++j) sum += r == 0 ? 0.0 : std::exp(xr[j] - m);
        int off = 0;  // entries off the reference (a NaN counts)
        for (int64_t j = 0; j < 40; ++j) {
            const double ref = j < n && r > 0 ? std::exp(xr[j] - m) / sum : 0.0;
            off += !(std::fabs(y->value.data()[r * 40 + j] - ref) < 1e-6);
        }
        CHECK(off == 0);
    }
}

TEST_CASE("masked_softmax: backward matches finite differences") {
    const std::vector<int32_t> rows = {3, 1}, cols = {5, 2};
    Var x = make_var(random_tensor({2, 2, 3, 5}, 2), true, "x");
    gradcheck([&](const std::vector<Var>& in) { return masked_softmax(in[0], &rows, &cols); }, {x});
}

TEST_SUITE_END();
