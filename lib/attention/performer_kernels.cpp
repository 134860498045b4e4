// Performer's feature map rows and their backward (performer_features.h), compiled once per SIMD
// target: the exp of the softmax kernel in Highway vector operations, parallel over (b, h); the
// backward's row loops vectorised by the compiler for each target, parallel over rows.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "attention/performer_features.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attention/performer_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

void PerformerFeatureRows(float* phi, const float* x, const int32_t* lengths,
                          const PerformerFeatureShape& s) {
    const int64_t T = s.T, D = s.D, M = s.M;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
        const int64_t len = lengths[size_t(bh / s.H)];
        float* p = phi + bh * T * M;
        float key_max = -INFINITY;
        if (s.softmax_kernel && s.is_key)
            for (int64_t i = 0; i < len * M; ++i) key_max = std::max(key_max, p[i]);
        for (int64_t t = 0; t < T; ++t) {
            float* row = p + t * M;
            if (s.is_key && t >= len) {
                std::fill(row, row + M, 0.0f);
                continue;
            }
            if (!s.softmax_kernel) {
                for (int64_t r = 0; r < M; ++r) row[r] = std::max(row[r], 0.0f) + kPerformerReluEps;
                continue;
            }
            float half_sq = 0.0f;
            for (int64_t e = 0; e < D; ++e) {
                const float xe = x[(bh * T + t) * D + e] * s.data_scale;
                half_sq += 0.5f * xe * xe;
            }
            const float c = s.is_key ? key_max : *std::max_element(row, row + M);
            const float shift = half_sq + c;  // exponents are <= 0: u <= c, half_sq >= 0
            ForEachVector(M, [&](auto d, int64_t r) {
                const auto u = hn::Sub(hn::LoadU(d, row + r), hn::Set(d, shift));
                const auto f = hn::Add(ExpNonpositive(d, u), hn::Set(d, kPerformerSoftmaxEps));
                hn::StoreU(hn::Mul(hn::Set(d, s.norm), f), d, row + r);
            });
        }
    }
}

void PerformerFeatureRowsBackward(float* du, float* dx, const float* g, const float* phi,
                                  const float* x, const int32_t* lengths,
                                  const PerformerFeatureShape& s) {
    const int64_t T = s.T, D = s.D, M = s.M, H = s.H;
    const float eps = s.norm * kPerformerSoftmaxEps, x_scale = s.data_scale * s.data_scale;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < s.B * H * T; ++row) {
        const int64_t t = row % T, len = lengths[size_t(row / (H * T))];
        const float *gr = g + row * M, *fr = phi + row * M;
        float* d = du + row * M;
        if (s.is_key && t >= len) {
            std::fill(d, d + M, 0.0f);
            continue;
        }
        float sum = 0.0f;
        if (s.softmax_kernel) {
#pragma omp simd reduction(+ : sum)
            for (int64_t r = 0; r < M; ++r) sum += d[r] = gr[r] * (fr[r] - eps);
            float* dxr = dx + row * D;
            const float* xr = x + row * D;
            const float k = x_scale * sum;
#pragma omp simd
            for (int64_t e = 0; e < D; ++e) dxr[e] -= k * xr[e];
        } else {
#pragma omp simd
            for (int64_t r = 0; r < M; ++r) d[r] = fr[r] > kPerformerReluEps ? gr[r] : 0.0f;
        }
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(PerformerFeatureRows);
HWY_EXPORT(PerformerFeatureRowsBackward);

void performer_feature_rows(float* phi, const float* x, const int32_t* lengths,
                            const PerformerFeatureShape& s) {
    HWY_DYNAMIC_DISPATCH(PerformerFeatureRows)(phi, x, lengths, s);
}

void performer_feature_rows_backward(float* du, float* dx, const float* g, const float* phi,
                                     const float* x, const int32_t* lengths,
                                     const PerformerFeatureShape& s) {
    HWY_DYNAMIC_DISPATCH(PerformerFeatureRowsBackward)(du, dx, g, phi, x, lengths, s);
}

}  // namespace xb
#endif  // HWY_ONCE
