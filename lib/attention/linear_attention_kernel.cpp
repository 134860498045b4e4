// Non-causal linear attention kernels (linear_attention_kernel.h). Per (b, h): one pass over the
// valid keys builds S and z, one pass over the queries applies them. Backward (with n_i = φq_iᵀS,
// den_i = φq_i·z + eps): dn_i = dO_i/den_i, dden_i = -dO_i·n_i/den_i², dφq_i = S dn_i + z dden_i,
// dS = Σ_i φq_i dn_iᵀ, dz = Σ_i φq_i dden_i, then dφk_j = dS v_j + dz and dv_j = dSᵀ φk_j.
#include "attention/linear_attention_kernel.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "core/vec_math.h"

namespace xb {
namespace {

// phi = elu(x) + 1 and its derivative (1 for x > 0, else exp(x) = phi) for one row of width D.
inline void feature_map(float* phi, float* dphi, const float* x, int D) {
#pragma omp simd
    for (int d = 0; d < D; ++d) {
        const float e = exp_approx(x[d] < 0.0f ? x[d] : 0.0f);
        phi[d] = x[d] > 0.0f ? x[d] + 1.0f : e;
        dphi[d] = x[d] > 0.0f ? 1.0f : e;
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
    const long n_heads = long(dims.B) * H;
#pragma omp parallel
    {
        std::vector<float> phi(D), dphi(D), row(D);  // (D) each
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_heads; ++n) {
            const int b = int(n / H), h = int(n % H), len = lengths[b];
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            float* S = state_s + size_t(n) * D * D;  // (D, D)
            float* z = state_z + size_t(n) * D;      // (D)
            std::fill(S, S + size_t(D) * D, 0.0f);
            std::fill(z, z + D, 0.0f);
            for (int j = 0; j < len; ++j) {
                feature_map(phi.data(), dphi.data(), k + head + size_t(j) * ld, D);
                const float* vj = v + head + size_t(j) * ld;
                for (int d = 0; d < D; ++d) {
                    z[d] += phi[d];
                    float* s_row = S + size_t(d) * D;
#pragma omp simd
                    for (int e = 0; e < D; ++e) s_row[e] += phi[d] * vj[e];
                }
            }
            float* o = out + size_t(b) * T * ldo + size_t(h) * D;
            for (int i = 0; i < len; ++i) {
                feature_map(phi.data(), dphi.data(), q + head + size_t(i) * ld, D);
                float den = eps;
                std::fill(row.begin(), row.end(), 0.0f);
                for (int d = 0; d < D; ++d) {
                    den += phi[d] * z[d];
                    const float* s_row = S + size_t(d) * D;
#pragma omp simd
                    for (int e = 0; e < D; ++e) row[e] += phi[d] * s_row[e];
                }
                const float inv = 1.0f / den;
                for (int e = 0; e < D; ++e) o[size_t(i) * ldo + e] = row[e] * inv;
            }
            for (int i = len; i < T; ++i) std::fill_n(o + size_t(i) * ldo, D, 0.0f);
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
    const long n_heads = long(dims.B) * H;
#pragma omp parallel
    {
        // (D, D) dS, then (D) each: dz, φ, φ', n_i = φq_iᵀS, dn_i, dSᵀφk_j
        std::vector<float> dS(size_t(D) * D), dz(D), phi(D), dphi(D), num(D), dn(D), dv_row(D);
#pragma omp for schedule(static, 1)
        for (long n = 0; n < n_heads; ++n) {
            const int b = int(n / H), h = int(n % H), len = lengths[b];
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            const size_t ghead = size_t(b) * T * ld_grad + size_t(h) * D;
            const size_t ohead = size_t(b) * T * ldo + size_t(h) * D;
            const float* S = state_s + size_t(n) * D * D;
            const float* z = state_z + size_t(n) * D;
            std::fill(dS.begin(), dS.end(), 0.0f);
            std::fill(dz.begin(), dz.end(), 0.0f);
            for (int i = 0; i < len; ++i) {
                feature_map(phi.data(), dphi.data(), q + head + size_t(i) * ld, D);
                const float* doi = dout + ohead + size_t(i) * ldo;
                float den = eps;
                std::fill(num.begin(), num.end(), 0.0f);
                for (int d = 0; d < D; ++d) {
                    den += phi[d] * z[d];
                    const float* s_row = S + size_t(d) * D;
#pragma omp simd
                    for (int e = 0; e < D; ++e) num[e] += phi[d] * s_row[e];
                }
                const float inv = 1.0f / den;
                float do_num = 0.0f;
                for (int e = 0; e < D; ++e) {
                    dn[e] = doi[e] * inv;
                    do_num += doi[e] * num[e];
                }
                const float dden = -do_num * inv * inv;
                float* dqi = dq + ghead + size_t(i) * ld_grad;
                for (int d = 0; d < D; ++d) {
                    const float* s_row = S + size_t(d) * D;
                    float acc = z[d] * dden;
                    for (int e = 0; e < D; ++e) acc += s_row[e] * dn[e];
                    dqi[d] += acc * dphi[d];
                    dz[d] += phi[d] * dden;
                    float* ds_row = dS.data() + size_t(d) * D;
#pragma omp simd
                    for (int e = 0; e < D; ++e) ds_row[e] += phi[d] * dn[e];
                }
            }
            for (int j = 0; j < len; ++j) {
                feature_map(phi.data(), dphi.data(), k + head + size_t(j) * ld, D);
                const float* vj = v + head + size_t(j) * ld;
                float* dkj = dk + ghead + size_t(j) * ld_grad;
                float* dvj = dv + ghead + size_t(j) * ld_grad;
                std::fill(dv_row.begin(), dv_row.end(), 0.0f);  // dSᵀ φk_j
                for (int d = 0; d < D; ++d) {
                    const float* ds_row = dS.data() + size_t(d) * D;
                    float acc = dz[d];
                    for (int e = 0; e < D; ++e) acc += ds_row[e] * vj[e];
                    dkj[d] += acc * dphi[d];
#pragma omp simd
                    for (int e = 0; e < D; ++e) dv_row[e] += ds_row[e] * phi[d];
                }
                for (int e = 0; e < D; ++e) dvj[e] += dv_row[e];
            }
        }
    }
}

}  // namespace xb
