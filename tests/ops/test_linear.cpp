#include <doctest/doctest.h>
#include <omp.h>

#include "core/gemm.h"
#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("gemm: oneDNN matches the naive reference for all transpose combinations") {
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            int64_t M = 13, N = 7, K = 19;
            Tensor A = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 1);
            Tensor B = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 2);
            Tensor C1 = random_tensor({M, N}, 3), C2 = C1.clone();
            gemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.0f, C1.data(),
                 N);
            gemm_naive(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.0f,
                       C2.data(), N);
            CAPTURE(ta);
            CAPTURE(tb);
            CHECK(max_abs_diff(C1, C2) < 1e-5);
        }
}

TEST_CASE("gemm: tall products split into row blocks per thread match the reference") {
    // Enough rows that 2 and 3 threads take the row-block path; strided A and C, whose padding
    // columns must be left as they were.
    const int saved = omp_get_max_threads();
    for (int threads : {1, 2, 3})
        for (bool tb : {false, true}) {
            omp_set_num_threads(threads);
            const int64_t M = 3 * 1024 + 37, N = 9, K = 6, lda = K + 3, ldc = N + 2;
            Tensor A = random_tensor({M, lda}, 4);
            Tensor B = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 5);
            Tensor C1 = random_tensor({M, ldc}, 6), C2 = C1.clone();
            gemm(false, tb, M, N, K, 0.75f, A.data(), lda, B.data(), tb ? K : N, 0.5f, C1.data(),
                 ldc);
            gemm_naive(false, tb, M, N, K, 0.75f, A.data(), lda, B.data(), tb ? K : N, 0.5f,
                       C2.data(), ldc);
            CAPTURE(threads);
            CAPTURE(tb);
            CHECK(max_abs_diff(C1, C2) < 1e-5);
        }
    omp_set_num_threads(saved);
}

TEST_CASE("linear: forward matches the reference and backward matches finite differences") {
    Var x = make_var(random_tensor({2, 3, 5}, 1), true, "x");
    Var w = make_param(random_tensor({4, 5}, 2), "w");
    Var b = make_param(random_tensor({4}, 3), "b");
    Var y = linear(x, w, b);
    CHECK(y->value.shape() == Shape{2, 3, 4});
    double expect = b->value.data()[1];
    for (int i = 0; i < 5; ++i) expect += x->value.data()[5 + i] * w->value.data()[5 + i];
    CHECK(y->value.data()[4 + 1] == doctest::Approx(expect).epsilon(1e-5));
    tape().clear();
    gradcheck([](const std::vector<Var>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
}

TEST_CASE("linear: backward accumulates into existing gradients") {
    Var x = make_var(random_tensor({3, 5}, 1), true, "x");
    Var w = make_param(random_tensor({4, 5}, 2), "w");
    Tensor r = random_tensor({3, 4}, 5);
    tape().backward(linear(x, w, nullptr), r);
    Tensor once = w->grad.clone();
    tape().backward(linear(x, w, nullptr), r);
    for (int64_t i = 0; i < once.numel(); ++i)
        CHECK(w->grad.data()[i] == doctest::Approx(2 * once.data()[i]));
}

TEST_SUITE_END();
