// layernorm: forward against a double-precision reference, backward against finite differences,
// accumulation, and bitwise-reproducible parameter gradients.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

// x (N, C), gamma (C), beta (C) -> (N, C), two-pass in double
static std::vector<double> layernorm_reference(const Tensor& x, const Tensor& gamma,
                                               const Tensor& beta, double eps) {
    int64_t C = x.shape()[-1], N = x.numel() / C;
    std::vector<double> out(size_t(N * C));
    for (int64_t n = 0; n < N; ++n) {
        const float* xr = x.data() + n * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; ++c) mean += xr[c];
        mean /= double(C);
        for (int64_t c = 0; c < C; ++c) var += (xr[c] - mean) * (xr[c] - mean);
        var /= double(C);
        for (int64_t c = 0; c < C; ++c)
            out[size_t(n * C + c)] =
                (xr[c] - mean) / std::sqrt(var + eps) * gamma.data()[c] + beta.data()[c];
    }
    return out;
}

TEST_CASE("layernorm: forward matches the double-precision reference") {
    Tensor x = random_tensor({2, 7, 12}, 1, 2.0f);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] += 3.0f;  // a non-zero mean to remove
    Var gamma = make_param(random_tensor({12}, 2), "gamma");
    Var beta = make_param(random_tensor({12}, 3), "beta");
    for (float eps : {1e-5f, 0.5f}) {
        Var y = layernorm(make_var(x), gamma, beta, eps);
        CHECK(y->value.shape() == Shape{2, 7, 12});
        CHECK(max_abs_diff(y->value, layernorm_reference(x, gamma->value, beta->value, eps)) <
              1e-5);
    }
    tape().clear();
}

TEST_CASE("layernorm: backward matches finite differences") {
    Var x = make_var(random_tensor({2, 7, 12}, 4), true, "x");
    Var gamma = make_param(random_tensor({12}, 5), "gamma");
    Var beta = make_param(random_tensor({12}, 6), "beta");
    CHECK(gradcheck([](const std::vector<Var>& in) { return layernorm(in[0], in[1], in[2]); },
                    {x, gamma, beta}));
}

TEST_CASE("layernorm: backward accumulates into existing gradients") {
    Var x = make_var(random_tensor({5, 9}, 7), true, "x");
    Var gamma = make_param(random_tensor({9}, 8), "gamma");
    Var beta = make_param(random_tensor({9}, 9), "beta");
    Tensor r = random_tensor({5, 9}, 10);
    tape().backward(layernorm(x, gamma, beta), r);
    Tensor dx = x->grad.clone(), dgamma = gamma->grad.clone(), dbeta = beta->grad.clone();
    tape().backward(layernorm(x, gamma, beta), r);
    for (int64_t i = 0; i < dx.numel(); ++i)
        CHECK(x->grad.data()[i] == doctest::Approx(2 * dx.data()[i]));
    for (int64_t i = 0; i < dgamma.numel(); ++i) {
        CHECK(gamma->grad.data()[i] == doctest::Approx(2 * dgamma.data()[i]));
        CHECK(beta->grad.data()[i] == doctest::Approx(2 * dbeta.data()[i]));
    }
}

TEST_CASE("layernorm: parameter gradients match sums over rows and are bitwise reproducible") {
    // 601 x 33 is large enough for the multi-threaded path with per-thread partial sums.
    int64_t N = 601, C = 33;
    Var x = make_var(random_tensor({N, C}, 11), true, "x");
    Tensor r = random_tensor({N, C}, 12);
    std::vector<Tensor> grads;
    for (int run = 0; run < 2; ++run) {
        Var gamma = make_param(random_tensor({C}, 13), "gamma");
        Var beta = make_param(random_tensor({C}, 14), "beta");
        tape().backward(layernorm(x, gamma, beta), r);
        grads.push_back(gamma->grad);
        grads.push_back(beta->grad);
    }
    CHECK(max_abs_diff(grads[0], grads[2]) == 0.0);
    CHECK(max_abs_diff(grads[1], grads[3]) == 0.0);
    // dgamma = Σ_n r·x̂ and dbeta = Σ_n r; x̂ is layernorm with gamma = 1, beta = 0.
    std::vector<double> xhat =
        layernorm_reference(x->value, Tensor::full({C}, 1.0f), Tensor::zeros({C}), 1e-5);
    std::vector<double> dgamma(size_t(C), 0.0), dbeta(size_t(C), 0.0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
            dgamma[size_t(c)] += r.data()[n * C + c] * xhat[size_t(n * C + c)];
            dbeta[size_t(c)] += r.data()[n * C + c];
        }
    CHECK(max_abs_diff(grads[0], dgamma) < 1e-3);
    CHECK(max_abs_diff(grads[1], dbeta) < 1e-3);
}

TEST_SUITE_END();
