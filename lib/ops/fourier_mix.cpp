// FNet token mixing (Lee-Thorp et al. 2021): y = scale · Re(F_L x F_C), the real part of the 2-D
// DFT over (sequence, hidden) of each example's first L = lengths[b] rows; padded rows give 0.
// The map is linear and self-adjoint (F_L, F_C are symmetric and x is real), so the backward
// pass is the same transform of dy. Saves nothing for backward. O(B·L·C·log(L·C)).
#include <omp.h>

#include <cmath>

#include "core/fft.h"
#include "core/thread_scratch.h"
#include "ops/ops.h"

namespace xb {

// y[b, 0:L] (+)= scale(L) · Re(DFT2(x[b, 0:L])); y[b, L:T] untouched when accumulating, else 0.
// x, y (B, T, C); scale(L) = 1/√(L·C) when unitary, else 1.
static void fourier_mix_apply(float* y, const float* x, const int32_t* lengths, int64_t B,
                              int64_t T, int64_t C, bool unitary, bool accumulate) {
    const int64_t bins = C / 2 + 1;
    ThreadScratch scratch(omp_get_max_threads(), size_t(T * 2 * bins));
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < B; ++b) {
        const int64_t L = lengths[b];
        float* yb = y + b * T * C;
        if (!accumulate)
            for (int64_t i = L * C; i < T * C; ++i) yb[i] = 0.0f;
        if (L == 0) continue;
        float* z = scratch.get(omp_get_thread_num());  // (L, bins) complex
        RealFft2d(L, C).forward(z, x + b * T * C);
        const float scale = unitary ? float(1.0 / std::sqrt(double(L) * double(C))) : 1.0f;
        for (int64_t t = 0; t < L; ++t) {
            // Columns c > C/2: Re Z[t, c] = Re Z[(L-t) mod L, C-c] (Hermitian symmetry).
            const float* zt = z + t * 2 * bins;
            const float* zm = z + ((L - t) % L) * 2 * bins;
            float* yt = yb + t * C;
            for (int64_t c = 0; c < C; ++c) {
                const float v = scale * (c < bins ? zt[2 * c] : zm[2 * (C - c)]);
                yt[c] = accumulate ? yt[c] + v : v;
            }
        }
    }
}

Var fourier_mix(const Var& x, const std::vector<int32_t>& lengths, bool unitary) {
    const Shape& s = x->value.shape();
    XB_CHECK(s.ndim == 3 && int64_t(lengths.size()) == s[0], "fourier_mix: x {} lengths {}", s,
             lengths.size());
    const int64_t B = s[0], T = s[1], C = s[2];
    Var out = make_var(Tensor::empty(s));
    fourier_mix_apply(out->value.data(), x->value.data(), lengths.data(), B, T, C, unitary, false);
    if (needs_grad({&x})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                // in the forward this was y = Re(F_L x F_C); its adjoint is dx += Re(F_L dy F_C)
                fourier_mix_apply(x->grad_buffer().data(), out->grad.data(), lengths.data(), B, T,
                                  C, unitary, true);
            },
            {out});
    }
    return out;
}

}  // namespace xb
