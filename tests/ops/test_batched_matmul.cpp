// batched_matmul: forward against a direct triple loop for every transpose combination, backward
// against finite differences, and the batch-parallel and serial GEMM paths agreeing.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

static std::vector<double> matmul_reference(const Tensor& a, const Tensor& b, bool ta, bool tb,
                                            int64_t N, int64_t M, int64_t K, int64_t P,
                                            double alpha) {
    std::vector<double> ref(size_t(N * M * P), 0.0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < P; ++j) {
                double s = 0;
                for (int64_t k = 0; k < K; ++k) {
                    double av = a.data()[n * M * K + (ta ? k * M + i : i * K + k)];
                    double bv = b.data()[n * K * P + (tb ? j * K + k : k * P + j)];
                    s += av * bv;
                }
                ref[size_t((n * M + i) * P + j)] = alpha * s;
            }
    return ref;
}

TEST_CASE("batched_matmul: forward matches the reference for all transpose flags") {
    const int64_t M = 5, K = 7, P = 3;
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (int64_t scale : {1, 40}) {  // 40: large enough for the serial GEMM path
                CAPTURE(ta);
                CAPTURE(tb);
                const int64_t m = M * scale, k = K * scale, p = P * scale;
                Tensor a = random_tensor(ta ? Shape{2, 3, k, m} : Shape{2, 3, m, k}, 1);
                Tensor b = random_tensor(tb ? Shape{2, 3, p, k} : Shape{2, 3, k, p}, 2);
                Var y = batched_matmul(make_var(a), make_var(b), ta, tb, 0.5f);
                CHECK(y->value.shape() == Shape{2, 3, m, p});
                CHECK(max_abs_diff(y->value, matmul_reference(a, b, ta, tb, 6, m, k, p, 0.5)) <
                      1e-3 * double(scale));
            }
}

TEST_CASE("batched_matmul: backward matches finite differences, including a == b") {
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            CAPTURE(ta);
            CAPTURE(tb);
            Var a = make_var(random_tensor(ta ? Shape{3, 4, 5} : Shape{3, 5, 4}, 3), true, "a");
            Var b = make_var(random_tensor(tb ? Shape{3, 6, 4} : Shape{3, 4, 6}, 4), true, "b");
            gradcheck(
                [&](const std::vector<Var>& in) {
                    return batched_matmul(in[0], in[1], ta, tb, 0.7f);
                },
                {a, b});
        }
    Var x = make_var(random_tensor({2, 4, 5}, 5), true, "x");
    gradcheck([](const std::vector<Var>& in) { return batched_matmul(in[0], in[0], false, true); },
              {x});
}

TEST_SUITE_END();
