// AdamW against its closed form over several steps. With a constant gradient g the bias-corrected
// moments are exactly g and g², so each step moves by lr·sign(g) (eps aside) and decoupled decay
// shrinks w by (1 - lr·wd): w_t = a^t·w_0 - lr·sign(g)·(1 - a^t)/(1 - a), a = 1 - lr·wd. With a
// varying gradient the moments are the bias-corrected exponential averages written as sums.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "optim/adamw.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

TEST_CASE("adamw: a constant gradient gives the closed-form trajectory with decoupled decay") {
    ParameterStore params(1);
    Var w = params.constant("w", {3}, 2.0f, true);
    OptimConfig cfg;
    cfg.weight_decay = 0.1;
    cfg.eps = 1e-12;
    const double lr = 0.01, a = 1.0 - lr * cfg.weight_decay;
    AdamW opt(params, cfg);
    const float grads[3] = {0.5f, -3.0f, 1e-3f};
    for (int t = 1; t <= 5; ++t) {
        for (int i = 0; i < 3; ++i) w->grad_buffer().data()[i] = grads[i];
        opt.step(lr, t);
        for (int i = 0; i < 3; ++i) {
            CAPTURE(t);
            CAPTURE(i);
            const double sign = grads[i] > 0 ? 1.0 : -1.0;
            const double expected =
                std::pow(a, t) * 2.0 - lr * sign * (1.0 - std::pow(a, t)) / (1.0 - a);
            CHECK(w->value.data()[i] == doctest::Approx(expected).epsilon(1e-5));
        }
    }
}

TEST_CASE("adamw: a varying gradient follows the bias-corrected moment sums") {
    ParameterStore params(1);
    Var w = params.constant("w", {1}, 0.0f, false);  // not decayed: weight_decay has no effect
    OptimConfig cfg;
    cfg.beta1 = 0.8;
    cfg.beta2 = 0.9;
    cfg.eps = 1e-6;
    cfg.weight_decay = 0.5;
    AdamW opt(params, cfg);
    const std::vector<double> g = {1.0, -2.0, 0.5, 4.0};
    const std::vector<double> lr = {0.1, 0.05, 0.2, 0.1};
    double expected = 0.0;
    for (size_t t = 1; t <= g.size(); ++t) {
        w->grad_buffer().data()[0] = float(g[t - 1]);
        opt.step(lr[t - 1], int64_t(t));
        // m_t = (1-b1) Σ_k b1^(t-k) g_k and v_t = (1-b2) Σ_k b2^(t-k) g_k², then bias correction.
        double m = 0, v = 0;
        for (size_t k = 1; k <= t; ++k) {
            m += (1 - cfg.beta1) * std::pow(cfg.beta1, double(t - k)) * g[k - 1];
            v += (1 - cfg.beta2) * std::pow(cfg.beta2, double(t - k)) * g[k - 1] * g[k - 1];
        }
        const double m_hat = m / (1 - std::pow(cfg.beta1, double(t)));
        const double v_hat = v / (1 - std::pow(cfg.beta2, double(t)));
        expected -= lr[t - 1] * m_hat / (std::sqrt(v_hat) + cfg.eps);
        CAPTURE(t);
        CHECK(w->value.data()[0] == doctest::Approx(expected).epsilon(1e-5));
    }
}

TEST_SUITE_END();
