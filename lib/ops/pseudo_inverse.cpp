// Iterative Moore-Penrose pseudo-inverse (Razavi et al. 2014, used by Nyströmformer):
// Z₀ = Aᵀ / (‖A‖₁‖A‖∞), Z ← ¼ Z (13I − AZ (15I − AZ (7I − AZ))). The iteration is composed of
// batched_matmul and scaled_identity_minus, so gradients flow through every step. The initial
// scale is per matrix, so examples of a batch do not influence each other.
#include <cmath>

#include "ops/ops.h"

namespace xb {

namespace {
// The index of the largest row sum (by_rows) or column sum of a (M, M) and that sum.
std::pair<int64_t, float> max_abs_line_sum(const float* a, int64_t M, bool by_rows) {
    int64_t best = 0;
    float best_sum = -1.0f;
    for (int64_t i = 0; i < M; ++i) {
        float sum = 0.0f;
        for (int64_t j = 0; j < M; ++j) sum += std::fabs(by_rows ? a[i * M + j] : a[j * M + i]);
        if (sum > best_sum) best_sum = sum, best = i;
    }
    return {best, best_sum};
}
}  // namespace

// a (N, M, M) -> out (N, M, M) = aᵀ · c, c = 1 / (max column sum · max row sum), sums of |a|.
// Backward: d aᵀ·c directly, plus through c: dc = Σ dout ⊙ aᵀ, ∂c/∂r = −c / r for the chosen
// row sum r (its entries get sign(a)·∂c/∂r) and likewise for the column sum.
Var pinv_initial_guess(const Var& a) {
    const Shape& s = a->value.shape();
    XB_CHECK(s.ndim >= 2 && s[-1] == s[-2], "pinv_initial_guess: a {} must be square", s);
    const int64_t M = s[-1], N = a->value.numel() / (M * M);
    Var out = make_var(Tensor::empty(s));
    const float* av = a->value.data();
    float* o = out->value.data();
    for (int64_t n = 0; n < N; ++n) {
        const float* an = av + n * M * M;
        const float col = max_abs_line_sum(an, M, false).second;
        const float row = max_abs_line_sum(an, M, true).second;
        const float c = col * row > 0 ? 1.0f / (col * row) : 0.0f;
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < M; ++j) o[(n * M + i) * M + j] = c * an[j * M + i];
    }
    if (needs_grad({&a})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                const float* avv = a->value.data();
                const float* g = out->grad.data();
                float* da = a->grad_buffer().data();
                for (int64_t n = 0; n < N; ++n) {
                    const float* an = avv + n * M * M;
                    const float* gn = g + n * M * M;
                    float* dan = da + n * M * M;
                    auto [ci, col] = max_abs_line_sum(an, M, false);
                    auto [ri, row] = max_abs_line_sum(an, M, true);
                    if (col * row <= 0) continue;
                    const float c = 1.0f / (col * row);
                    float dc = 0.0f;
                    for (int64_t i = 0; i < M; ++i)
                        for (int64_t j = 0; j < M; ++j) {
                            dc += gn[i * M + j] * an[j * M + i];
                            dan[j * M + i] += c * gn[i * M + j];
                        }
                    const float dcol = -dc * c / col, drow = -dc * c / row;
                    auto sign = [](float v) { return v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f; };
                    for (int64_t j = 0; j < M; ++j) {
                        dan[j * M + ci] += dcol * sign(an[j * M + ci]);
                        dan[ri * M + j] += drow * sign(an[ri * M + j]);
                    }
                }
            },
            {out});
    }
    return out;
}

Var scaled_identity_minus(const Var& a, float c) {
    const Shape& s = a->value.shape();
    XB_CHECK(s.ndim >= 2 && s[-1] == s[-2], "scaled_identity_minus: a {} must be square", s);
    const int64_t M = s[-1], total = a->value.numel();
    Var out = make_var(Tensor::empty(s));
    const float* av = a->value.data();
    float* o = out->value.data();
    // 0 - a (not -a: the same signed zeros as c·I - a) off the diagonal, c - a on it.
    for (int64_t i = 0; i < total; ++i) o[i] = 0.0f - av[i];
    const int64_t matrices = M > 0 ? total / (M * M) : 0;
    for (int64_t m = 0; m < matrices; ++m)
        for (int64_t d = 0; d < M; ++d) {
            const int64_t i = m * M * M + d * (M + 1);
            o[i] = c - av[i];
        }
    if (needs_grad({&a})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                const float* g = out->grad.data();
                float* da = a->grad_buffer().data();
                for (int64_t i = 0; i < total; ++i) da[i] -= g[i];
            },
            {out});
    }
    return out;
}

Var iterative_pinv(const Var& a, int iterations) {
    Var z = pinv_initial_guess(a);
    for (int it = 0; it < iterations; ++it) {
        Var az = batched_matmul(a, z, false, false);
        Var inner = batched_matmul(az, scaled_identity_minus(az, 7.0f), false, false);
        Var middle = batched_matmul(az, scaled_identity_minus(inner, 15.0f), false, false);
        z = batched_matmul(z, scaled_identity_minus(middle, 13.0f), false, false, 0.25f);
    }
    return z;
}

}  // namespace xb
