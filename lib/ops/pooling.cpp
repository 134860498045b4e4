// Sequence pooling and the CLS token: prepend a learned vector at position 0, take position 0,
// or average over each sequence's valid (non-padded) prefix. All are copies or sums, so forward
// saves nothing but the lengths.
#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

// x (B, T, C), token (C) -> out (B, T+1, C)
static void prepend_token_forward(float* out, const float* x, const float* token, int64_t B,
                                  int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (B * (T + 1) * C >= kMinParallelWork)
    for (int64_t row = 0; row < B * (T + 1); ++row) {
        int64_t b = row / (T + 1), t = row % (T + 1);
        const float* src = t == 0 ? token : x + (b * T + t - 1) * C;
        for (int64_t c = 0; c < C; ++c) out[row * C + c] = src[c];
    }
}

// dx (B, T, C) += dout[:, 1:]; dtoken (C) += Σ_b dout[b, 0]. Either may be null.
static void prepend_token_backward(float* dx, float* dtoken, const float* dout, int64_t B,
                                   int64_t T, int64_t C) {
    if (dx) {
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
        for (int64_t row = 0; row < B * T; ++row) {
            int64_t b = row / T, t = row % T;
            const float* src = dout + (b * (T + 1) + t + 1) * C;
            for (int64_t c = 0; c < C; ++c) dx[row * C + c] += src[c];
        }
    }
    if (dtoken) {
        // B·C adds: too small to be worth a parallel region.
        for (int64_t b = 0; b < B; ++b)
            for (int64_t c = 0; c < C; ++c) dtoken[c] += dout[b * (T + 1) * C + c];
    }
}

// x (B, T, C), token (C) -> (B, T+1, C)
Var prepend_token(const Var& x, const Var& token) {
    const Shape& xs = x->value.shape();
    XB_CHECK(xs.ndim == 3 && token->value.shape() == Shape({xs[2]}),
             "prepend_token: x {} must be (B, T, C) and token {} (C)", xs, token->value.shape());
    int64_t B = xs[0], T = xs[1], C = xs[2];
    Var out = make_var(Tensor::empty({B, T + 1, C}));
    prepend_token_forward(out->value.data(), x->value.data(), token->value.data(), B, T, C);
    if (needs_grad({&x, &token})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                prepend_token_backward(x->requires_grad ? x->grad_buffer().data() : nullptr,
                                       token->requires_grad ? token->grad_buffer().data() : nullptr,
                                       out->grad.data(), B, T, C);
            },
            {out});
    }
    return out;
}

// x (B, T, C), lengths (B) -> out (B, C) = mean of x[b, 0:lengths[b]], or 0 when lengths[b] == 0
static void mean_pool_forward(float* out, const float* x, const int32_t* lengths, int64_t B,
                              int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
    for (int64_t b = 0; b < B; ++b) {
        float* dst = out + b * C;
        for (int64_t c = 0; c < C; ++c) dst[c] = 0.0f;
        for (int64_t t = 0; t < lengths[b]; ++t) {
            const float* src = x + (b * T + t) * C;
            for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
        }
        float inv = lengths[b] > 0 ? 1.0f / float(lengths[b]) : 0.0f;
        for (int64_t c = 0; c < C; ++c) dst[c] *= inv;
    }
}

// dx[b, t] (B, T, C) += dout[b] (B, C) / lengths[b] for t < lengths[b]
static void mean_pool_backward(float* dx, const float* dout, const int32_t* lengths, int64_t B,
                               int64_t T, int64_t C) {
    // Parallel over (b, t) rows: B alone is often smaller than the thread count.
#pragma omp parallel for schedule(static) if (B * T * C >= kMinParallelWork)
    for (int64_t row = 0; row < B * T; ++row) {
        int64_t b = row / T, t = row % T;
        if (t >= lengths[b]) continue;
        float inv = 1.0f / float(lengths[b]);
        for (int64_t c = 0; c < C; ++c) dx[row * C + c] += dout[b * C + c] * inv;
    }
}

// x (B, T, C), lengths (B) in [0, T] -> (B, C)
Var mean_pool(const Var& x, const std::vector<int32_t>& lengths) {
    const Shape& xs = x->value.shape();
    XB_CHECK(xs.ndim == 3, "mean_pool: x must be (B, T, C), got {}", xs);
    int64_t B = xs[0], T = xs[1], C = xs[2];
    XB_CHECK(int64_t(lengths.size()) == B, "mean_pool: {} lengths for B={}", lengths.size(), B);
    for (int64_t b = 0; b < B; ++b)
        XB_CHECK(lengths[b] >= 0 && lengths[b] <= T, "mean_pool: lengths[{}] = {} outside [0, {}]",
                 b, lengths[b], T);
    Var out = make_var(Tensor::empty({B, C}));
    mean_pool_forward(out->value.data(), x->value.data(), lengths.data(), B, T, C);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                mean_pool_backward(x->grad_buffer().data(), out->grad.data(), lengths.data(), B, T,
                                   C);
            },
            {out});
    }
    return out;
}

// x (B, T, C) -> out (B, C) = x[:, 0]
static void first_token_forward(float* out, const float* x, int64_t B, int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (B * C >= kMinParallelWork)
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) out[b * C + c] = x[b * T * C + c];
}

// dx[:, 0] (B, T, C) += dout (B, C)
static void first_token_backward(float* dx, const float* dout, int64_t B, int64_t T, int64_t C) {
#pragma omp parallel for schedule(static) if (B * C >= kMinParallelWork)
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) dx[b * T * C + c] += dout[b * C + c];
}

// x (B, T, C) with T >= 1 -> (B, C)
Var first_token(const Var& x) {
    const Shape& xs = x->value.shape();
    XB_CHECK(xs.ndim == 3 && xs[1] >= 1, "first_token: x must be (B, T >= 1, C), got {}", xs);
    int64_t B = xs[0], T = xs[1], C = xs[2];
    Var out = make_var(Tensor::empty({B, C}));
    first_token_forward(out->value.data(), x->value.data(), B, T, C);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] { first_token_backward(x->grad_buffer().data(), out->grad.data(), B, T, C); },
            {out});
    }
    return out;
}

}  // namespace xb
