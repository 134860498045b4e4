// Backward steps that overwrite a new gradient buffer (VarData::grad_target) instead of adding to
// a zero-filled one: the buffer comes uninitialised from the pool, so every element must be
// written. The pool is poisoned with NaN-filled blocks of the gradient's size first; the result
// must equal, bit for bit, the gradient added to an existing buffer minus what was there.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "core/gemm.h"
#include "ops/ops.h"
#include "support/gradcheck.h"

using namespace xb;
using namespace xb::test;

TEST_SUITE_BEGIN("unit");

namespace {

// Frees a few NaN-filled tensors of `shape` so that the next allocations of that size reuse them.
void poison_pool(const Shape& shape) {
    std::vector<Tensor> blocks;
    for (int i = 0; i < 8; ++i) blocks.push_back(Tensor::full(shape, std::nanf("")));
}

// x's gradient through f, once into a fresh buffer and once added to a buffer holding `base`.
void check_overwrite(const char* name, const std::function<Var(const Var&)>& f) {
    CAPTURE(name);
    const Shape shape{3, 37, 24};  // 37 rows: not a multiple of any vector width or chunk
    Tensor r = random_tensor(shape, 11);
    Var x = make_var(random_tensor(shape, 12), true, "x");
    poison_pool(shape);
    tape().backward(f(x), r);
    Tensor fresh = x->grad.clone();
    x->grad = Tensor::zeros(shape);
    tape().backward(f(x), r);
    int64_t differ = 0, nonfinite = 0;
    for (int64_t i = 0; i < fresh.numel(); ++i) {
        nonfinite += !std::isfinite(fresh.data()[i]);
        differ += fresh.data()[i] != x->grad.data()[i];
    }
    CHECK(nonfinite == 0);
    CHECK(differ == 0);
}

}  // namespace

TEST_CASE("gemm: beta = 0 overwrites C without reading it (C full of NaN)") {
    for (int64_t M : {5, 300}) {
        const int64_t N = 70, K = 33;
        Tensor A = random_tensor({M, K}, 1), B = random_tensor({K, N}, 2);
        Tensor C = Tensor::full({M, N}, std::nanf("")), ref = Tensor::zeros({M, N});
        gemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
        gemm_naive(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ref.data(), N);
        CAPTURE(M);
        CHECK(max_abs_diff(C, ref) < 1e-4);
    }
}

TEST_CASE("backward into a new gradient writes every element, the same bits as adding to zeros") {
    Var w = make_param(random_tensor({24, 24}, 3), "w");
    Var gamma = make_param(random_tensor({24}, 4), "gamma"),
        beta = make_param(random_tensor({24}, 5), "beta");
    Var h = make_var(random_tensor({3, 37, 24}, 6), true, "h");
    check_overwrite("linear", [&](const Var& x) { return linear(x, w, nullptr); });
    check_overwrite("gelu", [](const Var& x) { return gelu(x); });
    Var bias = make_param(random_tensor({24}, 7), "bias");
    check_overwrite("bias_gelu", [&](const Var& x) { return bias_gelu(x, bias); });
    check_overwrite("layernorm", [&](const Var& x) { return layernorm(x, gamma, beta, 1e-5f); });
    check_overwrite("residual_dropout x",
                    [&](const Var& x) { return residual_dropout(x, h, 0.3f, 7, 1); });
    check_overwrite("residual_dropout h",
                    [&](const Var& x) { return residual_dropout(h, x, 0.3f, 7, 1); });
    check_overwrite("residual_dropout x, x",
                    [](const Var& x) { return residual_dropout(x, x, 0.3f, 7, 1); });
}

TEST_SUITE_END();
