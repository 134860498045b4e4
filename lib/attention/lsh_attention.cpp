// LSH attention, the mechanism of the `reformer` variant (lsh_attention.h).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/block_attention.h"
#include "attention/lsh_attention.h"
#include "attention/mixer.h"
#include "attention/pattern_attention.h"
#include "config/option_reader.h"
#include "core/check.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace xb {

namespace {

constexpr float kNormEps = 1e-6f;  // the norm below which a query is not normalised further

// Hash bucket of one vector x (D) under rotation rot (D, half): argmax over [x·rot, -x·rot]
// (the first maximum in that order). y (half) is scratch.
int hash_bucket(const float* x, const float* rot, int D, int half, float* y) {
    std::fill(y, y + half, 0.0f);
    for (int d = 0; d < D; ++d)
        for (int k = 0; k < half; ++k) y[k] += x[d] * rot[d * half + k];
    int best = 0;
    float best_value = -std::numeric_limits<float>::infinity();
    for (int k = 0; k < half; ++k) {
        if (y[k] > best_value) best_value = y[k], best = k;
        if (-y[k] > best_value) best_value = -y[k], best = half + k;
    }
    return best;
}

}  // namespace

LshSort lsh_sort(const Tensor& qv, int heads, const std::vector<int32_t>& lengths, int n_hashes,
                 int n_buckets, uint64_t rotation_seed) {
    const int64_t B = qv.dim(0), T = qv.dim(1), C = qv.dim(2) / 2, D = C / heads;
    XB_CHECK(n_buckets == 1 || n_buckets % 2 == 0, "lsh_sort: n_buckets={}", n_buckets);
    const int half = n_buckets / 2;
    // One rotation (D, half) per round, shared by batch rows and heads.
    std::vector<float> rot(size_t(n_hashes) * D * half);
    Rng rng(rotation_seed);
    for (float& r : rot) r = rng.normal();
    LshSort s{n_hashes, int(T), std::vector<int32_t>(size_t(B * heads * n_hashes * T))};
    const int64_t groups = B * heads * n_hashes;
#pragma omp parallel
    {
        std::vector<int32_t> bucket(static_cast<size_t>(T)),
            count(static_cast<size_t>(n_buckets) + 2);
        std::vector<float> y(static_cast<size_t>(std::max(half, 1)));
#pragma omp for schedule(static)
        for (int64_t gr = 0; gr < groups; ++gr) {
            const int64_t b = gr / (heads * n_hashes), h = gr / n_hashes % heads;
            const int r = int(gr % n_hashes), len = lengths[size_t(b)];
            for (int64_t t = 0; t < T; ++t) {
                const float* x = qv.data() + (b * T + t) * 2 * C + h * D;
                bucket[size_t(t)] = t >= len    ? n_buckets
                                    : half == 0 ? 0
                                                : hash_bucket(x, rot.data() + size_t(r) * D * half,
                                                              int(D), half, y.data());
            }
            // Stable counting sort by bucket; padded tokens (bucket n_buckets) go last.
            std::fill(count.begin(), count.end(), 0);
            for (int64_t t = 0; t < T; ++t) ++count[size_t(bucket[size_t(t)]) + 1];
            for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
            int32_t* perm = s.perm.data() + gr * T;
            for (int64_t t = 0; t < T; ++t) perm[count[size_t(bucket[size_t(t)])]++] = int32_t(t);
        }
    }
    return s;
}

BlockPattern lsh_chunk_pattern(int T, int chunk) {
    PatternBuilder builder(chunk, -1, false);
    for (int s = 0; s < T; s += chunk) builder.add_block({{s - chunk, s + chunk}}, {}, T);
    return builder.finish();
}

namespace {

// Rows (G·R, T, 3D) of the sorted rounds: [q, q/‖q‖, v] of token perm[gr·T + p] of head g.
void pack_sorted(float* buf, const float* qv, const LshSort& s, int64_t B, int heads, int64_t D) {
    const int64_t T = s.T, C = heads * D, rows = B * heads * s.rounds * T;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t gr = row / T, b = gr / (heads * s.rounds), h = gr / s.rounds % heads;
        const int64_t t = s.perm[size_t(row)];
        const float* q = qv + (b * T + t) * 2 * C + h * D;
        const float* v = q + C;
        float* o = buf + row * 3 * D;
        float norm = 0.0f;
        for (int64_t d = 0; d < D; ++d) norm += q[d] * q[d];
        const float inv = 1.0f / std::max(std::sqrt(norm), kNormEps);
        for (int64_t d = 0; d < D; ++d) o[d] = q[d], o[D + d] = q[d] * inv, o[2 * D + d] = v[d];
    }
}

}  // namespace

Var lsh_attention(const Var& qv, int heads, const std::vector<int32_t>& lengths,
                  std::shared_ptr<const LshSort> sort, int chunk, const AttentionParams& params) {
    const int64_t B = qv->value.dim(0), T = qv->value.dim(1), C = qv->value.dim(2) / 2;
    const int64_t D = C / heads, R = sort->rounds, GR = B * heads * R;
    XB_CHECK(qv->value.dim(2) == 2 * C && C % heads == 0 && sort->T == T &&
                 int64_t(sort->perm.size()) == GR * T && int64_t(lengths.size()) == B,
             "lsh_attention: qv {} heads {} sort T {} rounds {}", qv->value.shape(), heads, sort->T,
             R);
    const AttentionDims dims{int(GR), int(T), 1, int(D)};
    AttentionParams p = params;
    p.mask_self = true;
    auto pattern = std::make_shared<const BlockPattern>(lsh_chunk_pattern(int(T), chunk));
    std::vector<int32_t> round_lengths(static_cast<size_t>(GR));
    for (int64_t gr = 0; gr < GR; ++gr)
        round_lengths[size_t(gr)] = lengths[size_t(gr / (heads * R))];
    // slot[gr·T + t]: where token t sits in the sorted order of round gr.
    std::vector<int32_t> slot(sort->perm.size());
    for (int64_t gr = 0; gr < GR; ++gr)
        for (int64_t pos = 0; pos < T; ++pos)
            slot[size_t(gr * T + sort->perm[size_t(gr * T + pos)])] = int32_t(pos);

    Tensor buf = Tensor::empty({GR, T, 3 * D});
    pack_sorted(buf.data(), qv->value.data(), *sort, B, heads, D);
    Tensor out_s = Tensor::empty({GR, T, D}), lse_s = Tensor::empty({GR, 1, T});
    const float* bq = buf.data();
    block_attention_forward(out_s.data(), int(D), lse_s.data(), bq, bq + D, bq + 2 * D, int(3 * D),
                            round_lengths.data(), dims, p, pattern.get());
    // One softmax over every round's keys: weights exp(lse_r - LSE) on the round outputs.
    Var out = make_var(Tensor::zeros({B, T, C}));
    Tensor lse = Tensor::empty({B * heads, T});
    const float inf = std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(static)
    for (int64_t gt = 0; gt < B * heads * T; ++gt) {
        const int64_t g = gt / T, t = gt % T, b = g / heads, h = g % heads;
        float* o = out->value.data() + (b * T + t) * C + h * D;
        float m = -inf;
        for (int64_t r = 0; r < R; ++r)
            m = std::max(m, lse_s.data()[(g * R + r) * T + slot[size_t((g * R + r) * T + t)]]);
        if (m == -inf) {  // padded, or no key but itself in any round: it attends to itself
            lse.data()[gt] = -inf;
            if (t < lengths[size_t(b)])
                std::copy_n(qv->value.data() + (b * T + t) * 2 * C + C + h * D, D, o);
            continue;
        }
        float sum = 0.0f;
        for (int64_t r = 0; r < R; ++r) {
            const int64_t row = (g * R + r) * T + slot[size_t((g * R + r) * T + t)];
            const float w = std::exp(lse_s.data()[row] - m);
            sum += w;
            for (int64_t d = 0; d < D; ++d) o[d] += w * out_s.data()[row * D + d];
        }
        for (int64_t d = 0; d < D; ++d) o[d] /= sum;
        lse.data()[gt] = m + std::log(sum);
    }
    if (needs_grad({&qv})) {
        out->requires_grad = true;
        std::vector<int32_t> lens(round_lengths);
        tape().push(
            [=] {
                // The sorted rows again, and per sorted row the token's combined output, its
                // gradient and its combined log-sum-exp.
                Tensor rows = Tensor::empty({GR, T, 3 * D});
                pack_sorted(rows.data(), qv->value.data(), *sort, B, heads, D);
                Tensor dout_s = Tensor::empty({GR, T, D}), comb_s = Tensor::empty({GR, T, D});
                Tensor lse_c = Tensor::empty({GR, 1, T});
#pragma omp parallel for schedule(static)
                for (int64_t row = 0; row < GR * T; ++row) {
                    const int64_t gr = row / T, g = gr / R, b = g / heads, h = g % heads;
                    const int64_t t = sort->perm[size_t(row)], src = (b * T + t) * C + h * D;
                    std::copy_n(out->grad.data() + src, D, dout_s.data() + row * D);
                    std::copy_n(out->value.data() + src, D, comb_s.data() + row * D);
                    lse_c.data()[row] = lse.data()[g * T + t];
                }
                Tensor grad = Tensor::empty({GR, T, 3 * D});  // overwritten whole
                float* d = grad.data();
                const float* rq = rows.data();
                block_attention_backward(d, d + D, d + 2 * D, int(3 * D), dout_s.data(), int(D),
                                         comb_s.data(), lse_c.data(), rq, rq + D, rq + 2 * D,
                                         int(3 * D), lens.data(), dims, p, pattern.get(), nullptr,
                                         true);
                // Back to token order, one head per thread (fixed order: race-free and
                // reproducible); the key gradient goes through the normalisation.
                float* dqv = qv->grad_buffer().data();
                const float* qvv = qv->value.data();
#pragma omp parallel
                {
                    std::vector<float> dkey(static_cast<size_t>(T * D));
#pragma omp for schedule(static)
                    for (int64_t g = 0; g < B * heads; ++g) {
                        const int64_t b = g / heads, h = g % heads, len = lens[size_t(g * R)];
                        std::fill(dkey.begin(), dkey.end(), 0.0f);
                        for (int64_t r = 0; r < R; ++r)
                            for (int64_t pos = 0; pos < len; ++pos) {
                                const int64_t row = (g * R + r) * T + pos;
                                const int64_t t = sort->perm[size_t(row)];
                                const float* gs = d + row * 3 * D;
                                float* dq = dqv + (b * T + t) * 2 * C + h * D;
                                for (int64_t e = 0; e < D; ++e) {
                                    dq[e] += gs[e];
                                    dq[C + e] += gs[2 * D + e];
                                    dkey[size_t(t * D + e)] += gs[D + e];
                                }
                            }
                        for (int64_t t = 0; t < len; ++t) {
                            const float* q = qvv + (b * T + t) * 2 * C + h * D;
                            float* dq = dqv + (b * T + t) * 2 * C + h * D;
                            const float* dk = dkey.data() + t * D;
                            if (lse.data()[g * T + t] == -inf) {  // out = v: d v = d out
                                const float* go = out->grad.data() + (b * T + t) * C + h * D;
                                for (int64_t e = 0; e < D; ++e) dq[C + e] += go[e];
                                continue;
                            }
                            float norm = 0.0f;
                            for (int64_t e = 0; e < D; ++e) norm += q[e] * q[e];
                            norm = std::sqrt(norm);
                            if (norm <= kNormEps) {  // k = q / eps: linear
                                for (int64_t e = 0; e < D; ++e) dq[e] += dk[e] / kNormEps;
                                continue;
                            }
                            // d(q/‖q‖) = (dk - k (k·dk)) / ‖q‖
                            float kdk = 0.0f;
                            for (int64_t e = 0; e < D; ++e) kdk += q[e] * dk[e];
                            kdk /= norm;
                            for (int64_t e = 0; e < D; ++e)
                                dq[e] += (dk[e] - q[e] / norm * kdk) / norm;
                        }
                    }
                }
            },
            {out});
    }
    return out;
}

}  // namespace xb
