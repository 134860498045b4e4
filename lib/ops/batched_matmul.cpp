// Batched matrix product as one GEMM per matrix of the batch; backward accumulates both inputs.
// Small matrices run in parallel over the batch (each GEMM single-threaded inside the region);
// large ones run one after the other with a multi-threaded GEMM. Either way every output
// element is computed by one GEMM call, so results are reproducible for a fixed thread count.
#include "core/gemm.h"
#include "core/parallel_grain.h"
#include "ops/ops.h"

namespace xb {

namespace {
struct MatmulDims {
    int64_t N, M, K, P;  // batch, rows of op(a), inner, columns of op(b)
    bool ta, tb;
    int64_t lda() const { return ta ? M : K; }
    int64_t ldb() const { return tb ? K : P; }
    bool batch_parallel() const { return N > 1 && M * K * P < (int64_t(1) << 21); }
};

// Runs one(n) for every matrix n of the batch: in parallel for small matrices (a
// single-threaded GEMM each), in order for large ones (a multi-threaded GEMM each).
template <class F>
void for_each_matrix(const MatmulDims& d, const F& one) {
    if (d.batch_parallel()) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < d.N; ++n) one(n);
    } else {
        for (int64_t n = 0; n < d.N; ++n) one(n);
    }
}
}  // namespace

// a (N, M, K) or (N, K, M), b (N, K, P) or (N, P, K) -> out (N, M, P) = alpha · op(a) op(b)
static void batched_matmul_forward(float* out, const float* a, const float* b, float alpha,
                                   const MatmulDims& d) {
    auto one = [&](int64_t n) {
        gemm(d.ta, d.tb, d.M, d.P, d.K, alpha, a + n * d.M * d.K, d.lda(), b + n * d.K * d.P,
             d.ldb(), 0.0f, out + n * d.M * d.P, d.P);
    };
    for_each_matrix(d, one);
}

// out = α op(a) op(b): d op(a) = α dout op(b)ᵀ, d op(b) = α op(a)ᵀ dout; da, db may be null.
static void batched_matmul_backward(float* da, float* db, const float* dout, const float* a,
                                    const float* b, float alpha, const MatmulDims& d) {
    auto one = [&](int64_t n) {
        const float* an = a + n * d.M * d.K;
        const float* bn = b + n * d.K * d.P;
        const float* gn = dout + n * d.M * d.P;
        if (da) {
            float* g = da + n * d.M * d.K;
            if (!d.ta)  // da (M, K) += α dout op(b)ᵀ
                gemm(false, !d.tb, d.M, d.K, d.P, alpha, gn, d.P, bn, d.ldb(), 1.0f, g, d.K);
            else  // da (K, M) += α op(b) doutᵀ
                gemm(d.tb, true, d.K, d.M, d.P, alpha, bn, d.ldb(), gn, d.P, 1.0f, g, d.M);
        }
        if (db) {
            float* g = db + n * d.K * d.P;
            if (!d.tb)  // db (K, P) += α op(a)ᵀ dout
                gemm(!d.ta, false, d.K, d.P, d.M, alpha, an, d.lda(), gn, d.P, 1.0f, g, d.P);
            else  // db (P, K) += α doutᵀ op(a)
                gemm(true, d.ta, d.P, d.K, d.M, alpha, gn, d.P, an, d.lda(), 1.0f, g, d.K);
        }
    };
    for_each_matrix(d, one);
}

Var batched_matmul(const Var& a, const Var& b, bool trans_a, bool trans_b, float alpha) {
    const Shape &as = a->value.shape(), &bs = b->value.shape();
    XB_CHECK(as.ndim >= 2 && as.ndim == bs.ndim, "batched_matmul: a {} b {}", as, bs);
    Shape os = as;
    int64_t N = 1;
    for (int i = 0; i < as.ndim - 2; ++i) {
        XB_CHECK(as[i] == bs[i], "batched_matmul: batch dims of a {} and b {} differ", as, bs);
        N *= as[i];
    }
    MatmulDims d{N,
                 trans_a ? as[-1] : as[-2],
                 trans_a ? as[-2] : as[-1],
                 trans_b ? bs[-2] : bs[-1],
                 trans_a,
                 trans_b};
    XB_CHECK((trans_b ? bs[-1] : bs[-2]) == d.K,
             "batched_matmul: inner dims of a {} b {} (ta={} tb={})", as, bs, trans_a, trans_b);
    os.dims[os.ndim - 2] = d.M;
    os.dims[os.ndim - 1] = d.P;
    Var out = make_var(Tensor::empty(os));
    batched_matmul_forward(out->value.data(), a->value.data(), b->value.data(), alpha, d);
    if (needs_grad({&a, &b})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                batched_matmul_backward(a->requires_grad ? a->grad_buffer().data() : nullptr,
                                        b->requires_grad ? b->grad_buffer().data() : nullptr,
                                        out->grad.data(), a->value.data(), b->value.data(), alpha,
                                        d);
            },
            {out});
    }
    return out;
}

}  // namespace xb
