// fourier_mix (FNet): forward against a naive O(T²) 2-D DFT in double over each example's valid
// rows, zero padded rows, backward against finite differences (both scalings).
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("fourier_mix: equals the real part of a naive 2-D DFT over each valid length") {
    const int64_t B = 2, T = 7, C = 6;
    const std::vector<int32_t> lengths = {7, 4};
    Tensor x = random_tensor({B, T, C}, 1);
    for (bool unitary : {false, true}) {
        CAPTURE(unitary);
        Var y = fourier_mix(make_var(x), lengths, unitary);
        std::vector<double> ref;
        for (int64_t b = 0; b < B; ++b) {
            const int64_t L = lengths[size_t(b)];
            const double scale = unitary ? 1.0 / std::sqrt(double(L * C)) : 1.0;
            for (int64_t t = 0; t < T; ++t)
                for (int64_t c = 0; c < C; ++c) {
                    double sum = 0.0;  // Re Σ x e^{−2πi(ts/L + ck/C)}
                    for (int64_t s = 0; s < L && t < L; ++s)
                        for (int64_t k = 0; k < C; ++k)
                            sum += x.data()[(b * T + s) * C + k] *
                                   std::cos(2 * M_PI * (double(t * s) / L + double(c * k) / C));
                    ref.push_back(scale * sum);
                }
        }
        CHECK(max_abs_diff(y->value, ref) < 2e-5);
    }
}

TEST_CASE("fourier_mix: backward matches finite differences") {
    const std::vector<int32_t> lengths = {5, 3};
    for (bool unitary : {false, true}) {
        CAPTURE(unitary);
        Var x = make_var(random_tensor({2, 5, 4}, 2), true, "x");
        gradcheck([&](const std::vector<Var>& in) { return fourier_mix(in[0], lengths, unitary); },
                  {x});
    }
}

TEST_SUITE_END();
