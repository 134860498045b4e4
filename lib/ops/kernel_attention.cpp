// Normalised attention with explicit feature maps (Performer FAVOR+, xformers.md 1.7):
// o_i = φq_i S / (φq_i · z), S = Σ_{j<len} φk_j v_jᵀ (M×D), z = Σ_{j<len} φk_j, as GEMMs per
// (b, g). Time O(B·G·T·M·D), memory O(B·G·(M·D + T)): forward saves S, z and the normalisers;
// backward uses them with the saved output. Parallel over (b, g), one thread each.
#include <vector>

#include "core/gemm.h"
#include "ops/ops.h"

namespace xb {

namespace {
struct KernelDims {
    int64_t B, G, T, M, D;  // batch, groups (heads), tokens, features, value width
};
}  // namespace

// phi_q, phi_k (B, G, T, M), v (B, G, T, D) -> out (B, G, T, D); state_s (B, G, M, D),
// state_z (B, G, M), den (B, G, T) saved for backward.
static void kernel_attention_forward(float* out, float* state_s, float* state_z, float* den,
                                     const float* phi_q, const float* phi_k, const float* v,
                                     const int32_t* lengths, const KernelDims& d) {
#pragma omp parallel for schedule(static)
    for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
        const int64_t len = lengths[bg / d.G];
        const float* pq = phi_q + bg * d.T * d.M;
        const float* pk = phi_k + bg * d.T * d.M;
        float* S = state_s + bg * d.M * d.D;
        float* z = state_z + bg * d.M;
        float* o = out + bg * d.T * d.D;
        float* dn = den + bg * d.T;
        for (int64_t i = 0; i < d.M * d.D; ++i) S[i] = 0.0f;
        for (int64_t m = 0; m < d.M; ++m) z[m] = 0.0f;
        for (int64_t i = 0; i < d.T * d.D; ++i) o[i] = 0.0f;
        for (int64_t t = 0; t < d.T; ++t) dn[t] = 0.0f;
        if (len == 0) continue;
        gemm(true, false, d.M, d.D, len, 1.0f, pk, d.M, v + bg * d.T * d.D, d.D, 0.0f, S, d.D);
        for (int64_t t = 0; t < len; ++t)
            for (int64_t m = 0; m < d.M; ++m) z[m] += pk[t * d.M + m];
        gemm(false, false, len, d.D, d.M, 1.0f, pq, d.M, S, d.D, 0.0f, o, d.D);
        for (int64_t t = 0; t < len; ++t) {
            float s = 0.0f;
            for (int64_t m = 0; m < d.M; ++m) s += pq[t * d.M + m] * z[m];
            dn[t] = s;
            const float inv = s != 0.0f ? 1.0f / s : 0.0f;
            for (int64_t e = 0; e < d.D; ++e) o[t * d.D + e] *= inv;
        }
    }
}

// With n_i = φq_i S and o_i = n_i / den_i: dn_i = do_i / den_i, dden_i = −(do_i · o_i) / den_i;
// dφq += dn Sᵀ + dden zᵀ; dS = φqᵀ dn, dz = φqᵀ dden; dφk += v dSᵀ + 1 dzᵀ; dv += φk dS.
static void kernel_attention_backward(float* dphi_q, float* dphi_k, float* dv, const float* dout,
                                      const float* out, const float* state_s, const float* state_z,
                                      const float* den, const float* phi_q, const float* phi_k,
                                      const float* v, const int32_t* lengths, const KernelDims& d) {
#pragma omp parallel for schedule(static)
    for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
        const int64_t len = lengths[bg / d.G];
        if (len == 0) continue;
        const float* S = state_s + bg * d.M * d.D;
        const float* z = state_z + bg * d.M;
        const float* dn = den + bg * d.T;
        const float* g = dout + bg * d.T * d.D;
        const float* o = out + bg * d.T * d.D;
        const float* pq = phi_q + bg * d.T * d.M;
        const float* pk = phi_k + bg * d.T * d.M;
        std::vector<float> dnum(size_t(len * d.D)), dden(static_cast<size_t>(len));
        std::vector<float> dS(size_t(d.M * d.D)), dz(size_t(d.M), 0.0f);
        for (int64_t t = 0; t < len; ++t) {
            const float inv = dn[t] != 0.0f ? 1.0f / dn[t] : 0.0f;
            float dot = 0.0f;
            for (int64_t e = 0; e < d.D; ++e) {
                dnum[size_t(t * d.D + e)] = g[t * d.D + e] * inv;
                dot += g[t * d.D + e] * o[t * d.D + e];
            }
            dden[size_t(t)] = -dot * inv;
        }
        if (dphi_q) {
            float* dq = dphi_q + bg * d.T * d.M;
            gemm(false, true, len, d.M, d.D, 1.0f, dnum.data(), d.D, S, d.D, 1.0f, dq, d.M);
            for (int64_t t = 0; t < len; ++t)
                for (int64_t m = 0; m < d.M; ++m) dq[t * d.M + m] += dden[size_t(t)] * z[m];
        }
        if (!dphi_k && !dv) continue;
        gemm(true, false, d.M, d.D, len, 1.0f, pq, d.M, dnum.data(), d.D, 0.0f, dS.data(), d.D);
        for (int64_t t = 0; t < len; ++t)
            for (int64_t m = 0; m < d.M; ++m) dz[size_t(m)] += pq[t * d.M + m] * dden[size_t(t)];
        if (dphi_k) {
            float* dk = dphi_k + bg * d.T * d.M;
            gemm(false, true, len, d.M, d.D, 1.0f, v + bg * d.T * d.D, d.D, dS.data(), d.D, 1.0f,
                 dk, d.M);
            for (int64_t t = 0; t < len; ++t)
                for (int64_t m = 0; m < d.M; ++m) dk[t * d.M + m] += dz[size_t(m)];
        }
        if (dv)
            gemm(false, false, len, d.D, d.M, 1.0f, pk, d.M, dS.data(), d.D, 1.0f,
                 dv + bg * d.T * d.D, d.D);
    }
}

Var kernel_attention(const Var& phi_q, const Var& phi_k, const Var& v,
                     const std::vector<int32_t>& lengths) {
    const Shape &qs = phi_q->value.shape(), &vs = v->value.shape();
    XB_CHECK(qs.ndim >= 3 && phi_k->value.shape() == qs && vs.ndim == qs.ndim &&
                 int64_t(lengths.size()) == qs[0],
             "kernel_attention: phi_q {} phi_k {} v {} lengths {}", qs, phi_k->value.shape(), vs,
             lengths.size());
    const int64_t T = qs[-2], M = qs[-1], D = vs[-1];
    KernelDims d{qs[0], phi_q->value.numel() / (qs[0] * T * M), T, M, D};
    XB_CHECK(v->value.numel() == d.B * d.G * T * D, "kernel_attention: v {} for phi {}", vs, qs);
    Var out = make_var(Tensor::empty(vs));
    Tensor S = Tensor::empty({d.B * d.G, M, D}), z = Tensor::empty({d.B * d.G, M});
    Tensor den = Tensor::empty({d.B * d.G, T});
    kernel_attention_forward(out->value.data(), S.data(), z.data(), den.data(), phi_q->value.data(),
                             phi_k->value.data(), v->value.data(), lengths.data(), d);
    if (needs_grad({&phi_q, &phi_k, &v})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                kernel_attention_backward(
                    phi_q->requires_grad ? phi_q->grad_buffer().data() : nullptr,
                    phi_k->requires_grad ? phi_k->grad_buffer().data() : nullptr,
                    v->requires_grad ? v->grad_buffer().data() : nullptr, out->grad.data(),
                    out->value.data(), S.data(), z.data(), den.data(), phi_q->value.data(),
                    phi_k->value.data(), v->value.data(), lengths.data(), d);
            },
            {out});
    }
    return out;
}

}  // namespace xb
