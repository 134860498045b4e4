// Register-blocked micro-kernels of the fused attention kernels (block_attention_kernels.cpp),
// written once on Highway and compiled per SIMD target. Scores are kept transposed, S^T (keys ×
// queries), so queries run along the lanes: the online softmax is lane-wise, and K and V rows are
// broadcast straight from their strided (B,T,ld) layout without packing. Blocking follows the
// target's register file: about half of it holds accumulators (32 registers on AVX-512: 4 rows ×
// 4 vectors; 16 on AVX2 and SSE4: 4 rows × 2 vectors), the rest the loaded operands.
#if defined(XB_ATTENTION_MICROKERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef XB_ATTENTION_MICROKERNELS_INL_H_
#undef XB_ATTENTION_MICROKERNELS_INL_H_
#else
#define XB_ATTENTION_MICROKERNELS_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {
namespace attention_kernels {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr int kLanes = int(hn::MaxLanes(DF()));

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int kVectorRegisters = 32;
#else
constexpr int kVectorRegisters = 16;
#endif
// Vectors of a column chunk (queries, or head columns) per micro-kernel block, and the
// accumulator budget; rows per block = budget / chunk. Measured on Sapphire Rapids (D = 32,
// T = 1024-4096): AVX-512 4 × 4; AVX2 4 × 2 (AVX2 forced with XB_SIMD).
constexpr int kChunkVectors = kVectorRegisters >= 32 ? 4 : 2;
constexpr int kAccumulators = kVectorRegisters / 2;
constexpr int rows_for(int vectors) { return std::min(8, kAccumulators / vectors); }

// Pins a loaded operand in a register. Left alone, GCC folds the load into every FMA that uses
// it (one memory operand per FMA), which makes the micro-kernels load-port bound.
HWY_INLINE void KeepInRegister(VF& v) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR
    asm("" : "+x"(v.raw));
#else
    (void)v;
#endif
}

// Calls f(std::integral_constant<int, V>) for the runtime vector count v in [1, kChunkVectors].
template <class F>
HWY_INLINE void WithVectors(int v, F&& f) {
    if constexpr (kChunkVectors >= 4) {
        if (v >= 4) return f(std::integral_constant<int, 4>{});
        if (v == 3) return f(std::integral_constant<int, 3>{});
    }
    if (v >= 2) return f(std::integral_constant<int, 2>{});
    return f(std::integral_constant<int, 1>{});
}

// Calls f(std::integral_constant<int, R>{}, r) for blocks [r, r + R) that cover [r0, n): blocks
// of N, then smaller blocks for the remainder (one instantiation each, so R is a constant).
template <int N, class F>
HWY_INLINE void ForEachBlock(int n, F&& f, int r0 = 0) {
    int r = r0;
    for (; r + N <= n; r += N) f(std::integral_constant<int, N>{}, r);
    if constexpr (N > 1) {
        if (r < n) ForEachBlock<N - 1>(n, f, r);
    }
}

// out[r][:] = sum_{d<D} rows[r][d] * xt[d][:] for r < JR over CV vectors of columns; rows r at
// rows + r*ld_rows; xt row stride ldxt; out row stride ldout. S^T = K Q^T and dP^T = V dO^T.
template <int CV, int JR>
HWY_INLINE void RowsTimesTransposedBlock(float* out, int ldout, const float* rows, size_t ld_rows,
                                         const float* xt, int ldxt, int D) {
    const DF d;
    VF acc[JR][CV];
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < CV; ++v) acc[r][v] = hn::Zero(d);
    int k = 0;
    do {  // D >= 1; a do-while keeps GCC from spilling the accumulators for a zero-trip path
        VF x[CV];
        for (int v = 0; v < CV; ++v) {
            x[v] = hn::LoadU(d, xt + size_t(k) * ldxt + v * kLanes);
            KeepInRegister(x[v]);
        }
        for (int r = 0; r < JR; ++r) {
            const VF s = hn::Set(d, rows[r * ld_rows + k]);
            for (int v = 0; v < CV; ++v) acc[r][v] = hn::MulAdd(s, x[v], acc[r][v]);
        }
    } while (++k < D);
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < CV; ++v) hn::StoreU(acc[r][v], d, out + size_t(r) * ldout + v * kLanes);
}

// out (n × nvec vectors) = rows (n × D) · xt (D × nvec vectors), chunk by chunk of columns.
HWY_INLINE void RowsTimesTransposed(float* out, int ldout, const float* rows, size_t ld_rows, int n,
                                    const float* xt, int ldxt, int D, int nvec) {
    for (int c = 0; c < nvec; c += kChunkVectors) {
        WithVectors(nvec - c, [&](auto cv) {
            constexpr int CV = decltype(cv)::value;
            ForEachBlock<rows_for(CV)>(n, [&](auto jr, int r) {
                RowsTimesTransposedBlock<CV, decltype(jr)::value>(
                    out + size_t(r) * ldout + c * kLanes, ldout, rows + r * ld_rows, ld_rows,
                    xt + c * kLanes, ldxt, D);
            });
        });
    }
}

// outt[c][:] = scale[:] * outt[c][:] + sum_{j<n} rows[j][c] * pt[j][:] for c < DC over CV
// vectors, where outt rows are head columns of a transposed accumulator (row stride ldo) and pt
// is n × (columns) with stride ldpt. O^T += V^T P^T (with the online-softmax rescale) and
// dQ^T += K^T dS^T (scale = 1).
template <int CV, int DC>
HWY_INLINE void TransposedAccumulateBlock(float* outt, int ldo, const float* scale,
                                          const float* rows, size_t ld_rows, int n, const float* pt,
                                          int ldpt) {
    const DF d;
    VF acc[DC][CV];
    for (int c = 0; c < DC; ++c)
        for (int v = 0; v < CV; ++v)
            acc[c][v] = hn::Mul(hn::LoadU(d, outt + size_t(c) * ldo + v * kLanes),
                                hn::LoadU(d, scale + v * kLanes));
    int j = 0;
    do {  // n >= 1
        VF p[CV];
        for (int v = 0; v < CV; ++v) {
            p[v] = hn::LoadU(d, pt + size_t(j) * ldpt + v * kLanes);
            KeepInRegister(p[v]);
        }
        const float* row = rows + j * ld_rows;
        for (int c = 0; c < DC; ++c) {
            const VF s = hn::Set(d, row[c]);
            for (int v = 0; v < CV; ++v) acc[c][v] = hn::MulAdd(s, p[v], acc[c][v]);
        }
    } while (++j < n);
    for (int c = 0; c < DC; ++c)
        for (int v = 0; v < CV; ++v) hn::StoreU(acc[c][v], d, outt + size_t(c) * ldo + v * kLanes);
}

// The same over all D head columns and nvec vectors of query lanes (n >= 1).
HWY_INLINE void TransposedAccumulate(float* outt, int ldo, const float* scale, const float* rows,
                                     size_t ld_rows, int n, const float* pt, int ldpt, int D,
                                     int nvec) {
    for (int c = 0; c < nvec; c += kChunkVectors) {
        WithVectors(nvec - c, [&](auto cv) {
            constexpr int CV = decltype(cv)::value;
            ForEachBlock<rows_for(CV)>(D, [&](auto dc, int d) {
                TransposedAccumulateBlock<CV, decltype(dc)::value>(
                    outt + size_t(d) * ldo + c * kLanes, ldo, scale + c * kLanes, rows + d, ld_rows,
                    n, pt + c * kLanes, ldpt);
            });
        });
    }
}

// out[r][:] += sum_{i<n} a[r][i] * x[i][:] for r < JR over DV vectors; a rows have stride lda,
// x rows ldx, out rows ldout. dV += P^T dO and dK += dS^T Q, reducing over the query tile.
template <int JR, int DV>
HWY_INLINE void RowsAccumulateBlock(float* out, int ldout, const float* a, int lda, const float* x,
                                    int ldx, int n) {
    const DF d;
    VF acc[JR][DV];
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < DV; ++v) acc[r][v] = hn::Zero(d);
    int i = 0;
    do {  // n >= 1
        VF xv[DV];
        for (int v = 0; v < DV; ++v) {
            xv[v] = hn::LoadU(d, x + size_t(i) * ldx + v * kLanes);
            KeepInRegister(xv[v]);
        }
        for (int r = 0; r < JR; ++r) {
            const VF s = hn::Set(d, a[size_t(r) * lda + i]);
            for (int v = 0; v < DV; ++v) acc[r][v] = hn::MulAdd(s, xv[v], acc[r][v]);
        }
    } while (++i < n);
    for (int r = 0; r < JR; ++r)
        for (int v = 0; v < DV; ++v) {
            float* o = out + size_t(r) * ldout + v * kLanes;
            hn::StoreU(hn::Add(hn::LoadU(d, o), acc[r][v]), d, o);
        }
}

// out (rows × nvec vectors) += a (rows × n) · x (n × nvec vectors), chunk by chunk of columns.
HWY_INLINE void RowsAccumulate(float* out, int ldout, const float* a, int lda, int rows,
                               const float* x, int ldx, int n, int nvec) {
    for (int c = 0; c < nvec; c += kChunkVectors) {
        WithVectors(nvec - c, [&](auto cv) {
            constexpr int CV = decltype(cv)::value;
            ForEachBlock<rows_for(CV)>(rows, [&](auto jr, int r) {
                RowsAccumulateBlock<decltype(jr)::value, CV>(out + size_t(r) * ldout + c * kLanes,
                                                             ldout, a + size_t(r) * lda, lda,
                                                             x + c * kLanes, ldx, n);
            });
        });
    }
}

}  // namespace attention_kernels
}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#endif  // XB_ATTENTION_MICROKERNELS_INL_H_
