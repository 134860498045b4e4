// gather_rows: one source or several side by side, channel ranges, -1 padding rows, backward
// (including rows gathered more than once and a piece that needs no gradient).
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("gather_rows: units are the pieces' channel ranges of row src[u], -1 gives zeros") {
    Tensor a = random_tensor({2, 3, 4}, 1), b = random_tensor({6, 5}, 2);  // both 6 rows
    const std::vector<int64_t> src = {5, -1, 0, 2, 2};
    Var y = gather_rows({{make_var(a), 1, 3}, {make_var(b)}}, src, {5, 7});
    CHECK(y->value.shape() == Shape{5, 7});
    std::vector<double> ref;
    for (int64_t r : src)
        for (int c = 0; c < 7; ++c) {
            if (r < 0)
                ref.push_back(0.0);
            else if (c < 2)
                ref.push_back(a.data()[r * 4 + 1 + c]);
            else
                ref.push_back(b.data()[r * 5 + c - 2]);
        }
    CHECK(max_abs_diff(y->value, ref) == 0.0);
    // The one-source form is the same gather.
    Var z = gather_rows(make_var(b), {3, 1}, {2, 1, 2}, 2, 4);
    CHECK(max_abs_diff(z->value, std::vector<double>{b.data()[17], b.data()[18], b.data()[7],
                                                     b.data()[8]}) == 0.0);
}

TEST_CASE("gather_rows: backward of two pieces matches finite differences") {
    Var a = make_var(random_tensor({6, 4}, 5), true, "a");
    Var b = make_var(random_tensor({2, 3, 3}, 6), true, "b");
    // Row 2 twice (a broadcast: the serial scatter-add), padding, a channel range of a.
    const std::vector<int64_t> src = {2, 0, -1, 5, 2, 3};
    gradcheck(
        [&](const std::vector<Var>& in) {
            return gather_rows({{in[0], 1, 4}, {in[1]}}, src, {2, 3, 6});
        },
        {a, b});
    // Injective rows (the parallel scatter-add) with a piece that needs no gradient.
    Var c = make_var(random_tensor({6, 2}, 7));
    gradcheck(
        [&](const std::vector<Var>& in) {
            return gather_rows({{c}, {in[0], 0, 3}}, {4, 1, 0, 3}, {4, 5});
        },
        {a});
}

TEST_SUITE_END();
