// segment_means and segment_valid_counts: masked means over segment bounds, backward.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("segment_means: means over valid tokens of floor(s·T/S) segments") {
    const std::vector<int32_t> lengths = {7, 3};
    const int64_t T = 7, D = 2;
    Tensor x = random_tensor({2, 1, T, D}, 1);
    Var y = segment_means(make_var(x), lengths, 3);  // bounds 0, 2, 4, 7
    CHECK(y->value.shape() == Shape{2, 1, 3, D});
    const int bounds[4] = {0, 2, 4, 7};
    std::vector<double> ref;
    for (int b = 0; b < 2; ++b)
        for (int s = 0; s < 3; ++s)
            for (int d = 0; d < D; ++d) {
                int hi = std::min(bounds[s + 1], lengths[size_t(b)]);
                double sum = 0;
                for (int t = bounds[s]; t < hi; ++t) sum += x.data()[(b * T + t) * D + d];
                ref.push_back(hi > bounds[s] ? sum / (hi - bounds[s]) : 0.0);
            }
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
    CHECK(segment_valid_counts(T, 3, lengths) == std::vector<int32_t>{3, 2});
    CHECK(segment_valid_counts(T, 20, {7, 0}) == std::vector<int32_t>{7, 0});  // S = min(20, T)
    CHECK(segment_means(make_var(x), lengths, 20)->value.shape() == Shape{2, 1, T, D});
}

TEST_CASE("segment_means: backward matches finite differences") {
    const std::vector<int32_t> lengths = {6, 4};
    Var x = make_var(random_tensor({2, 2, 6, 3}, 2), true, "x");
    gradcheck([&](const std::vector<Var>& in) { return segment_means(in[0], lengths, 4); }, {x});
}

TEST_SUITE_END();
