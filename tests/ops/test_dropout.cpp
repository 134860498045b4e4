// dropout: identity at p = 0, kept fraction and scaling, the same mask in backward, distinct
// masks per stream, and accumulation.
#include <doctest/doctest.h>

#include <cmath>

#include "core/rng.h"
#include "ops/ops.h"
#include "support/gradcheck.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

TEST_CASE("dropout: p = 0 returns the input Var itself and records nothing") {
    Var x = make_var(random_tensor({2, 7, 12}, 1), true, "x");
    tape().clear();
    Var y = dropout(x, 0.0f, 5, 6);
    CHECK(y.get() == x.get());
    CHECK(tape().size() == 0);
}

TEST_CASE("dropout: keeps about 1 - p of 100k elements, scaled by 1 / (1 - p)") {
    float p = 0.3f;
    Var x = make_var(Tensor::full({100000}, 1.0f));
    Var y = dropout(x, p, 42, 3);
    int64_t kept = 0;
    bool scaled = true;
    for (int64_t i = 0; i < y->value.numel(); ++i) {
        float v = y->value.data()[i];
        if (v != 0.0f) ++kept;
        scaled = scaled && (v == 0.0f || v == 1.0f / (1.0f - p));
    }
    // The binomial standard deviation of the fraction is about 0.0015; 0.01 is ~7 of them.
    CHECK(std::fabs(double(kept) / 100000.0 - (1.0 - p)) < 0.01);
    CHECK(scaled);
}

TEST_CASE("dropout: the vector mask is the scalar formula random_uniform(seed, stream, i) >= p") {
    // 1000 is not a multiple of any vector width, so the one-lane tail runs too; p = 0.5 puts the
    // threshold on an exact power of two, 1e-7 and 0.999 near the ends.
    for (float p : {0.5f, 0.1f, 1e-7f, 0.999f, 0.3f}) {
        Var x = make_var(Tensor::full({1000}, 2.0f));
        Var y = dropout(x, p, 77, 5);
        int64_t wrong = 0;
        for (int64_t i = 0; i < 1000; ++i) {
            const bool kept = random_uniform(77, 5, uint64_t(i)) >= p;
            wrong += (y->value.data()[i] != 0.0f) != kept;
        }
        CHECK_MESSAGE(wrong == 0, "p = " << p);
    }
}

TEST_CASE("random_threshold: k / 2^24 >= p exactly when k >= random_threshold(p)") {
    Rng rng(3);
    for (int trial = 0; trial < 20000; ++trial) {
        const float p = trial % 4 == 0 ? float(rng.uniform_int(0, 1 << 24)) / 16777216.0f
                                       : float(rng.uniform());
        const uint32_t t = random_threshold(p);
        // The integers on both sides of the threshold decide like the float comparison.
        for (int64_t k : {int64_t(t) - 1, int64_t(t)}) {
            if (k < 0 || k >= (1 << 24)) continue;
            const bool by_float = float(k) * (1.0f / 16777216.0f) >= p;
            CHECK(by_float == (uint32_t(k) >= t));
        }
    }
}

TEST_CASE("dropout: different streams give different masks") {
    Var x = make_var(Tensor::full({10000}, 1.0f));
    Var a = dropout(x, 0.5f, 42, 1), b = dropout(x, 0.5f, 42, 2), c = dropout(x, 0.5f, 42, 1);
    int64_t differ = 0;
    for (int64_t i = 0; i < 10000; ++i) differ += a->value.data()[i] != b->value.data()[i];
    CHECK(differ > 4000);  // independent masks disagree on about half the elements
    CHECK(max_abs_diff(a->value, c->value) == 0.0);
}

TEST_CASE("dropout: backward uses the forward mask (finite differences, fixed seed)") {
    Var x = make_var(random_tensor({2, 7, 12}, 2), true, "x");
    CHECK(gradcheck([](const std::vector<Var>& in) { return dropout(in[0], 0.4f, 9, 4); }, {x}));
    // Explicitly: the gradient is r / (1 - p) exactly where the output kept x, else 0.
    Tensor r = random_tensor({2, 7, 12}, 3);
    x->grad = Tensor();
    Var y = dropout(x, 0.4f, 9, 4);
    tape().backward(y, r);
    for (int64_t i = 0; i < r.numel(); ++i) {
        bool kept = y->value.data()[i] != 0.0f;
        CHECK(x->grad.data()[i] == (kept ? r.data()[i] * (1.0f / 0.6f) : 0.0f));
    }
}

TEST_CASE("dropout: backward accumulates into existing gradients") {
    Var x = make_var(random_tensor({3, 11}, 4), true, "x");
    Tensor r = random_tensor({3, 11}, 5);
    tape().backward(dropout(x, 0.25f, 1, 2), r);
    Tensor once = x->grad.clone();
    tape().backward(dropout(x, 0.25f, 1, 2), r);
    for (int64_t i = 0; i < once.numel(); ++i)
        CHECK(x->grad.data()[i] == doctest::Approx(2 * once.data()[i]));
}

TEST_CASE("residual_dropout: equals add(x, dropout(h)) forward and backward, gradchecks") {
    // 5000 elements: whole vectors and a tail on every SIMD target, and the parallel path.
    Var x = make_var(random_tensor({4, 1250}, 6), true, "x");
    Var h = make_var(random_tensor({4, 1250}, 7), true, "h");
    Tensor r = random_tensor({4, 1250}, 8);
    tape().clear();
    Var fused = residual_dropout(x, h, 0.3f, 11, 5);
    tape().backward(fused, r);
    Tensor dx = x->grad.clone(), dh = h->grad.clone();
    x->grad = Tensor();
    h->grad = Tensor();
    Var unfused = add(x, dropout(h, 0.3f, 11, 5));
    tape().backward(unfused, r);
    CHECK(max_abs_diff(fused->value, unfused->value) <= 1e-6);
    CHECK(max_abs_diff(dx, x->grad) == 0.0);  // dout itself
    CHECK(max_abs_diff(dh, h->grad) <= 1e-6);
    int64_t dropped = 0;  // the mask is live: a p = 0.3 mask drops about 1500 of 5000
    for (int64_t i = 0; i < dh.numel(); ++i) dropped += dh.data()[i] == 0.0f;
    CHECK(dropped > 1200);
    CHECK(dropped < 1800);
    Var xs = make_var(random_tensor({2, 7, 12}, 9), true, "x");
    Var hs = make_var(random_tensor({2, 7, 12}, 10), true, "h");
    CHECK(gradcheck(
        [](const std::vector<Var>& in) { return residual_dropout(in[0], in[1], 0.4f, 9, 4); },
        {xs, hs}));
    CHECK(residual_dropout(xs, hs, 0.0f, 1, 1)->value.data()[3] ==
          xs->value.data()[3] + hs->value.data()[3]);
}

TEST_SUITE_END();
