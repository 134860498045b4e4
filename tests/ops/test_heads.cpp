// split_heads, merge_heads and slice_leading: layouts against direct
// indexing, backward against finite differences.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("split_heads / merge_heads: layouts and round trip") {
    const int64_t B = 2, T = 3, H = 2, D = 4;
    Tensor x = random_tensor({B, T, 3 * H * D}, 1);
    Var k = split_heads(make_var(x), int(H), 1, 3);
    CHECK(k->value.shape() == Shape{B, H, T, D});
    std::vector<double> ref;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t d = 0; d < D; ++d)
                    ref.push_back(x.data()[(b * T + t) * 3 * H * D + H * D + h * D + d]);
    CHECK(max_abs_diff(k->value, ref) == 0.0);
    Tensor y = random_tensor({B, T, H * D}, 2);
    CHECK(max_abs_diff(merge_heads(split_heads(make_var(y), int(H), 0, 1))->value, y) == 0.0);
}

TEST_CASE("split_heads / merge_heads / slice_leading: backward") {
    Var x = make_var(random_tensor({2, 3, 12}, 3), true, "x");
    gradcheck([](const std::vector<Var>& in) { return split_heads(in[0], 2, 2, 3); }, {x});
    Var h = make_var(random_tensor({2, 2, 3, 4}, 4), true, "h");
    gradcheck([](const std::vector<Var>& in) { return merge_heads(in[0]); }, {h});
    Var s = make_var(random_tensor({2, 5, 6}, 5), true, "s");
    Var sliced = slice_leading(s, 3, 4);
    CHECK(sliced->value.shape() == Shape{2, 3, 4});
    CHECK(sliced->value.data()[4 + 1] == s->value.data()[6 + 1]);
    tape().clear();
    gradcheck([](const std::vector<Var>& in) { return slice_leading(in[0], 3, 4); }, {s});
}

TEST_SUITE_END();
