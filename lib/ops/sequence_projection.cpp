// Projection along the sequence axis (Linformer's E and F): out[b, g] = e[g][:, 0:len] x[b, g,
// 0:len] as one GEMM per (b, g) whose inner dimension is the valid length, so padded rows of x
// never enter and e is sliced to T for free. Forward saves nothing beyond its inputs.
#include "core/gemm.h"
#include "ops/ops.h"

namespace xb {

namespace {
struct ProjectionDims {
    int64_t B, G, T, D, K, L, He;  // batch, groups, tokens, width, rank, e's max length, e groups
    int64_t e_index(int64_t g) const { return He == 1 ? 0 : g; }
};
}  // namespace

// e (He, K, L), x (B, G, T, D) -> out (B, G, K, D)
static void sequence_projection_forward(float* out, const float* e, const float* x,
                                        const int32_t* lengths, const ProjectionDims& d) {
#pragma omp parallel for schedule(static)
    for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
        const int64_t len = lengths[bg / d.G];
        float* o = out + bg * d.K * d.D;
        if (len == 0) {
            for (int64_t i = 0; i < d.K * d.D; ++i) o[i] = 0.0f;
            continue;
        }
        const float* eg = e + d.e_index(bg % d.G) * d.K * d.L;
        gemm(false, false, d.K, d.D, len, 1.0f, eg, d.L, x + bg * d.T * d.D, d.D, 0.0f, o, d.D);
    }
}

// dx[b, g, 0:len] += e[g][:, 0:len]ᵀ dout[b, g]; de[g][:, 0:len] += Σ_b (Σ_g if shared)
// dout[b, g] x[b, g, 0:len]ᵀ, summed in a fixed order by the thread that owns de[g].
static void sequence_projection_backward(float* de, float* dx, const float* dout, const float* e,
                                         const float* x, const int32_t* lengths,
                                         const ProjectionDims& d) {
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
            const int64_t len = lengths[bg / d.G];
            if (len == 0) continue;
            const float* eg = e + d.e_index(bg % d.G) * d.K * d.L;
            gemm(true, false, len, d.D, d.K, 1.0f, eg, d.L, dout + bg * d.K * d.D, d.D, 1.0f,
                 dx + bg * d.T * d.D, d.D);
        }
    }
    if (!de) return;
#pragma omp parallel for schedule(static) if (d.He > 1)
    for (int64_t he = 0; he < d.He; ++he) {
        for (int64_t bg = 0; bg < d.B * d.G; ++bg) {
            const int64_t len = lengths[bg / d.G];
            if (len == 0 || d.e_index(bg % d.G) != he) continue;
            gemm(false, true, d.K, len, d.D, 1.0f, dout + bg * d.K * d.D, d.D, x + bg * d.T * d.D,
                 d.D, 1.0f, de + he * d.K * d.L, d.L);
        }
    }
}

Var sequence_projection(const Var& e, const Var& x, const std::vector<int32_t>& lengths) {
    const Shape &es = e->value.shape(), &xs = x->value.shape();
    XB_CHECK(es.ndim == 3 && xs.ndim == 4 && (es[0] == 1 || es[0] == xs[1]) && es[2] >= xs[2] &&
                 int64_t(lengths.size()) == xs[0],
             "sequence_projection: e {} x {} lengths {}", es, xs, lengths.size());
    ProjectionDims d{xs[0], xs[1], xs[2], xs[3], es[1], es[2], es[0]};
    Var out = make_var(Tensor::empty({d.B, d.G, d.K, d.D}));
    sequence_projection_forward(out->value.data(), e->value.data(), x->value.data(), lengths.data(),
                                d);
    if (needs_grad({&e, &x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                sequence_projection_backward(e->requires_grad ? e->grad_buffer().data() : nullptr,
                                             x->requires_grad ? x->grad_buffer().data() : nullptr,
                                             out->grad.data(), e->value.data(), x->value.data(),
                                             lengths.data(), d);
            },
            {out});
    }
    return out;
}

}  // namespace xb
