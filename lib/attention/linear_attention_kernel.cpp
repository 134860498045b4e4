// Non-causal linear attention kernels (linear_attention_kernel.h). Per (b, h) the work is a few
// small GEMMs over contiguous feature buffers: S = φKᵀV, num = φQ S in forward; with
// den_i = φq_i·z + eps, G = dO/den and e_i = −(dO_i·O_i)/den_i, backward is
//   dφQ = G Sᵀ + e zᵀ,  dS = φQᵀ G,  dz = φQᵀ e,  dφK = V dSᵀ + 1 dzᵀ,  dV = φK dS.
// Parallel over (b, h), each done by one thread (the GEMMs run single-threaded inside the
// parallel region), so results are bitwise reproducible for any thread count. Measured ~25%
// faster per training step than row-by-row rank-1 loops at T = 4096 (README, speed section).
#include "attention/linear_attention_kernel.h"

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "core/gemm.h"
#include "core/vec_math.h"

namespace xb {
namespace {

// φ(x) = elu(x) + 1 and, if dphi, φ'(x) (1 for x > 0, else e^x = φ(x)), for n rows of width D
// read at stride ld, written contiguously (n, D).
void feature_map(float* phi, float* dphi, const float* x, int64_t n, int D, int ld) {
    for (int64_t i = 0; i < n; ++i) {
        const float* xi = x + i * ld;
        float* p = phi + i * D;
#pragma omp simd
        for (int a = 0; a < D; ++a) {
            const float e = exp_approx(xi[a] < 0.0f ? xi[a] : 0.0f);
            p[a] = xi[a] > 0.0f ? xi[a] + 1.0f : e;
        }
        if (!dphi) continue;
        float* g = dphi + i * D;
#pragma omp simd
        for (int a = 0; a < D; ++a) g[a] = xi[a] > 0.0f ? 1.0f : p[a];
    }
}

// out (D) = Σ_i w_i rows[i, :] (w == nullptr: all ones), rows (n, D) contiguous.
void weighted_column_sums(float* out, const float* rows, const float* w, int64_t n, int D) {
    std::fill(out, out + D, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        const float wi = w ? w[i] : 1.0f;
#pragma omp simd
        for (int a = 0; a < D; ++a) out[a] += wi * rows[i * D + a];
    }
}

void check_linear_args(int ld, int ldo, const int32_t* lengths, const AttentionDims& dims) {
    XB_CHECK(dims.B >= 0 && dims.T >= 1 && dims.H >= 1 && dims.D >= 1, "dims B={} T={} H={} D={}",
             dims.B, dims.T, dims.H, dims.D);
    XB_CHECK(ld >= dims.H * dims.D && ldo >= dims.H * dims.D, "ld={}, ldo={} < H*D={}", ld, ldo,
             dims.H * dims.D);
    for (int b = 0; b < dims.B; ++b)
        XB_CHECK(lengths[b] >= 0 && lengths[b] <= dims.T, "lengths[{}]={} not in [0, T={}]", b,
                 lengths[b], dims.T);
}

}  // namespace

void linear_attention_forward(float* out, int ldo, float* state_s, float* state_z, const float* q,
                              const float* k, const float* v, int ld, const int32_t* lengths,
                              const AttentionDims& dims, float eps) {
    check_linear_args(ld, ldo, lengths, dims);
    const int T = dims.T, H = dims.H, D = dims.D;
#pragma omp parallel
    {
        // Per-thread scratch, (T, D) each: φQ, φK, the numerators.
        std::vector<float> phiq(size_t(T) * D), phik(size_t(T) * D), num(size_t(T) * D);
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < int64_t(dims.B) * H; ++bh) {
            const int64_t b = bh / H, h = bh % H, n = lengths[b];
            const int64_t row0 = b * T * int64_t(ld) + h * D;
            float* S = state_s + bh * D * D;  // (D, D)
            float* z = state_z + bh * D;      // (D)
            float* o = out + b * T * int64_t(ldo) + h * D;
            feature_map(phik.data(), nullptr, k + row0, n, D, ld);
            feature_map(phiq.data(), nullptr, q + row0, n, D, ld);
            gemm(true, false, D, D, n, 1.0f, phik.data(), D, v + row0, ld, 0.0f, S, D);
            weighted_column_sums(z, phik.data(), nullptr, n, D);
            gemm(false, false, n, D, D, 1.0f, phiq.data(), D, S, D, 0.0f, num.data(), D);
            for (int64_t i = 0; i < T; ++i) {
                float* oi = o + i * ldo;
                if (i >= n) {
                    std::fill(oi, oi + D, 0.0f);
                    continue;
                }
                const float* pq = phiq.data() + i * D;
                float den = 0;
#pragma omp simd reduction(+ : den)
                for (int a = 0; a < D; ++a) den += pq[a] * z[a];
                const float inv = 1.0f / (den + eps);
#pragma omp simd
                for (int a = 0; a < D; ++a) oi[a] = num[size_t(i * D + a)] * inv;
            }
        }
    }
}

void linear_attention_backward(float* dq, float* dk, float* dv, int ld_grad, const float* dout,
                               int ldo, const float* state_s, const float* state_z, const float* q,
                               const float* k, const float* v, int ld, const int32_t* lengths,
                               const AttentionDims& dims, float eps) {
    check_linear_args(ld, ldo, lengths, dims);
    XB_CHECK(ld_grad >= dims.H * dims.D, "ld_grad={} < H*D={}", ld_grad, dims.H * dims.D);
    const int T = dims.T, H = dims.H, D = dims.D;
#pragma omp parallel
    {
        std::vector<float> phi(size_t(T) * D), dphi(size_t(T) * D), g(size_t(T) * D),
            grad(size_t(T) * D), e(static_cast<size_t>(T)), dS(size_t(D) * D),
            dz(static_cast<size_t>(D));
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < int64_t(dims.B) * H; ++bh) {
            const int64_t b = bh / H, h = bh % H, n = lengths[b];
            if (n == 0) continue;
            const int64_t row0 = b * T * int64_t(ld) + h * D;
            const int64_t grow0 = b * T * int64_t(ld_grad) + h * D;
            const float* S = state_s + bh * D * D;
            const float* z = state_z + bh * D;
            const float* dO = dout + b * T * int64_t(ldo) + h * D;
            // Queries. The output is recomputed as num/den from G: O_i·dO_i = (Sᵀφq_i)·G_i.
            feature_map(phi.data(), dphi.data(), q + row0, n, D, ld);
            gemm(false, false, n, D, D, 1.0f, phi.data(), D, S, D, 0.0f, grad.data(), D);
            for (int64_t i = 0; i < n; ++i) {
                const float* pq = phi.data() + i * D;
                const float* num = grad.data() + i * D;
                const float* doi = dO + i * ldo;
                float den = 0, dot = 0;
#pragma omp simd reduction(+ : den, dot)
                for (int a = 0; a < D; ++a) {
                    den += pq[a] * z[a];
                    dot += doi[a] * num[a];
                }
                const float inv = 1.0f / (den + eps);
                e[size_t(i)] = -dot * inv * inv;
#pragma omp simd
                for (int a = 0; a < D; ++a) g[size_t(i * D + a)] = doi[a] * inv;
            }
            // dφQ = G Sᵀ + e zᵀ; dS = φQᵀ G; dz = φQᵀ e.
            gemm(false, true, n, D, D, 1.0f, g.data(), D, S, D, 0.0f, grad.data(), D);
            gemm(true, false, D, D, n, 1.0f, phi.data(), D, g.data(), D, 0.0f, dS.data(), D);
            weighted_column_sums(dz.data(), phi.data(), e.data(), n, D);
            for (int64_t i = 0; i < n; ++i) {
                float* dqi = dq + grow0 + i * ld_grad;
                const float ei = e[size_t(i)];
#pragma omp simd
                for (int a = 0; a < D; ++a)
                    dqi[a] += (grad[size_t(i * D + a)] + ei * z[a]) * dphi[size_t(i * D + a)];
            }
            // Keys and values: dφK = V dSᵀ + 1 dzᵀ, dV += φK dS.
            feature_map(phi.data(), dphi.data(), k + row0, n, D, ld);
            gemm(false, true, n, D, D, 1.0f, v + row0, ld, dS.data(), D, 0.0f, grad.data(), D);
            gemm(false, false, n, D, D, 1.0f, phi.data(), D, dS.data(), D, 1.0f, dv + grow0,
                 ld_grad);
            for (int64_t j = 0; j < n; ++j) {
                float* dkj = dk + grow0 + j * ld_grad;
#pragma omp simd
                for (int a = 0; a < D; ++a)
                    dkj[a] += (grad[size_t(j * D + a)] + dz[a]) * dphi[size_t(j * D + a)];
            }
        }
    }
}

}  // namespace xb
