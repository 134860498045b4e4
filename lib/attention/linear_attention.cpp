// `linear`: linear attention (Katharopoulos et al. 2020), non-causal, φ(x) = elu(x) + 1:
//   o_i = φ(q_i)ᵀ S / (φ(q_i)·z + eps),  S = Σ_{j<len} φ(k_j) v_jᵀ (D×D),  z = Σ_{j<len} φ(k_j).
// Padding keys are excluded from both sums; padded query rows output 0. O(T·D²) time and
// O(D²) state per (batch, head); forward saves S and z, backward recomputes φ and the
// denominators. No 1/sqrt(D) scaling, eps = 1e-6 (as the paper and LRA).
#include <algorithm>
#include <cmath>
#include <vector>

#include "attention/mixer.h"
#include "config/option_reader.h"
#include "core/gemm.h"
#include "core/vec_math.h"

namespace xb {

namespace {

constexpr float kEps = 1e-6f;

struct Dims {
    int64_t B, T, H, D, ld;  // ld: row stride of q, k, v (3C); outputs use C = H*D
};

// φ(x) = elu(x) + 1 and φ'(x) (= 1 for x > 0, e^x otherwise), over n rows of D at stride ld,
// into contiguous (n, D) buffers.
void feature_map(float* phi, float* dphi, const float* x, int64_t n, int64_t D, int64_t ld) {
    for (int64_t i = 0; i < n; ++i) {
        const float* xi = x + i * ld;
        float* p = phi + i * D;
        float* g = dphi ? dphi + i * D : nullptr;
#pragma omp simd
        for (int64_t a = 0; a < D; ++a) {
            const float e = exp_approx(xi[a] < 0 ? xi[a] : 0.0f);
            p[a] = xi[a] > 0 ? xi[a] + 1.0f : e;
        }
        if (g) {
#pragma omp simd
            for (int64_t a = 0; a < D; ++a) g[a] = xi[a] > 0 ? 1.0f : p[a];
        }
    }
}

// Σ_i rows[i, :] * (w ? w[i] : 1) into out (D), overwriting it.
void weighted_column_sums(float* out, const float* rows, const float* w, int64_t n, int64_t D) {
    std::fill(out, out + D, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        const float wi = w ? w[i] : 1.0f;
#pragma omp simd
        for (int64_t a = 0; a < D; ++a) out[a] += wi * rows[i * D + a];
    }
}

// out (B,T,C); state (B,H,D,D+1) holds S then z per (b, h). Per (b, h) the work is three small
// GEMMs (S = φKᵀV, num = φQ S) run by one thread each, parallel over (b, h).
void linear_attention_forward(float* out, float* state, const float* qkv,
                              const std::vector<int32_t>& lengths, const Dims& d) {
    const int64_t C = d.H * d.D, D = d.D;
#pragma omp parallel
    {
        std::vector<float> phiq(size_t(d.T * D)), phik(size_t(d.T * D)), num(size_t(d.T * D));
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
            const int64_t b = bh / d.H, h = bh % d.H, n = lengths[size_t(b)];
            const float* q = qkv + b * d.T * d.ld + h * D;
            float* S = state + bh * D * (D + 1);
            float* z = S + D * D;
            float* o = out + b * d.T * C + h * D;
            feature_map(phik.data(), nullptr, q + C, n, D, d.ld);
            feature_map(phiq.data(), nullptr, q, n, D, d.ld);
            gemm(true, false, D, D, n, 1.0f, phik.data(), D, q + 2 * C, d.ld, 0.0f, S, D);
            weighted_column_sums(z, phik.data(), nullptr, n, D);
            gemm(false, false, n, D, D, 1.0f, phiq.data(), D, S, D, 0.0f, num.data(), D);
            for (int64_t i = 0; i < d.T; ++i) {
                float* oi = o + i * C;
                if (i >= n) {
                    std::fill(oi, oi + D, 0.0f);
                    continue;
                }
                const float* pq = phiq.data() + i * D;
                float den = 0;
#pragma omp simd reduction(+ : den)
                for (int64_t a = 0; a < D; ++a) den += pq[a] * z[a];
                const float inv = 1.0f / (den + kEps);
#pragma omp simd
                for (int64_t a = 0; a < D; ++a) oi[a] = num[size_t(i * D + a)] * inv;
            }
        }
    }
}

// in the forward: o_i = num_i / den_i with num_i = Sᵀφq_i, den_i = φq_i·z + eps, so
//   g_i = do_i / den_i,  e_i = dden_i = −(do_i·o_i) / den_i
//   dφQ = G Sᵀ + e zᵀ;  dS = φQᵀ G;  dz = φQᵀ e;  dφK = V dSᵀ + 1 dzᵀ;  dV = φK dS.
// Accumulates into dqkv (dq, dk, dv are the slices of the fused QKV gradient).
void linear_attention_backward(float* dqkv, const float* dout, const float* out,
                               const float* state, const float* qkv,
                               const std::vector<int32_t>& lengths, const Dims& d) {
    const int64_t C = d.H * d.D, D = d.D;
#pragma omp parallel
    {
        std::vector<float> phi(size_t(d.T * D)), dphi(size_t(d.T * D)), g(size_t(d.T * D)),
            e(size_t(d.T)), grad(size_t(d.T * D)), dS(size_t(D * D)), dz(static_cast<size_t>(D));
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
            const int64_t b = bh / d.H, h = bh % d.H, n = lengths[size_t(b)];
            if (n == 0) continue;
            const float* q = qkv + b * d.T * d.ld + h * D;
            float* dq = dqkv + b * d.T * d.ld + h * D;
            const float* S = state + bh * D * (D + 1);
            const float* z = S + D * D;
            const float* o = out + b * d.T * C + h * D;
            const float* dO = dout + b * d.T * C + h * D;
            // Queries: G, e, then dφQ = G Sᵀ + e zᵀ, dS = φQᵀ G, dz = φQᵀ e.
            feature_map(phi.data(), dphi.data(), q, n, D, d.ld);
            for (int64_t i = 0; i < n; ++i) {
                const float* pq = phi.data() + i * D;
                float den = 0, dot = 0;
#pragma omp simd reduction(+ : den, dot)
                for (int64_t a = 0; a < D; ++a) {
                    den += pq[a] * z[a];
                    dot += dO[i * C + a] * o[i * C + a];
                }
                const float inv = 1.0f / (den + kEps);
                e[size_t(i)] = -dot * inv;
#pragma omp simd
                for (int64_t a = 0; a < D; ++a) g[size_t(i * D + a)] = dO[i * C + a] * inv;
            }
            gemm(false, true, n, D, D, 1.0f, g.data(), D, S, D, 0.0f, grad.data(), D);
            gemm(true, false, D, D, n, 1.0f, phi.data(), D, g.data(), D, 0.0f, dS.data(), D);
            weighted_column_sums(dz.data(), phi.data(), e.data(), n, D);
            for (int64_t i = 0; i < n; ++i) {
                float* dqi = dq + i * d.ld;
                const float ei = e[size_t(i)];
#pragma omp simd
                for (int64_t a = 0; a < D; ++a)
                    dqi[a] += (grad[size_t(i * D + a)] + ei * z[a]) * dphi[size_t(i * D + a)];
            }
            // Keys and values: dφK = V dSᵀ + 1 dzᵀ, dV += φK dS.
            feature_map(phi.data(), dphi.data(), q + C, n, D, d.ld);
            gemm(false, true, n, D, D, 1.0f, q + 2 * C, d.ld, dS.data(), D, 0.0f, grad.data(), D);
            gemm(false, false, n, D, D, 1.0f, phi.data(), D, dS.data(), D, 1.0f, dq + 2 * C, d.ld);
            for (int64_t j = 0; j < n; ++j) {
                float* dkj = dq + C + j * d.ld;
#pragma omp simd
                for (int64_t a = 0; a < D; ++a)
                    dkj[a] += (grad[size_t(j * D + a)] + dz[a]) * dphi[size_t(j * D + a)];
            }
        }
    }
}

class LinearAttention : public AttentionKernel {
public:
    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
        const Dims d{B, T, heads, C / heads, 3 * C};
        Var out = make_var(Tensor::empty({B, T, C}));
        Tensor state = Tensor::empty({B, heads, d.D, d.D + 1});
        linear_attention_forward(out->value.data(), state.data(), qkv->value.data(),
                                 *ctx.lengths, d);
        if (needs_grad({&qkv})) {
            out->requires_grad = true;
            std::vector<int32_t> lengths(*ctx.lengths);
            tape().push(
                [=] {
                    linear_attention_backward(qkv->grad_buffer().data(), out->grad.data(),
                                              out->value.data(), state.data(), qkv->value.data(),
                                              lengths, d);
                },
                {out});
        }
        return out;
    }
};

}  // namespace

std::unique_ptr<Mixer> make_linear_mixer(const MixerSpec& spec, ParameterStore& params) {
    OptionReader opts(spec.options, "model.attention.options");
    opts.finish();  // `linear` has no options
    return std::make_unique<AttentionMixer>(spec, params, std::make_unique<LinearAttention>());
}

}  // namespace xb
