// GEMM wrapper over oneDNN; see gemm.h.
#include "core/gemm.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <vector>

#include "core/check.h"

namespace xb {

namespace {
// Rows per thread from which a product is split into row blocks (smaller ones go to oneDNN whole).
constexpr int64_t kRowsPerThread = 1024;
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
        return;
    }
    const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    dnnl_status_t st = dnnl_success;
    if (!trans_a && threads > 1 && M >= kRowsPerThread * threads) {
        // Tall products (the projections of all B·T tokens): one block of rows per thread, each
        // a single-threaded oneDNN call (oneDNN runs sequentially inside a parallel region).
        // The split depends on the thread count only, so results stay reproducible.
        std::vector<dnnl_status_t> status(size_t(threads), dnnl_success);
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num();
            const int64_t m0 = M * t / threads, m1 = M * (t + 1) / threads;
            status[size_t(t)] = dnnl_sgemm(ta, tb, m1 - m0, N, K, alpha, A + m0 * lda, lda, B, ldb,
                                           beta, C + m0 * ldc, ldc);
        }
        for (dnnl_status_t s : status)
            if (s != dnnl_success) st = s;
    } else {
        st = dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    XB_CHECK(st == dnnl_success, "dnnl_sgemm failed with status {} (M={} N={} K={})", int(st), M, N,
             K);
}

void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                int64_t ldc) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            double acc = 0;
            for (int64_t k = 0; k < K; ++k) {
                double a = trans_a ? A[k * lda + i] : A[i * lda + k];
                double b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
            }
            float prev = beta == 0 ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = float(alpha * acc) + prev;
        }
}

}  // namespace xb
