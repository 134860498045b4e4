// Layout ops between token-major and head-major tensors and leading-block slices: pure copies,
// so forward saves nothing.
#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

// Copies between x (B, T, parts·H·D) part p and y (B, H, T, D). to_heads: y = x[p]; else the
// reverse direction, accumulating: x[p] += y (used for backward and for merge_heads).
static void heads_copy(float* x, float* y, int64_t B, int64_t T, int64_t H, int64_t D, int64_t part,
                       int64_t parts, bool to_heads, bool accumulate) {
    const int64_t ldx = parts * H * D;
#pragma omp parallel for schedule(static) if (B * T * H * D >= kMinParallelWork)
    for (int64_t bt = 0; bt < B * T; ++bt) {
        const int64_t b = bt / T, t = bt % T;
        float* xr = x + bt * ldx + part * H * D;
        for (int64_t h = 0; h < H; ++h) {
            float* yr = y + ((b * H + h) * T + t) * D;
            float* xh = xr + h * D;
            if (to_heads) {
                for (int64_t e = 0; e < D; ++e) yr[e] = accumulate ? yr[e] + xh[e] : xh[e];
            } else {
                for (int64_t e = 0; e < D; ++e) xh[e] = accumulate ? xh[e] + yr[e] : yr[e];
            }
        }
    }
}

Var split_heads(const Var& x, int heads, int part, int parts) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim == 3 && s[2] % (int64_t(heads) * parts) == 0 && part >= 0 && part < parts,
             "split_heads: x {} for heads={} part {} of {}", s, heads, part, parts);
    const int64_t B = s[0], T = s[1], H = heads, D = s[2] / (H * parts);
    Var out = make_var(Tensor::empty({B, H, T, D}));
    heads_copy(x->value.data(), out->value.data(), B, T, H, D, part, parts, true, false);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                heads_copy(x->grad_buffer().data(), out->grad.data(), B, T, H, D, part, parts,
                           false, true);
            },
            {out});
    }
    return out;
}

Var merge_heads(const Var& x) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim == 4, "merge_heads: x {} must be (B, H, T, D)", s);
    const int64_t B = s[0], H = s[1], T = s[2], D = s[3];
    Var out = make_var(Tensor::empty({B, T, H * D}));
    heads_copy(out->value.data(), x->value.data(), B, T, H, D, 0, 1, false, false);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                heads_copy(out->grad.data(), x->grad_buffer().data(), B, T, H, D, 0, 1, true, true);
            },
            {out});
    }
    return out;
}

// x (N, R, L) <-> y (N, rows, cols) leading block; forward copies, backward accumulates.
static void leading_block_copy(float* x, float* y, int64_t N, int64_t R, int64_t L, int64_t rows,
                               int64_t cols, bool to_block) {
#pragma omp parallel for schedule(static) if (N * rows * cols >= kMinParallelWork)
    for (int64_t nr = 0; nr < N * rows; ++nr) {
        const int64_t n = nr / rows, i = nr % rows;
        float* xr = x + (n * R + i) * L;
        float* yr = y + nr * cols;
        if (to_block) {
            for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j];
        } else {
            for (int64_t j = 0; j < cols; ++j) xr[j] += yr[j];
        }
    }
}

Var slice_leading(const Var& x, int64_t rows, int64_t cols) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim >= 2 && rows <= s[-2] && cols <= s[-1], "slice_leading: x {} to {}x{}", s, rows,
             cols);
    const int64_t R = s[-2], L = s[-1], N = x->value.numel() / (R * L);
    Shape os = s;
    os.dims[os.ndim - 2] = rows;
    os.dims[os.ndim - 1] = cols;
    Var out = make_var(Tensor::empty(os));
    leading_block_copy(x->value.data(), out->value.data(), N, R, L, rows, cols, true);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                leading_block_copy(x->grad_buffer().data(), out->grad.data(), N, R, L, rows, cols,
                                   false);
            },
            {out});
    }
    return out;
}

}  // namespace xb
