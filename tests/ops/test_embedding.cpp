// embedding, add_positions and sinusoidal_table: forward against direct loops, backward against
// finite differences, and scatter-accumulation for repeated ids.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

// B = 2, T = 7 over V = 5: several ids repeat.
static const std::vector<int32_t> kIds = {0, 3, 3, 1, 4, 2, 3, 1, 1, 0, 4, 4, 2, 3};

TEST_CASE("embedding: forward copies table rows") {
    Tensor table = random_tensor({5, 20}, 1);
    Var y = embedding(kIds, 2, 7, make_var(table));
    CHECK(y->value.shape() == Shape{2, 7, 20});
    std::vector<double> ref;
    for (int32_t id : kIds)
        for (int64_t c = 0; c < 20; ++c) ref.push_back(table.data()[id * 20 + c]);
    CHECK(max_abs_diff(y->value, ref) == 0.0);
}

TEST_CASE("embedding: backward matches finite differences") {
    // C = 20 is not a multiple of the 16-column blocks the backward is parallel over.
    Var table = make_param(random_tensor({5, 20}, 2), "table");
    GradcheckOptions every_coordinate;
    every_coordinate.max_coords = 100;
    CHECK(gradcheck([](const std::vector<Var>& in) { return embedding(kIds, 2, 7, in[0]); },
                    {table}, every_coordinate));
}

TEST_CASE("embedding: a scale multiplies the rows, and backward matches finite differences") {
    Tensor table = random_tensor({5, 20}, 2);
    Var plain = embedding(kIds, 2, 7, make_var(table));
    Var scaled = embedding(kIds, 2, 7, make_var(table), 2.5f);
    std::vector<double> ref;
    for (int64_t i = 0; i < plain->value.numel(); ++i) ref.push_back(2.5 * plain->value.data()[i]);
    CHECK(max_abs_diff(scaled->value, ref) < 1e-6);
    Var param = make_param(table, "table");
    GradcheckOptions every_coordinate;
    every_coordinate.max_coords = 100;
    CHECK(gradcheck([](const std::vector<Var>& in) { return embedding(kIds, 2, 7, in[0], 2.5f); },
                    {param}, every_coordinate));
}

TEST_CASE("embedding: repeated ids accumulate, and backward adds to existing gradients") {
    std::vector<int32_t> ids = {2, 2, 2, 0, 2, 0};
    Var table = make_param(random_tensor({4, 3}, 3), "table");
    Tensor r = random_tensor({2, 3, 3}, 4);
    tape().backward(embedding(ids, 2, 3, table), r);
    std::vector<double> ref(12, 0.0);
    for (size_t n = 0; n < ids.size(); ++n)
        for (int64_t c = 0; c < 3; ++c) ref[size_t(ids[n] * 3 + c)] += r.data()[n * 3 + c];
    CHECK(max_abs_diff(table->grad, ref) < 1e-6);
    tape().backward(embedding(ids, 2, 3, table), r);
    for (double& v : ref) v *= 2;
    CHECK(max_abs_diff(table->grad, ref) < 1e-6);
}

TEST_CASE("embedding: a large backward (the multi-threaded path) matches the scatter sum") {
    int64_t B = 8, T = 125, V = 7, C = 20;
    std::vector<int32_t> ids;
    for (int64_t n = 0; n < B * T; ++n) ids.push_back(int32_t((n * n + 3 * n) % V));
    Var table = make_param(random_tensor({V, C}, 15), "table");
    Tensor r = random_tensor({B, T, C}, 16);
    tape().backward(embedding(ids, B, T, table), r);
    std::vector<double> ref(size_t(V * C), 0.0);
    for (int64_t n = 0; n < B * T; ++n)
        for (int64_t c = 0; c < C; ++c) ref[size_t(ids[n] * C + c)] += r.data()[n * C + c];
    CHECK(max_abs_diff(table->grad, ref) < 1e-3);
}

TEST_CASE("add_positions: forward adds table rows 0..T-1 to every batch row") {
    Tensor x = random_tensor({2, 7, 12}, 5), table = random_tensor({9, 12}, 6);
    Var y = add_positions(make_var(x), make_var(table));
    std::vector<double> ref;
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 0; t < 7; ++t)
            for (int64_t c = 0; c < 12; ++c)
                ref.push_back(double(x.data()[(b * 7 + t) * 12 + c]) + table.data()[t * 12 + c]);
    CHECK(max_abs_diff(y->value, ref) < 1e-6);
}

TEST_CASE("add_positions: backward matches finite differences, learned and constant tables") {
    Var x = make_var(random_tensor({2, 7, 12}, 7), true, "x");
    Var table = make_param(random_tensor({9, 12}, 8), "table");
    CHECK(gradcheck([](const std::vector<Var>& in) { return add_positions(in[0], in[1]); },
                    {x, table}));
    for (int64_t i = 7 * 12; i < 9 * 12; ++i) CHECK(table->grad.data()[i] == 0.0f);  // rows >= T
    Var fixed = make_var(sinusoidal_table(9, 12));
    CHECK(gradcheck([&](const std::vector<Var>& in) { return add_positions(in[0], fixed); }, {x}));
    CHECK(!fixed->grad.defined());
}

TEST_CASE("sinusoidal_table: sin on even and cos on odd columns of pos / 10000^(2i/C)") {
    for (int64_t C : {12, 7}) {
        Tensor table = sinusoidal_table(50, C);
        CHECK(table.shape() == Shape{50, C});
        std::vector<double> ref;
        for (int64_t pos = 0; pos < 50; ++pos)
            for (int64_t c = 0; c < C; ++c) {
                int64_t i = c / 2;
                double angle = double(pos) / std::pow(10000.0, 2.0 * double(i) / double(C));
                ref.push_back(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
            }
        CHECK(max_abs_diff(table, ref) < 1e-6);
    }
}

TEST_SUITE_END();
