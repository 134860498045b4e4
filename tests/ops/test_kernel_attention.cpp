// kernel_attention and sequence_projection: forward against direct sums in double, padding
// excluded, backward against finite differences.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

static Tensor positive_tensor(const Shape& s, uint64_t seed) {
    Tensor t = random_tensor(s, seed);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = 0.2f + std::fabs(t.data()[i]);
    return t;
}

TEST_CASE("kernel_attention: forward matches Σ_j φq·φk v / Σ_j φq·φk over valid keys") {
    const std::vector<int32_t> lengths = {5, 3};
    const int64_t B = 2, G = 2, T = 5, M = 4, D = 3;
    Tensor pq = positive_tensor({B, G, T, M}, 1), pk = positive_tensor({B, G, T, M}, 2);
    Tensor v = random_tensor({B, G, T, D}, 3);
    Var o = kernel_attention(make_var(pq), make_var(pk), make_var(v), lengths);
    std::vector<double> ref;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t g = 0; g < G; ++g)
            for (int64_t i = 0; i < T; ++i)
                for (int64_t d = 0; d < D; ++d) {
                    double num = 0, den = 0;
                    for (int64_t j = 0; j < lengths[size_t(b)]; ++j) {
                        double w = 0;
                        for (int64_t m = 0; m < M; ++m)
                            w += double(pq.data()[((b * G + g) * T + i) * M + m]) *
                                 pk.data()[((b * G + g) * T + j) * M + m];
                        num += w * v.data()[((b * G + g) * T + j) * D + d];
                        den += w;
                    }
                    ref.push_back(i < lengths[size_t(b)] ? num / den : 0.0);
                }
    CHECK(max_abs_diff(o->value, ref) < 1e-5);
    Var q = make_var(pq, true, "phi_q"), k = make_var(pk, true, "phi_k"),
        vv = make_var(v, true, "v");
    gradcheck(
        [&](const std::vector<Var>& in) { return kernel_attention(in[0], in[1], in[2], lengths); },
        {q, k, vv});
}

TEST_CASE("sequence_projection: e[:, :len] x[:len], per-head and shared e, backward") {
    const std::vector<int32_t> lengths = {4, 2};
    const int64_t B = 2, G = 2, T = 4, D = 3, K = 3, L = 6;
    for (int64_t He : {int64_t(1), G}) {
        CAPTURE(He);
        Tensor e = random_tensor({He, K, L}, 4), x = random_tensor({B, G, T, D}, 5);
        Var y = sequence_projection(make_var(e), make_var(x), lengths);
        std::vector<double> ref;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t g = 0; g < G; ++g)
                for (int64_t r = 0; r < K; ++r)
                    for (int64_t d = 0; d < D; ++d) {
                        double s = 0;
                        for (int64_t t = 0; t < lengths[size_t(b)]; ++t)
                            s += double(e.data()[((He == 1 ? 0 : g) * K + r) * L + t]) *
                                 x.data()[((b * G + g) * T + t) * D + d];
                        ref.push_back(s);
                    }
        CHECK(max_abs_diff(y->value, ref) < 1e-5);
        Var ev = make_param(e, "e"), xv = make_var(x, true, "x");
        gradcheck(
            [&](const std::vector<Var>& in) { return sequence_projection(in[0], in[1], lengths); },
            {ev, xv});
    }
}

TEST_SUITE_END();
