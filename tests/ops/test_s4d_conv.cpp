// s4d_kernel + long_conv (the S4D layer's SSM) against the explicit recurrence in double: the
// causal scan x_t = Ā x_{t−1} + B̄ u_t, y_t = 2 Re(C₀ x_t) + D u_t and the anti-causal scan
// x'_t = Ā x'_{t+1} + B̄ u_{t+1}, y_t += 2 Re(C₁ x'_t) over each example's valid length, with
// Ā = e^{ΔA}, B̄ = (Ā − 1)/A·B (ZOH). Forward and backward (finite differences of the double
// scan), for lengths that are and are not powers of two.
#include <doctest/doctest.h>

#include <complex>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

using cd = std::complex<double>;
constexpr int64_t kB = 2, kC = 3, kN = 2, kR = 2;

// The inputs in order: u, log_dt, log_a_real, a_imag, b, c, d (as in s4d_kernel and long_conv).
struct SsmInputs {
    std::vector<Var> vars;
    explicit SsmInputs(int64_t T) {
        auto add = [&](const Shape& s, uint64_t seed, float scale, float shift, const char* name) {
            Tensor t = random_tensor(s, seed, scale);
            for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] += shift;
            vars.push_back(make_var(t, true, name));
        };
        add({kB, T, kC}, 1, 1.0f, 0.0f, "u");
        add({kC}, 2, 0.3f, std::log(0.1f), "log_dt");
        add({kC, kN}, 3, 0.2f, std::log(0.5f), "log_a_real");
        add({kC, kN}, 4, 2.0f, 0.0f, "a_imag");
        add({kC, kN, 2}, 5, 0.5f, 0.5f, "b");
        add({kR, kC, kN, 2}, 6, 0.7f, 0.0f, "c");
        add({kC}, 7, 1.0f, 0.0f, "d");
    }
    std::vector<std::vector<double>> as_double() const {
        std::vector<std::vector<double>> out;
        for (const Var& v : vars)
            out.emplace_back(v->value.data(), v->value.data() + v->value.numel());
        return out;
    }
};

Var ssm(const std::vector<Var>& in, const std::vector<int32_t>& lengths) {
    const int64_t T = in[0]->value.dim(1);
    return long_conv(in[0], s4d_kernel(in[1], in[2], in[3], in[4], in[5], in[6], T), lengths);
}

// y (B, T, C) by the two recurrences; padded rows 0.
std::vector<double> scan(const std::vector<std::vector<double>>& p, int64_t T,
                         const std::vector<int32_t>& lengths) {
    const auto &u = p[0], &log_dt = p[1], &lar = p[2], &aim = p[3], &bb = p[4], &cc = p[5],
               &d = p[6];
    std::vector<double> y(size_t(kB * T * kC), 0.0);
    for (int64_t b = 0; b < kB; ++b)
        for (int64_t c = 0; c < kC; ++c) {
            const int64_t L = lengths[size_t(b)];
            auto at = [&](int64_t t) { return size_t((b * T + t) * kC + c); };
            for (int64_t n = 0; n < kN; ++n) {
                const size_t cn = size_t(c * kN + n);
                const cd A(-std::exp(lar[cn]), aim[cn]),
                    abar = std::exp(std::exp(log_dt[size_t(c)]) * A);
                const cd bbar = (abar - 1.0) / A * cd(bb[2 * cn], bb[2 * cn + 1]);
                const cd c0(cc[2 * cn], cc[2 * cn + 1]);
                const size_t c1i = size_t(2 * (kC * kN) + 2 * cn);
                const cd c1(cc[c1i], cc[c1i + 1]);
                cd x = 0.0;
                for (int64_t t = 0; t < L; ++t) {
                    x = abar * x + bbar * u[at(t)];
                    y[at(t)] += 2.0 * (c0 * x).real();
                }
                x = 0.0;
                for (int64_t t = L - 1; t >= 0; --t) {
                    y[at(t)] += 2.0 * (c1 * x).real();
                    x = abar * x + bbar * u[at(t)];
                }
            }
            for (int64_t t = 0; t < L; ++t) y[at(t)] += d[size_t(c)] * u[at(t)];
        }
    return y;
}

}  // namespace

TEST_CASE("s4d: FFT convolution of the Vandermonde kernels equals the recurrence, fwd and bwd") {
    for (int64_t T : {8, 13}) {
        CAPTURE(T);
        const std::vector<int32_t> lengths = {int32_t(T), int32_t(T - 3)};
        SsmInputs in(T);
        const auto params = in.as_double();
        tape().clear();
        Var y = ssm(in.vars, lengths);
        CHECK(max_abs_diff(y->value, scan(params, T, lengths)) < 2e-5);

        Tensor r = random_tensor(y->value.shape(), 9);
        tape().backward(y, r);
        for (size_t i = 0; i < params.size(); ++i) {
            CAPTURE(in.vars[i]->name);
            std::vector<double> x = params[i];
            const Tensor& g = in.vars[i]->grad;
            std::vector<double> grad(g.data(), g.data() + g.numel());
            auto loss = [&](const std::vector<double>& xi) {
                auto p = params;
                p[i] = xi;
                const auto yy = scan(p, T, lengths);
                double s = 0.0;
                for (size_t k = 0; k < yy.size(); ++k) s += yy[k] * r.data()[k];
                return s;
            };
            const auto fd = worst_central_difference(x, loss, grad, 1e-6);
            CAPTURE(fd.at);
            CHECK(fd.worst < 2e-4);
        }
    }
}

TEST_CASE("s4d: unidirectional kernel is causal, and padded inputs never enter") {
    const int64_t T = 9;
    const std::vector<int32_t> lengths = {9, 6};
    SsmInputs in(T);
    Var c1 = make_var(in.vars[5]->value.reshape({kR, kC, kN, 2}).clone());
    Var c_causal = make_var(Tensor::empty({1, kC, kN, 2}));
    std::copy(c1->value.data(), c1->value.data() + kC * kN * 2, c_causal->value.data());
    NoGradGuard no_grad;
    auto run = [&](const Tensor& u) {
        Var k = s4d_kernel(in.vars[1], in.vars[2], in.vars[3], in.vars[4], c_causal, in.vars[6], T);
        return long_conv(make_var(u), k, lengths)->value.clone();
    };
    Tensor u = in.vars[0]->value.clone();
    Tensor y1 = run(u);
    for (int64_t c = 0; c < kC; ++c) {
        u.data()[(0 * T + 5) * kC + c] += 1.0f;  // example 0, t = 5: only t >= 5 may change
        for (int64_t t = 6; t < T; ++t) u.data()[(1 * T + t) * kC + c] = 7.0f;  // padding of 1
    }
    Tensor y2 = run(u);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < kC; ++c) {
            CAPTURE(t);
            if (t < 5) CHECK(std::fabs(y1.data()[t * kC + c] - y2.data()[t * kC + c]) <= 1e-5f);
            const float a = y1.data()[(T + t) * kC + c], b = y2.data()[(T + t) * kC + c];
            CHECK(std::fabs(a - b) <= 1e-6f);
            if (t >= 6) CHECK(b == 0.0f);
        }
}

TEST_SUITE_END();
