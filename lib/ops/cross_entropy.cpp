// Mean softmax cross-entropy, fused: log-softmax with max subtraction and the NLL in one pass per
// row. Forward saves each row's max and Σ exp(z − max) (2B floats), so backward rebuilds the
// softmax without storing a (B, K) probability matrix. Saving the log-sum-exp alone would not do:
// for logits of 1e4 its float rounding (~1e-3) would show up as a relative error in the softmax.
#include <algorithm>
#include <cmath>

#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

// logits (B, K), labels (B) -> row_loss (B) = max_b + log sum_b − logits[b, labels[b]],
// row_max (B), row_sum (B) = Σ_k exp(logits[b, k] − max_b)
static void cross_entropy_forward(float* row_loss, float* row_max, float* row_sum,
                                  const float* logits, const int32_t* labels, int64_t B,
                                  int64_t K) {
#pragma omp parallel for schedule(static) if (B * K >= kMinParallelWork)
    for (int64_t b = 0; b < B; ++b) {
        const float* z = logits + b * K;
        float zmax = z[0];
        for (int64_t k = 1; k < K; ++k) zmax = std::max(zmax, z[k]);
        // exp(z − max) <= 1, so the sum cannot overflow and is at least 1.
        float sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(z[k] - zmax);
        row_max[b] = zmax;
        row_sum[b] = sum;
        // max − z_label before adding log(sum): a confidently right row keeps its small loss
        // instead of having it rounded away against a max of 1e4.
        row_loss[b] = (zmax - z[labels[b]]) + std::log(sum);
    }
}

// dlogits (B, K) += dloss · (softmax − onehot(labels)) / B;  logits (B, K), row_max, row_sum (B)
static void cross_entropy_backward(float* dlogits, float dloss, const float* logits,
                                   const float* row_max, const float* row_sum,
                                   const int32_t* labels, int64_t B, int64_t K) {
    float scale = dloss / float(B);
#pragma omp parallel for schedule(static) if (B * K >= kMinParallelWork)
    for (int64_t b = 0; b < B; ++b) {
        const float* z = logits + b * K;
        float* dz = dlogits + b * K;
        float row_scale = scale / row_sum[b];
        for (int64_t k = 0; k < K; ++k) dz[k] += row_scale * std::exp(z[k] - row_max[b]);
        dz[labels[b]] -= scale;
    }
}

// logits (B, K), labels (B) in [0, K) -> scalar (a 0-dim tensor, one element)
Var cross_entropy(const Var& logits, const std::vector<int32_t>& labels) {
    const Shape& ls = logits->value.shape();
    XB_CHECK(ls.ndim == 2 && ls[0] >= 1 && ls[1] >= 1,
             "cross_entropy: logits must be (B, K), got {}", ls);
    int64_t B = ls[0], K = ls[1];
    XB_CHECK(int64_t(labels.size()) == B, "cross_entropy: {} labels for B={}", labels.size(), B);
    for (int64_t b = 0; b < B; ++b)
        XB_CHECK(labels[b] >= 0 && labels[b] < K, "cross_entropy: labels[{}] = {} outside [0, {})",
                 b, labels[b], K);
    // (B) each; row_max and row_sum are saved for backward
    Tensor row_loss = Tensor::empty({B}), row_max = Tensor::empty({B}),
           row_sum = Tensor::empty({B});
    cross_entropy_forward(row_loss.data(), row_max.data(), row_sum.data(), logits->value.data(),
                          labels.data(), B, K);
    // Summed serially in double: a fixed order, so the loss is bitwise independent of threads.
    double total = 0;
    for (int64_t b = 0; b < B; ++b) total += row_loss.data()[b];
    Var out = make_var(Tensor::full(Shape{}, float(total / double(B))));
    if (needs_grad({&logits})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                cross_entropy_backward(logits->grad_buffer().data(), out->grad.data()[0],
                                       logits->value.data(), row_max.data(), row_sum.data(),
                                       labels.data(), B, K);
            },
            {out});
    }
    return out;
}

}  // namespace xb
