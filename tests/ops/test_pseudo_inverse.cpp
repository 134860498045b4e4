// Iterative pseudo-inverse: converges to the inverse of a well-conditioned row-stochastic
// matrix, keeps a zero-padded block structure, and its pieces have correct gradients.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("iterative_pinv: A·pinv(A) ≈ I for a diagonally dominant softmax matrix") {
    const int64_t M = 6;
    Tensor logits = random_tensor({2, M, M}, 1, 0.3f);
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < M; ++i) logits.data()[(n * M + i) * M + i] += 3.0f;
    Var a = masked_softmax(make_var(logits.reshape({2, 1, M, M})), nullptr, nullptr);
    Var z = iterative_pinv(a, 6);
    Var az = batched_matmul(a, z, false, false);
    double worst = 0;
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < M; ++j)
                worst = std::max(
                    worst, std::fabs(az->value.data()[(n * M + i) * M + j] - (i == j ? 1.0 : 0.0)));
    CHECK(worst < 1e-4);
    // A zero-padded block [[P, 0], [0, 0]] gives [[pinv(P), 0], [0, 0]].
    const std::vector<int32_t> valid = {4};
    Tensor padded = random_tensor({1, 1, M, M}, 2, 0.3f);
    Var p_full = masked_softmax(make_var(padded), &valid, &valid);
    Tensor small(Tensor::empty({1, 1, 4, 4}));
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) small.data()[i * 4 + j] = padded.data()[i * M + j];
    Var z_full = iterative_pinv(p_full, 6);
    Var z_small = iterative_pinv(masked_softmax(make_var(small), nullptr, nullptr), 6);
    double diff = 0;
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < M; ++j) {
            double expect = i < 4 && j < 4 ? z_small->value.data()[i * 4 + j] : 0.0;
            diff = std::max(diff, std::fabs(z_full->value.data()[i * M + j] - expect));
        }
    CHECK(diff < 1e-5);
}

TEST_CASE("pinv pieces: backward matches finite differences") {
    Var a = make_var(random_tensor({2, 4, 4}, 3), true, "a");
    gradcheck([](const std::vector<Var>& in) { return pinv_initial_guess(in[0]); }, {a});
    gradcheck([](const std::vector<Var>& in) { return scaled_identity_minus(in[0], 7.0f); }, {a});
    Tensor logits = random_tensor({1, 1, 4, 4}, 4, 0.3f);
    for (int i = 0; i < 4; ++i) logits.data()[i * 5] += 2.0f;
    Var l = make_var(logits, true, "logits");
    gradcheck(
        [](const std::vector<Var>& in) {
            return iterative_pinv(masked_softmax(in[0], nullptr, nullptr), 3);
        },
        {l});
}

TEST_SUITE_END();
