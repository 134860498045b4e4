// Accuracy and special values of the vectorisable exp (core/vec_math.h) against std::exp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "core/vec_math.h"

TEST_SUITE_BEGIN("unit");

TEST_CASE("vec_math: exp_approx relative error <= 2e-7 on [-87, 88]") {
    // A dense grid plus random points; the full float range was checked exhaustively offline
    // (max relative error 8.5e-8).
    std::vector<float> x;
    for (int i = 0; i <= 400000; ++i) x.push_back(-87.0f + 175.0f * float(i) / 400000.0f);
    xb::Rng rng(3);
    for (int i = 0; i < 200000; ++i) x.push_back(float(-87.0 + 175.0 * rng.uniform()));
    std::vector<float> y = x, y_nonpos = x;
    xb::exp_inplace(y.data(), int(y.size()));
    for (float& v : y_nonpos) v = v > 0.0f ? -v * (87.0f / 88.0f) : v;  // into [-87, 0]
    std::vector<float> ref_nonpos = y_nonpos;
#pragma omp simd
    for (size_t i = 0; i < y_nonpos.size(); ++i)
        y_nonpos[i] = xb::exp_approx_nonpositive(y_nonpos[i]);
    double worst = 0.0, worst_nonpos = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double ref = std::exp(double(x[i]));
        worst = std::max(worst, std::fabs(double(y[i]) - ref) / ref);
        const double ref2 = std::exp(double(ref_nonpos[i]));
        worst_nonpos = std::max(worst_nonpos, std::fabs(double(y_nonpos[i]) - ref2) / ref2);
    }
    CHECK(worst <= 2e-7);
    CHECK(worst_nonpos <= 2e-7);
}

TEST_CASE("vec_math: exp_approx special values and softmax helper") {
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(xb::exp_approx(-inf) == 0.0f);
    CHECK(xb::exp_approx(-1e30f) == 0.0f);
    CHECK(xb::exp_approx(-100.0f) == 0.0f);
    CHECK(xb::exp_approx(0.0f) == 1.0f);
    CHECK(xb::exp_approx(89.0f) == inf);
    CHECK(xb::exp_approx(inf) == inf);
    CHECK(std::isnan(xb::exp_approx(std::numeric_limits<float>::quiet_NaN())));
    CHECK(std::isfinite(xb::exp_approx(88.7f)));
    CHECK(xb::exp_approx_nonpositive(-inf) == 0.0f);
    CHECK(xb::exp_approx_nonpositive(-1e30f) == 0.0f);
    CHECK(std::isnan(xb::exp_approx_nonpositive(std::numeric_limits<float>::quiet_NaN())));

    std::vector<float> row = {1.0f, 3.0f, -inf, 2.0f};
    const float sum = xb::max_subtract_exp_sum(row.data(), 4);
    CHECK(row[1] == 1.0f);
    CHECK(row[2] == 0.0f);
    CHECK(sum == doctest::Approx(1.0 + std::exp(-1.0) + std::exp(-2.0)).epsilon(1e-6));
    std::vector<float> masked = {-inf, -inf};
    CHECK(xb::max_subtract_exp_sum(masked.data(), 2) == 0.0f);
    CHECK(masked[0] == 0.0f);
}

TEST_SUITE_END();
