// Register-blocked micro-kernels for the fused attention kernels (block_attention.cpp). Scores
// are kept transposed, S^T (keys × queries), so queries run along SIMD lanes: the online softmax
// is then lane-wise, and K and V rows are broadcast straight from their strided (B,T,ld) layout
// without packing. GCC vector extensions give AVX-512 code with -march=native and stay portable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/vec_math.h"

// Without AVX-512 (XB_NATIVE=OFF) GCC notes, at every use, that 64-byte vector arguments change
// the ABI. These helpers are inline and internal to the file that includes this header (it is
// not a public header), so the note is silenced for that whole file.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace xb::attention_detail {

typedef float Vec16 __attribute__((vector_size(64)));
typedef int32_t Int16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

inline Vec16 load_vec(const float* p) {
    Vec16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store_vec(float* p, const Vec16& v) { std::memcpy(p, &v, sizeof v); }

// Pins a loaded operand in a register. Left alone, GCC folds the load into every FMA that uses
// it (one memory operand per FMA), which makes the micro-kernels load-port bound.
inline void keep_in_register(Vec16& v) {
#if defined(__AVX512F__)
    asm("" : "+v"(v));
#else
    (void)v;
#endif
}
// Written out: `Vec16{} + x` would cost a scalar add (0 + x is not x for x = -0).
inline Vec16 splat(float x) { return Vec16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// exp_approx_nonpositive (core/vec_math.h) on a whole vector, same steps and results. Written
// on vectors because GCC turns the scalar version's clamps, inside an omp simd loop, into three
// masked copies of the polynomial (one per clamp case), which costs ~40% more instructions.
inline Vec16 exp_nonpositive(const Vec16& x) {
    using namespace xb::detail;
    const Vec16 lo = splat(kExpMin), zero = Vec16{};
    Vec16 xc = x < lo ? lo : x;  // NaN stays NaN through both selects
    xc = zero < xc ? zero : xc;
    Vec16 t;
    const Vec16 p = exp_reduced(exp_split(xc, t));
    const Int16 bits = ((Int16)t - (kExpRoundBits - 127)) << 23;  // 2^n, n in [-126, 0]
    return x < lo ? zero : p * (Vec16)bits;
}

inline Vec16 max_vec(const Vec16& a, const Vec16& b) { return a > b ? a : b; }

// out[r][:] = sum_{d<D} rows[r][d] * xt[d][:] for r < JR; rows r at rows + r*ld_rows; xt is D ×
// (16·NV) with row stride ldxt; out rows have stride ldout. Used for S^T = K Q^T and dP^T = V dO^T.
template <int NV, int JR>
inline void rows_times_transposed_block(float* out, int ldout, const float* rows, size_t ld_rows,
                                        const float* xt, int ldxt, int D) {
    Vec16 acc[JR][NV];
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = Vec16{};
    int d = 0;
    do {  // D >= 1; a do-while keeps GCC from spilling the accumulators for a zero-trip path
        Vec16 x[NV];
        for (int v = 0; v < NV; ++v) {
            x[v] = load_vec(xt + size_t(d) * ldxt + v * kLanes);
            keep_in_register(x[v]);
        }
        for (int r = 0; r < JR; ++r) {
            Vec16 s = splat(rows[r * ld_rows + d]);
            for (int v = 0; v < NV; ++v) acc[r][v] += s * x[v];
        }
    } while (++d < D);
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < NV; ++v) store_vec(out + size_t(r) * ldout + v * kLanes, acc[r][v]);
}

// The same over n rows: full JR blocks, then one smaller instantiation for the remainder.
template <int NV, int JR>
inline void rows_times_transposed(float* out, int ldout, const float* rows, size_t ld_rows, int n,
                                  const float* xt, int ldxt, int D) {
    int r = 0;
    for (; r + JR <= n; r += JR)
        rows_times_transposed_block<NV, JR>(out + size_t(r) * ldout, ldout, rows + r * ld_rows,
                                            ld_rows, xt, ldxt, D);
    if constexpr (JR > 1) {
        if (r < n)
            rows_times_transposed<NV, JR - 1>(out + size_t(r) * ldout, ldout, rows + r * ld_rows,
                                              ld_rows, n - r, xt, ldxt, D);
    }
}

// outt[c][:] = scale[:] * outt[c][:] + sum_{j<n} rows[j][d0 + c] * pt[j][:] for c < DC, where
// outt rows are columns d0.. of a D × (16·NV) transposed accumulator (row stride ldo) and pt is
// n × (16·NV) with stride ldpt. Used for O^T += V^T P^T (with the online-softmax rescale) and
// dQ^T += K^T dS^T. (An optional scale would be a branch that makes GCC spill the accumulators.)
template <int NV, int DC>
inline void transposed_accumulate_block(float* outt, int ldo, const float* scale, const float* rows,
                                        size_t ld_rows, int n, const float* pt, int ldpt) {
    Vec16 acc[DC][NV];
    for (int c = 0; c < DC; ++c)
        for (int v = 0; v < NV; ++v) {
            acc[c][v] =
                load_vec(outt + size_t(c) * ldo + v * kLanes) * load_vec(scale + v * kLanes);
        }
    int j = 0;
    do {  // n >= 1
        Vec16 p[NV];
        for (int v = 0; v < NV; ++v) {
            p[v] = load_vec(pt + size_t(j) * ldpt + v * kLanes);
            keep_in_register(p[v]);
        }
        const float* row = rows + j * ld_rows;
        for (int c = 0; c < DC; ++c) {
            Vec16 s = splat(row[c]);
            for (int v = 0; v < NV; ++v) acc[c][v] += s * p[v];
        }
    } while (++j < n);
    for (int c = 0; c < DC; ++c)
        for (int v = 0; v < NV; ++v) store_vec(outt + size_t(c) * ldo + v * kLanes, acc[c][v]);
}

// The same over all D columns: blocks of DC columns, then a smaller instantiation for the rest.
template <int NV, int DC>
inline void transposed_accumulate(float* outt, int ldo, const float* scale, const float* rows,
                                  size_t ld_rows, int n, const float* pt, int ldpt, int D) {
    int c = 0;
    for (; c + DC <= D; c += DC)
        transposed_accumulate_block<NV, DC>(outt + size_t(c) * ldo, ldo, scale, rows + c, ld_rows,
                                            n, pt, ldpt);
    if constexpr (DC > 1) {
        if (c < D)
            transposed_accumulate<NV, DC - 1>(outt + size_t(c) * ldo, ldo, scale, rows + c, ld_rows,
                                              n, pt, ldpt, D - c);
    }
}

// out[r][:] += sum_{i<n} a[r][i] * x[i][:] for r < JR over DV vectors (16·DV columns); a rows
// have stride lda, x rows ldx, out rows ldout. Used for dV += P^T dO and dK += dS^T Q with the
// reduction running over the query tile.
template <int JR, int DV>
inline void rows_accumulate_block(float* out, int ldout, const float* a, int lda, const float* x,
                                  int ldx, int n) {
    Vec16 acc[JR][DV];
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < DV; ++v) acc[r][v] = Vec16{};
    int i = 0;
    do {  // n >= 1
        Vec16 xv[DV];
        for (int v = 0; v < DV; ++v) {
            xv[v] = load_vec(x + size_t(i) * ldx + v * kLanes);
            keep_in_register(xv[v]);
        }
        for (int r = 0; r < JR; ++r) {
            Vec16 s = splat(a[size_t(r) * lda + i]);
            for (int v = 0; v < DV; ++v) acc[r][v] += s * xv[v];
        }
    } while (++i < n);
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < DV; ++v) {
            float* o = out + size_t(r) * ldout + v * kLanes;
            store_vec(o, load_vec(o) + acc[r][v]);
        }
}

template <int JR, int DV>
inline void rows_accumulate_rows(float* out, int ldout, const float* a, int lda, int rows,
                                 const float* x, int ldx, int n) {
    int r = 0;
    for (; r + JR <= rows; r += JR)
        rows_accumulate_block<JR, DV>(out + size_t(r) * ldout, ldout, a + size_t(r) * lda, lda, x,
                                      ldx, n);
    if constexpr (JR > 1) {
        if (r < rows)
            rows_accumulate_rows<JR - 1, DV>(out + size_t(r) * ldout, ldout, a + size_t(r) * lda,
                                             lda, rows - r, x, ldx, n);
    }
}

// out (rows × 16·nvec) += a (rows × n) · x (n × 16·nvec), in column blocks of up to 4 vectors.
inline void rows_accumulate(float* out, int ldout, const float* a, int lda, int rows,
                            const float* x, int ldx, int n, int nvec) {
    int v = 0;
    for (; v + 4 <= nvec; v += 4)
        rows_accumulate_rows<4, 4>(out + v * kLanes, ldout, a, lda, rows, x + v * kLanes, ldx, n);
    for (; v + 2 <= nvec; v += 2)
        rows_accumulate_rows<8, 2>(out + v * kLanes, ldout, a, lda, rows, x + v * kLanes, ldx, n);
    for (; v < nvec; ++v)
        rows_accumulate_rows<8, 1>(out + v * kLanes, ldout, a, lda, rows, x + v * kLanes, ldx, n);
}

}  // namespace xb::attention_detail
