// Linear attention kernels against the double-precision naive reference, the reference against
// central finite differences, and the contracts: accumulation, key padding, determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "attention/linear_attention_kernel.h"
#include "core/rng.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

namespace {

// q, k, v as slices of one fused (B, T, 3·H·D) buffer (ld = 3·H·D), dout with ldo = H·D + 5.
struct LinearCase {
    AttentionDims dims;
    int ld = 0, ldo = 0, ld_grad = 0;
    std::vector<int32_t> lengths;
    std::vector<float> qkv, dout;

    LinearCase(AttentionDims d, std::vector<int32_t> lens, uint64_t seed)
        : dims(d), lengths(std::move(lens)) {
        const int C = d.H * d.D;
        ld = 3 * C;
        ldo = C + 5;
        ld_grad = 3 * C;
        Rng rng(seed);
        qkv.resize(size_t(d.B) * d.T * ld);
        for (float& x : qkv) x = rng.normal();
        dout.resize(size_t(d.B) * d.T * ldo);
        for (float& x : dout) x = rng.normal();
    }
    int C() const { return dims.H * dims.D; }
    size_t rows() const { return size_t(dims.B) * dims.T; }
};

struct LinearResult {
    std::vector<float> out, grad;  // (B, T, ldo), (B, T, ld_grad) with dq | dk | dv
};

LinearResult run_fused(const LinearCase& c) {
    LinearResult r;
    const float* x = c.qkv.data();
    const int C = c.C(), D = c.dims.D;
    std::vector<float> S(size_t(c.dims.B) * c.dims.H * D * D), z(size_t(c.dims.B) * c.dims.H * D);
    r.out.assign(c.rows() * c.ldo, 7.0f);
    linear_attention_forward(r.out.data(), c.ldo, S.data(), z.data(), x, x + C, x + 2 * C, c.ld,
                             c.lengths.data(), c.dims);
    r.grad.assign(c.rows() * c.ld_grad, 0.0f);
    linear_attention_backward(r.grad.data(), r.grad.data() + C, r.grad.data() + 2 * C, c.ld_grad,
                              c.dout.data(), c.ldo, S.data(), z.data(), x, x + C, x + 2 * C, c.ld,
                              c.lengths.data(), c.dims);
    return r;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b, size_t rows, int ld,
                    int used, std::string* where) {
    double worst = 0.0;
    for (size_t r = 0; r < rows; ++r)
        for (int c = 0; c < used; ++c) {
            const double e = std::fabs(double(a[r * ld + c]) - b[r * ld + c]);
            if (!(e <= worst)) {
                worst = std::isnan(e) ? INFINITY : e;
                *where = "row " + std::to_string(r) + " col " + std::to_string(c);
            }
        }
    return worst;
}

void check_against_naive(const LinearCase& c, double tol = 2e-5) {
    const LinearResult f = run_fused(c);
    const int C = c.C();
    std::vector<double> x(c.qkv.begin(), c.qkv.end()), dout(c.dout.begin(), c.dout.end());
    std::vector<double> out(c.rows() * c.ldo, 0.0), grad(c.rows() * c.ld_grad, 0.0);
    linear_attention_forward_naive(out.data(), c.ldo, x.data(), x.data() + C, x.data() + 2 * C,
                                   c.ld, c.lengths.data(), c.dims);
    linear_attention_backward_naive(grad.data(), grad.data() + C, grad.data() + 2 * C, c.ld_grad,
                                    dout.data(), c.ldo, x.data(), x.data() + C, x.data() + 2 * C,
                                    c.ld, c.lengths.data(), c.dims);
    std::string where;
    const double e_out = max_abs_diff(f.out, out, c.rows(), c.ldo, C, &where);
    INFO("out worst at " << where);
    CHECK(e_out < tol);
    const double e_grad = max_abs_diff(f.grad, grad, c.rows(), c.ld_grad, 3 * C, &where);
    INFO("grad (dq|dk|dv) worst at " << where);
    CHECK(e_grad < tol);
}

}  // namespace

TEST_CASE("linear attention kernel: matches the naive reference") {
    struct Shape {
        AttentionDims dims;
        std::vector<int32_t> lengths;
    };
    const std::vector<Shape> shapes = {
        {{2, 1, 1, 16}, {1, 0}},  {{2, 7, 2, 1}, {7, 3}},          {{2, 65, 2, 32}, {65, 40}},
        {{1, 130, 2, 48}, {130}}, {{3, 130, 1, 16}, {0, 129, 17}},
    };
    for (const Shape& s : shapes) {
        CAPTURE(s.dims.T);
        CAPTURE(s.dims.D);
        check_against_naive(LinearCase(s.dims, s.lengths, 100 + s.dims.T));
    }
}

TEST_CASE("linear attention kernel: naive backward matches central finite differences") {
    LinearCase c({2, 5, 2, 3}, {5, 3}, 7);
    const int C = c.C();
    std::vector<double> x(c.qkv.begin(), c.qkv.end()), r(c.dout.begin(), c.dout.end());
    auto loss = [&](const std::vector<double>& in) {
        std::vector<double> out(c.rows() * c.ldo, 0.0);
        linear_attention_forward_naive(out.data(), c.ldo, in.data(), in.data() + C,
                                       in.data() + 2 * C, c.ld, c.lengths.data(), c.dims);
        double l = 0.0;
        for (size_t i = 0; i < out.size(); ++i) l += r[i] * out[i];
        return l;
    };
    std::vector<double> grad(x.size(), 0.0);
    linear_attention_backward_naive(grad.data(), grad.data() + C, grad.data() + 2 * C, c.ld,
                                    r.data(), c.ldo, x.data(), x.data() + C, x.data() + 2 * C, c.ld,
                                    c.lengths.data(), c.dims);
    // Coordinates within 1e-3 of 0 are skipped: keep off the kink of elu at 0.
    const auto fd = xb::test::worst_central_difference(
        x, loss, grad, 1e-6, [&](size_t i) { return std::fabs(x[i]) < 1e-3; });
    INFO("worst coordinate " << fd.at << " (row " << fd.at / c.ld << ")");
    CHECK(fd.worst < 1e-7);
}

TEST_CASE("linear attention kernel: accumulates, ignores padded keys, is reproducible") {
    LinearCase c({2, 60, 2, 16}, {60, 33}, 17);
    const LinearResult a = run_fused(c), b = run_fused(c);
    CHECK(std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.grad.data(), b.grad.data(), a.grad.size() * sizeof(float)) == 0);

    // A second backward adds the same gradient: exactly 2x from zero.
    const int C = c.C(), D = c.dims.D;
    std::vector<float> S(size_t(2) * 2 * D * D), z(size_t(2) * 2 * D), out(a.out);
    const float* x = c.qkv.data();
    linear_attention_forward(out.data(), c.ldo, S.data(), z.data(), x, x + C, x + 2 * C, c.ld,
                             c.lengths.data(), c.dims);
    std::vector<float> g = a.grad;
    linear_attention_backward(g.data(), g.data() + C, g.data() + 2 * C, c.ld_grad, c.dout.data(),
                              c.ldo, S.data(), z.data(), x, x + C, x + 2 * C, c.ld,
                              c.lengths.data(), c.dims);
    bool doubled = true;
    for (size_t i = 0; i < g.size(); ++i) doubled &= g[i] == 2.0f * a.grad[i];
    CHECK(doubled);

    // Changing q, k, v at example 1's padded positions changes nothing; padded rows are 0.
    LinearCase d = c;
    for (int t = 33; t < 60; ++t)
        for (int i = 0; i < d.ld; ++i) d.qkv[(size_t(60) + t) * d.ld + i] = 50.0f * (i % 5);
    const LinearResult p = run_fused(d);
    CHECK(p.out == a.out);
    CHECK(p.grad == a.grad);
    bool padded_zero = true;
    for (int t = 33; t < 60; ++t)
        for (int i = 0; i < C; ++i) padded_zero &= p.out[(size_t(60) + t) * c.ldo + i] == 0.0f;
    CHECK(padded_zero);
}

TEST_SUITE_END();
