// Long convolution by FFT (the S4D layer's y = k * u, xformers.md 1.17). Each example is
// convolved over its own valid length: its input is zero past L and the FFT length n ≥ 2T − 1
// leaves no circular wrap-around, which gives exactly the per-example result. The anti-causal
// kernel sits at the top of the circular buffer, kk[n − m] = k[1, c, m − 1], as in S4's
// bidirectional `fftconv`. O(B·C·n log n); saves the input spectra (B, C, n/2+1) and the kernel
// spectra (C, n/2+1) for backward.
#include <omp.h>

#include <algorithm>

#include "core/fft.h"
#include "core/thread_scratch.h"
#include "ops/ops.h"

namespace xb {

namespace {

constexpr int64_t kCols = 8;  // channels gathered per pass over the (T, C) rows of an example

struct ConvDims {
    int64_t B, T, C, R, n, bins;
    int64_t spectrum() const { return 2 * bins; }  // floats per complex spectrum
};

// Spectra of the circular kernels kk (C, n): kk[l] = k[0,c,l], kk[n−m] = k[1,c,m−1] (m ≥ 1).
// k (R, C, T) -> kf (C, 2·bins)
void kernel_spectra(float* kf, const float* k, const ConvDims& d, const RealFft& fft) {
    ThreadScratch scratch(omp_get_max_threads(), size_t(d.n));
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d.C; ++c) {
        float* kk = scratch.get(omp_get_thread_num());
        std::fill(kk, kk + d.n, 0.0f);
        std::copy(k + c * d.T, k + (c + 1) * d.T, kk);
        if (d.R == 2)
            for (int64_t m = 1; m < d.T; ++m) kk[d.n - m] = k[(d.C + c) * d.T + m - 1];
        fft.forward(kf + c * d.spectrum(), kk);
    }
}

// Spectra of the columns c0..c0+cols of x[b] (T, C) cut at L and zero-padded to n.
void column_spectra(float* out, float* buf, const float* xb, int64_t L, int64_t c0, int64_t cols,
                    const ConvDims& d, const RealFft& fft) {
    std::fill(buf, buf + cols * d.n, 0.0f);
    for (int64_t t = 0; t < L; ++t)
        for (int64_t j = 0; j < cols; ++j) buf[j * d.n + t] = xb[t * d.C + c0 + j];
    for (int64_t j = 0; j < cols; ++j) fft.forward(out + j * d.spectrum(), buf + j * d.n);
}

// spec = a ⊙ b, or conj(a) ⊙ b when conj_a; spectra of `bins` complex values
void multiply_spectra(float* spec, const float* a, const float* b, int64_t bins, bool conj_a) {
    const float sign = conj_a ? -1.0f : 1.0f;
    for (int64_t i = 0; i < bins; ++i) {
        const float ar = a[2 * i], ai = sign * a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
        spec[2 * i] = ar * br - ai * bi;
        spec[2 * i + 1] = ar * bi + ai * br;
    }
}

// For every (b, column block): out[b, t, c] (+)= irfft(op(kf[c]) ⊙ spectra[b, c])[t] / n, t < L;
// op = conj for the backward (correlation). Rows t ≥ L are set to 0 unless accumulating.
void convolve_spectra(float* out, const float* spectra, const float* kf, const int32_t* lengths,
                      const ConvDims& d, const RealFft& fft, bool backward) {
    const int64_t blocks = (d.C + kCols - 1) / kCols;
    ThreadScratch scratch(omp_get_max_threads(), size_t(d.n + d.spectrum()));
    const float inv_n = 1.0f / float(d.n);
#pragma omp parallel for schedule(static)
    for (int64_t bc = 0; bc < d.B * blocks; ++bc) {
        const int64_t b = bc / blocks, c0 = (bc % blocks) * kCols;
        const int64_t cols = std::min(kCols, d.C - c0), L = lengths[b];
        float* real = scratch.get(omp_get_thread_num());
        float* spec = real + d.n;
        float* ob = out + b * d.T * d.C;
        if (!backward)
            for (int64_t t = L; t < d.T; ++t)
                for (int64_t j = 0; j < cols; ++j) ob[t * d.C + c0 + j] = 0.0f;
        if (L == 0) continue;
        for (int64_t j = 0; j < cols; ++j) {
            const int64_t c = c0 + j;
            multiply_spectra(spec, kf + c * d.spectrum(), spectra + (b * d.C + c) * d.spectrum(),
                             d.bins, backward);
            fft.inverse(real, spec);
            if (backward)
                for (int64_t t = 0; t < L; ++t) ob[t * d.C + c] += real[t] * inv_n;
            else
                for (int64_t t = 0; t < L; ++t) ob[t * d.C + c] = real[t] * inv_n;
        }
    }
}

// spectra (B, C, 2·bins) of x (B, T, C) cut at each example's length
void input_spectra(float* spectra, const float* x, const int32_t* lengths, const ConvDims& d,
                   const RealFft& fft) {
    const int64_t blocks = (d.C + kCols - 1) / kCols;
    ThreadScratch scratch(omp_get_max_threads(), size_t(kCols * d.n));
#pragma omp parallel for schedule(static)
    for (int64_t bc = 0; bc < d.B * blocks; ++bc) {
        const int64_t b = bc / blocks, c0 = (bc % blocks) * kCols;
        const int64_t cols = std::min(kCols, d.C - c0);
        column_spectra(spectra + (b * d.C + c0) * d.spectrum(), scratch.get(omp_get_thread_num()),
                       x + b * d.T * d.C, lengths[b], c0, cols, d, fft);
    }
}

// in the forward this was y = irfft(Kf ⊙ Uf) (circular, no wrap), so
//   dkk = irfft(Σ_b conj(Uf_b) ⊙ Gf_b) (Σ over b in order), dk[0,c,l] += dkk[l],
//   dk[1,c,m−1] += dkk[n−m]
void kernel_backward(float* dk, const float* uf, const float* gf, const ConvDims& d,
                     const RealFft& fft) {
    ThreadScratch scratch(omp_get_max_threads(), size_t(d.n + 2 * d.spectrum()));
    const float inv_n = 1.0f / float(d.n);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < d.C; ++c) {
        float* real = scratch.get(omp_get_thread_num());
        float* sum = real + d.n;
        float* term = sum + d.spectrum();
        std::fill(sum, sum + d.spectrum(), 0.0f);
        for (int64_t b = 0; b < d.B; ++b) {
            const int64_t at = (b * d.C + c) * d.spectrum();
            multiply_spectra(term, uf + at, gf + at, d.bins, true);
            for (int64_t i = 0; i < d.spectrum(); ++i) sum[i] += term[i];
        }
        fft.inverse(real, sum);
        for (int64_t l = 0; l < d.T; ++l) dk[c * d.T + l] += real[l] * inv_n;
        if (d.R == 2)
            for (int64_t m = 1; m < d.T; ++m) dk[(d.C + c) * d.T + m - 1] += real[d.n - m] * inv_n;
    }
}

}  // namespace

Var long_conv(const Var& u, const Var& k, const std::vector<int32_t>& lengths) {
    const Shape &us = u->value.shape(), &ks = k->value.shape();
    XB_CHECK(us.ndim == 3 && ks.ndim == 3 && (ks[0] == 1 || ks[0] == 2) && ks[1] == us[2] &&
                 ks[2] == us[1] && int64_t(lengths.size()) == us[0],
             "long_conv: u {} k {} lengths {}", us, ks, lengths.size());
    const int64_t n = fft_size_at_least(2 * us[1]);
    const ConvDims d{us[0], us[1], us[2], ks[0], n, n / 2 + 1};
    const RealFft fft(n);
    Tensor kf = Tensor::empty({d.C, d.spectrum()});
    Tensor uf = Tensor::empty({d.B, d.C, d.spectrum()});
    kernel_spectra(kf.data(), k->value.data(), d, fft);
    input_spectra(uf.data(), u->value.data(), lengths.data(), d, fft);
    Var y = make_var(Tensor::empty(us));
    convolve_spectra(y->value.data(), uf.data(), kf.data(), lengths.data(), d, fft, false);
    if (needs_grad({&u, &k})) {
        y->requires_grad = true;
        tape().push(
            [=] {
                Tensor gf = Tensor::empty({d.B, d.C, d.spectrum()});
                input_spectra(gf.data(), y->grad.data(), lengths.data(), d, fft);
                if (u->requires_grad)  // du = irfft(conj(Kf) ⊙ Gf): the correlation with k
                    convolve_spectra(u->grad_buffer().data(), gf.data(), kf.data(), lengths.data(),
                                     d, fft, true);
                if (k->requires_grad)
                    kernel_backward(k->grad_buffer().data(), uf.data(), gf.data(), d, fft);
            },
            {y});
    }
    return y;
}

}  // namespace xb
