// Block-level ops of Sparse Sinkhorn attention (xformers.md 1.11): means of fixed-size blocks
// over the valid tokens, log-space Sinkhorn normalisation of block scores into a doubly
// stochastic matrix, and the soft permutation of blocks that it defines. Every op is
// differentiable in all its float inputs; parallel over (batch, group), which owns the writes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

namespace {

struct BlockDims {
    int64_t B, G, T, D, block, N;  // N = ceil(T / block) blocks
    // Valid rows of block j for an example of `len` tokens: [j·block, block_end(j, len)).
    int64_t block_end(int64_t j, int64_t len) const { return std::min({(j + 1) * block, T, len}); }
};

BlockDims block_dims(const Shape& s, int block) {
    const int64_t T = s[-2], D = s[-1];
    return {s[0], s.numel() / (s[0] * T * D), T, D, block, (T + block - 1) / block};
}

}  // namespace

std::vector<int32_t> valid_block_counts(int64_t T, int block, const std::vector<int32_t>& lengths) {
    std::vector<int32_t> counts;
    for (int32_t len : lengths)
        counts.push_back(int32_t((std::min<int64_t>(len, T) + block - 1) / block));
    return counts;
}

Var block_means(const Var& x, const std::vector<int32_t>& lengths, int block) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim >= 3 && block >= 1 && int64_t(lengths.size()) == s[0],
             "block_means: x {} block {} lengths {}", s, block, lengths.size());
    const BlockDims d = block_dims(s, block);
    Shape os = s;
    os.dims[os.ndim - 2] = d.N;
    Var out = make_var(Tensor::zeros(os));
    const float* xp = x->value.data();
    float* op = out->value.data();
#pragma omp parallel for schedule(static) if (d.B * d.G * d.T * d.D >= kMinParallelWork)
    for (int64_t bg = 0; bg < d.B * d.G; ++bg)
        for (int64_t j = 0; j < d.N; ++j) {
            const int64_t lo = j * d.block, hi = d.block_end(j, lengths[bg / d.G]);
            float* o = op + (bg * d.N + j) * d.D;
            for (int64_t t = lo; t < hi; ++t)
                for (int64_t e = 0; e < d.D; ++e) o[e] += xp[(bg * d.T + t) * d.D + e];
            for (int64_t e = 0; hi > lo && e < d.D; ++e) o[e] /= float(hi - lo);
        }
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                float* dx = x->grad_buffer().data();
                const float* g = out->grad.data();
#pragma omp parallel for schedule(static) if (d.B * d.G * d.T * d.D >= kMinParallelWork)
                for (int64_t bg = 0; bg < d.B * d.G; ++bg)
                    for (int64_t j = 0; j < d.N; ++j) {
                        const int64_t lo = j * d.block, hi = d.block_end(j, lengths[bg / d.G]);
                        const float* gj = g + (bg * d.N + j) * d.D;
                        for (int64_t t = lo; t < hi; ++t)
                            for (int64_t e = 0; e < d.D; ++e)
                                dx[(bg * d.T + t) * d.D + e] += gj[e] / float(hi - lo);
                    }
            },
            {out});
    }
    return out;
}

namespace {

// x ← x − logsumexp over rows (by_rows) or columns of the leading n×n block of an N×N matrix.
void normalise_log(float* x, int64_t N, int64_t n, bool by_rows) {
    for (int64_t a = 0; a < n; ++a) {
        auto at = [&](int64_t c) -> float& { return by_rows ? x[a * N + c] : x[c * N + a]; };
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t c = 0; c < n; ++c) m = std::max(m, at(c));
        double sum = 0;
        for (int64_t c = 0; c < n; ++c) sum += std::exp(double(at(c) - m));
        const float lse = m + float(std::log(sum));
        for (int64_t c = 0; c < n; ++c) at(c) -= lse;
    }
}

// Backward of y = normalise_log(x): dx = dy − exp(y) ⊙ (row or column sums of dy), in place.
void normalise_log_backward(float* dy, const float* y, int64_t N, int64_t n, bool by_rows) {
    for (int64_t a = 0; a < n; ++a) {
        auto idx = [&](int64_t c) { return by_rows ? a * N + c : c * N + a; };
        double sum = 0;
        for (int64_t c = 0; c < n; ++c) sum += dy[idx(c)];
        for (int64_t c = 0; c < n; ++c) dy[idx(c)] -= std::exp(y[idx(c)]) * float(sum);
    }
}

}  // namespace

Var sinkhorn_normalize(const Var& logits, const std::vector<int32_t>& valid, int iterations,
                       float temperature) {
    const Shape& s = logits->value.shape();
    XB_CHECK(s.ndim >= 3 && s[-1] == s[-2] && int64_t(valid.size()) == s[0] && iterations >= 1 &&
                 temperature > 0.0f,
             "sinkhorn_normalize: logits {} valid {} iterations {} temperature {}", s, valid.size(),
             iterations, temperature);
    const int64_t N = s[-1], BG = s.numel() / (N * N), G = BG / s[0], NN = N * N;
    const int64_t steps = 2 * int64_t(iterations);
    // Every half-step's output (BG, steps, N, N): its exp is the softmax that backward needs.
    Tensor states = Tensor::zeros({BG, steps, N, N});
    Var out = make_var(Tensor::zeros(s));
    const float* lp = logits->value.data();
#pragma omp parallel for schedule(static) if (BG * NN * steps >= kMinParallelWork)
    for (int64_t bg = 0; bg < BG; ++bg) {
        const int64_t n = std::min<int64_t>(valid[bg / G], N);
        float* st = states.data() + bg * steps * NN;
        for (int64_t a = 0; a < n; ++a)
            for (int64_t c = 0; c < n; ++c) st[a * N + c] = lp[bg * NN + a * N + c] / temperature;
        for (int64_t k = 0; k < steps; ++k) {
            float* cur = st + k * NN;
            if (k > 0) std::copy(cur - NN, cur, cur);
            normalise_log(cur, N, n, k % 2 == 0);
        }
        float* o = out->value.data() + bg * NN;
        for (int64_t a = 0; a < n; ++a)
            for (int64_t c = 0; c < n; ++c)
                o[a * N + c] = std::exp(st[(steps - 1) * NN + a * N + c]);
    }
    if (needs_grad({&logits})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                float* dl = logits->grad_buffer().data();
                const float* g = out->grad.data();
                const float* op = out->value.data();
#pragma omp parallel for schedule(static) if (BG * NN * steps >= kMinParallelWork)
                for (int64_t bg = 0; bg < BG; ++bg) {
                    const int64_t n = std::min<int64_t>(valid[bg / G], N);
                    std::vector<float> dy(static_cast<size_t>(NN), 0.0f);
                    for (int64_t a = 0; a < n; ++a)
                        for (int64_t c = 0; c < n; ++c)
                            dy[a * N + c] = g[bg * NN + a * N + c] * op[bg * NN + a * N + c];
                    const float* st = states.data() + bg * steps * NN;
                    for (int64_t k = steps - 1; k >= 0; --k)
                        normalise_log_backward(dy.data(), st + k * NN, N, n, k % 2 == 0);
                    for (int64_t a = 0; a < n; ++a)
                        for (int64_t c = 0; c < n; ++c)
                            dl[bg * NN + a * N + c] += dy[a * N + c] / temperature;
                }
            },
            {out});
    }
    return out;
}

// out (N, block·D) = P (N, N) · x viewed as blocks (N, block·D), per (example, group): the full
// valid blocks by one GEMM, the partial block (valid rows past the last full block) by hand;
// blocks past the valid length contribute nothing.
Var permute_blocks(const Var& p, const Var& x, const std::vector<int32_t>& lengths, int block) {
    const Shape& s = x->value.shape();
    const BlockDims d = block_dims(s, block);
    XB_CHECK(
        s.ndim >= 3 && int64_t(lengths.size()) == s[0] && p->value.numel() == d.B * d.G * d.N * d.N,
        "permute_blocks: p {} x {} block {}", p->value.shape(), s, block);
    Shape os = s;
    os.dims[os.ndim - 2] = d.N * d.block;
    Var out = make_var(Tensor::empty(os));
    const int64_t W = d.block * d.D, NN = d.N * d.N;  // W: one block of rows, flattened
    auto valid = [d, lengths](int64_t bg) {
        const int64_t len = std::min<int64_t>(lengths[bg / d.G], d.T);
        return std::make_pair(len / d.block, (len % d.block) * d.D);  // full blocks, partial floats
    };
    const float* pp = p->value.data();
    const float* xp = x->value.data();
#pragma omp parallel for schedule(static) if (d.B * d.G * d.N * d.T * d.D >= kMinParallelWork)
    for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
        const auto [full, rest] = valid(bg);
        const float* pb = pp + bg * NN;
        const float* xb = xp + bg * d.T * d.D;
        float* o = out->value.data() + bg * d.N * W;
        std::fill(o, o + d.N * W, 0.0f);
        if (full > 0) gemm(false, false, d.N, W, full, 1.0f, pb, d.N, xb, W, 0.0f, o, W);
        for (int64_t i = 0; i < d.N && rest > 0; ++i)
            for (int64_t e = 0; e < rest; ++e)
                o[i * W + e] += pb[i * d.N + full] * xb[full * W + e];
    }
    if (needs_grad({&p, &x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                const float* g = out->grad.data();
                float* dp = p->requires_grad ? p->grad_buffer().data() : nullptr;
                float* dx = x->requires_grad ? x->grad_buffer().data() : nullptr;
#pragma omp parallel for schedule(static) if (d.B * d.G * d.N * d.T * d.D >= kMinParallelWork)
                for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
                    const auto [full, rest] = valid(bg);
                    const float* gb = g + bg * d.N * W;
                    const float* pb = pp + bg * NN;
                    const float* xb = xp + bg * d.T * d.D;
                    if (dp && full > 0)  // dP[:, 0:full] += dOut · Xᵀ
                        gemm(false, true, d.N, full, W, 1.0f, gb, W, xb, W, 1.0f, dp + bg * NN,
                             d.N);
                    if (dx && full > 0)  // dX += P[:, 0:full]ᵀ · dOut
                        gemm(true, false, full, W, d.N, 1.0f, pb, d.N, gb, W, 1.0f,
                             dx + bg * d.T * d.D, W);
                    for (int64_t i = 0; i < d.N && rest > 0; ++i) {
                        const float* gi = gb + i * W;
                        if (dp) {
                            double dot = 0;
                            for (int64_t e = 0; e < rest; ++e)
                                dot += double(gi[e]) * xb[full * W + e];
                            dp[bg * NN + i * d.N + full] += float(dot);
                        }
                        const float w = pb[i * d.N + full];
                        for (int64_t e = 0; dx && e < rest; ++e)
                            dx[bg * d.T * d.D + full * W + e] += w * gi[e];
                    }
                }
            },
            {out});
    }
    return out;
}

}  // namespace xb
