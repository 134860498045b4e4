// Elementwise add, sub, mul of same-shaped tensors, and concatenation along the last dim.
// Backward loops for the two inputs are separate passes so add(x, x) or mul(x, x), where both
// gradient pointers are the same buffer, accumulate correctly.
#include "core/parallel_grain.h"
#include "ops/ops.h"

#ifndef XB_OPS_ELEMENTWISE_SHARED_
#define XB_OPS_ELEMENTWISE_SHARED_
namespace xb {

namespace {
enum class Binary { kAdd, kSub, kMul };
}  // namespace
}  // namespace xb
#endif  // XB_OPS_ELEMENTWISE_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// a (N), b (N) -> out (N)
void binary_forward(Binary op, float* out, const float* a, const float* b, int64_t N) {
    switch (op) {
        case Binary::kAdd:
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
            for (int64_t i = 0; i < N; ++i) out[i] = a[i] + b[i];
            break;
        case Binary::kSub:
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
            for (int64_t i = 0; i < N; ++i) out[i] = a[i] - b[i];
            break;
        case Binary::kMul:
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
            for (int64_t i = 0; i < N; ++i) out[i] = a[i] * b[i];
            break;
    }
}

// dst += scale · dout (add, sub) or dst += dout · other (mul);  dst, dout, other (N)
void accumulate_scaled(float* dst, const float* dout, float scale, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) dst[i] += scale * dout[i];
}
void accumulate_product(float* dst, const float* dout, const float* other, int64_t N) {
#pragma omp parallel for schedule(static) if (N >= kMinParallelWork)
    for (int64_t i = 0; i < N; ++i) dst[i] += dout[i] * other[i];
}

// da, db (N) or null; dout, a, b (N)
void binary_backward(Binary op, float* da, float* db, const float* dout, const float* a,
                     const float* b, int64_t N) {
    if (op == Binary::kMul) {
        if (da) accumulate_product(da, dout, b, N);
        if (db) accumulate_product(db, dout, a, N);
    } else {
        if (da) accumulate_scaled(da, dout, 1.0f, N);
        if (db) accumulate_scaled(db, dout, op == Binary::kSub ? -1.0f : 1.0f, N);
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(binary_forward);
HWY_EXPORT(binary_backward);

// a (N..), b (N..) -> (N..)
static Var binary(Binary op, const char* name, const Var& a, const Var& b) {
    XB_CHECK(a->value.shape() == b->value.shape(), "{}: shapes {} and {} differ", name,
             a->value.shape(), b->value.shape());
    int64_t N = a->value.numel();
    Var out = make_var(Tensor::empty(a->value.shape()));
    HWY_DYNAMIC_DISPATCH(binary_forward)
    (op, out->value.data(), a->value.data(), b->value.data(), N);
    if (needs_grad({&a, &b})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                HWY_DYNAMIC_DISPATCH(binary_backward)
                (op, a->requires_grad ? a->grad_buffer().data() : nullptr,
                 b->requires_grad ? b->grad_buffer().data() : nullptr, out->grad.data(),
                 a->value.data(), b->value.data(), N);
            },
            {out});
    }
    return out;
}

Var add(const Var& a, const Var& b) { return binary(Binary::kAdd, "add", a, b); }
Var sub(const Var& a, const Var& b) { return binary(Binary::kSub, "sub", a, b); }
Var mul(const Var& a, const Var& b) { return binary(Binary::kMul, "mul", a, b); }

// xs[i] (N, widths[i]) -> out (N, total), input i at column offsets[i]
static void concat_last_forward(float* out, const std::vector<const float*>& xs,
                                const std::vector<int64_t>& widths,
                                const std::vector<int64_t>& offsets, int64_t N, int64_t total) {
#pragma omp parallel for schedule(static) if (N * total >= kMinParallelWork)
    for (int64_t n = 0; n < N; ++n)
        for (size_t i = 0; i < xs.size(); ++i) {
            const float* src = xs[i] + n * widths[i];
            float* dst = out + n * total + offsets[i];
            for (int64_t c = 0; c < widths[i]; ++c) dst[c] = src[c];
        }
}

// dxs[i] (N, widths[i]) or null += dout (N, total)[:, offsets[i] : offsets[i] + widths[i]]
static void concat_last_backward(const std::vector<float*>& dxs, const float* dout,
                                 const std::vector<int64_t>& widths,
                                 const std::vector<int64_t>& offsets, int64_t N, int64_t total) {
#pragma omp parallel for schedule(static) if (N * total >= kMinParallelWork)
    for (int64_t n = 0; n < N; ++n)
        for (size_t i = 0; i < dxs.size(); ++i) {
            if (!dxs[i]) continue;
            float* dst = dxs[i] + n * widths[i];
            const float* src = dout + n * total + offsets[i];
            for (int64_t c = 0; c < widths[i]; ++c) dst[c] += src[c];
        }
}

// xs[i] (N.., Ci) with equal leading dims -> (N.., ΣCi)
Var concat_last(const std::vector<Var>& xs) {
    XB_CHECK(!xs.empty(), "concat_last: no inputs");
    Shape lead = xs[0]->value.shape();
    XB_CHECK(lead.ndim >= 1, "concat_last: inputs need at least one dim, got {}", lead);
    std::vector<int64_t> widths, offsets;
    std::vector<const float*> data;
    int64_t total = 0;
    bool any_grad = false;
    for (const Var& x : xs) {
        Shape s = x->value.shape();
        XB_CHECK(s.ndim == lead.ndim, "concat_last: shapes {} and {} differ in rank", lead, s);
        for (int d = 0; d + 1 < s.ndim; ++d)
            XB_CHECK(s[d] == lead[d], "concat_last: leading dims of {} and {} differ", lead, s);
        widths.push_back(s[-1]);
        offsets.push_back(total);
        data.push_back(x->value.data());
        total += s[-1];
        any_grad = any_grad || needs_grad({&x});
    }
    Shape os = lead;
    os.dims[os.ndim - 1] = total;
    int64_t N = os.numel() / (total ? total : 1);
    Var out = make_var(Tensor::empty(os));
    concat_last_forward(out->value.data(), data, widths, offsets, N, total);
    if (any_grad) {
        out->requires_grad = true;
        tape().push(
            [=] {
                std::vector<float*> grads;
                for (const Var& x : xs)
                    grads.push_back(x->requires_grad ? x->grad_buffer().data() : nullptr);
                concat_last_backward(grads, out->grad.data(), widths, offsets, N, total);
            },
            {out});
    }
    return out;
}

}  // namespace xb
#endif  // HWY_ONCE
