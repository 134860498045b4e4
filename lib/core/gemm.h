// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, with op(X) = X or Xᵀ.
// A is (M,K) after op, B is (K,N) after op, C is (M,N); lda/ldb/ldc are row strides in floats.
// gemm() calls oneDNN's dnnl_sgemm; gemm_naive() is the reference used by tests.
#pragma once
#include <cstdint>

namespace xb {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                int64_t ldc);

}  // namespace xb
