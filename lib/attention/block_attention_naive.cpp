// Double-precision references for block attention (declared in block_attention.h): an explicit
// (T, T) mask per head built from the pattern semantics, a plain softmax per row and the textbook
// backward (D_i computed as sum_j P_ij dP_ij, not from O). O(T²) memory; tests only.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "attention/block_attention.h"
#include "core/check.h"

namespace xb {
namespace {

// allowed[i*T + j]: query i of head (b, h) may attend key j (len queries, key_len keys valid).
// With mask_self, key i is never allowed for query i.
std::vector<char> attention_mask(const BlockPattern* p, int T, int h, int len, int key_len,
                                 bool mask_self) {
    std::vector<char> allowed(size_t(T) * T, 0);
    for (int i = 0; i < len; ++i) {
        if (!p) {
            std::fill_n(allowed.begin() + size_t(i) * T, key_len, 1);
            continue;
        }
        int qb = 0;  // the query block holding row i
        while (p->block_end(qb, T) <= i) ++qb;
        const int idx = (p->per_head ? h : 0) * p->num_query_blocks(T) + qb;
        for (int r = p->offsets[idx]; r < p->offsets[idx + 1]; ++r)
            for (int j = p->ranges[r].first; j < p->ranges[r].second; ++j)
                if (j < key_len && (!p->banded(r) || std::abs(i - j) <= p->band))
                    allowed[size_t(i) * T + j] = 1;
    }
    if (mask_self)
        for (int i = 0; i < T; ++i) allowed[size_t(i) * T + i] = 0;
    return allowed;
}

double dropout_factor(const AttentionParams& params, int b, int h, int i, int j) {
    if (params.dropout_p <= 0.0f) return 1.0;
    return attention_dropout_keep(params.dropout_seed, b, h, i, j, params.dropout_p)
               ? 1.0 / (1.0 - double(params.dropout_p))
               : 0.0;
}

// Probabilities of row i (0 where masked); returns false when the row has no allowed key.
bool row_probabilities(std::vector<double>& prob, double& lse, const char* allowed,
                       const double* qi, const double* k, size_t ld, int T, int D, double scale) {
    double m = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < T; ++j) {
        prob[j] = 0.0;
        if (!allowed[j]) continue;
        double s = 0.0;
        for (int d = 0; d < D; ++d) s += qi[d] * k[j * ld + d];
        prob[j] = scale * s;
        m = std::max(m, prob[j]);
    }
    lse = -std::numeric_limits<double>::infinity();
    if (m == -std::numeric_limits<double>::infinity()) return false;
    double sum = 0.0;
    for (int j = 0; j < T; ++j) {
        prob[j] = allowed[j] ? std::exp(prob[j] - m) : 0.0;
        sum += prob[j];
    }
    for (int j = 0; j < T; ++j) prob[j] /= sum;
    lse = m + std::log(sum);
    return true;
}

}  // namespace

void block_attention_forward_naive(double* out, int ldo, double* lse, const double* q,
                                   const double* k, const double* v, int ld, const int32_t* lengths,
                                   const AttentionDims& dims, const AttentionParams& params,
                                   const BlockPattern* pattern, const int32_t* key_lengths) {
    const int T = dims.T, H = dims.H, D = dims.D;
    if (pattern) check_block_pattern(*pattern, T, H);
    std::vector<double> prob(T);
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < H; ++h) {
            const std::vector<char> allowed =
                attention_mask(pattern, T, h, lengths[b], key_lengths ? key_lengths[b] : lengths[b],
                               params.mask_self);
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            for (int i = 0; i < T; ++i) {
                double* o = out + (size_t(b) * T + i) * ldo + size_t(h) * D;
                std::fill(o, o + D, 0.0);
                double& row_lse = lse[(size_t(b) * H + h) * T + i];
                if (!row_probabilities(prob, row_lse, &allowed[size_t(i) * T], q + head + i * ld,
                                       k + head, ld, T, D, params.scale))
                    continue;
                for (int j = 0; j < T; ++j) {
                    if (!allowed[size_t(i) * T + j]) continue;
                    const double pz = prob[j] * dropout_factor(params, b, h, i, j);
                    for (int d = 0; d < D; ++d) o[d] += pz * v[head + j * ld + d];
                }
            }
        }
}

void block_attention_backward_naive(double* dq, double* dk, double* dv, int ld_grad,
                                    const double* dout, int ldo, const double* q, const double* k,
                                    const double* v, int ld, const int32_t* lengths,
                                    const AttentionDims& dims, const AttentionParams& params,
                                    const BlockPattern* pattern, const int32_t* key_lengths) {
    const int T = dims.T, H = dims.H, D = dims.D;
    if (pattern) check_block_pattern(*pattern, T, H);
    std::vector<double> prob(T), dprob(T);
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < H; ++h) {
            const std::vector<char> allowed =
                attention_mask(pattern, T, h, lengths[b], key_lengths ? key_lengths[b] : lengths[b],
                               params.mask_self);
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            const size_t ghead = size_t(b) * T * ld_grad + size_t(h) * D;
            for (int i = 0; i < T; ++i) {
                double lse;
                const double* qi = q + head + i * ld;
                if (!row_probabilities(prob, lse, &allowed[size_t(i) * T], qi, k + head, ld, T, D,
                                       params.scale))
                    continue;
                const double* doi = dout + (size_t(b) * T + i) * ldo + size_t(h) * D;
                double row_sum = 0.0;  // D_i = sum_j P_ij dP_ij
                for (int j = 0; j < T; ++j) {
                    dprob[j] = 0.0;
                    if (!allowed[size_t(i) * T + j]) continue;  // masked keys are never read
                    const double z = dropout_factor(params, b, h, i, j);
                    double dp = 0.0;
                    for (int d = 0; d < D; ++d) {
                        dp += doi[d] * v[head + j * ld + d];
                        dv[ghead + j * ld_grad + d] += prob[j] * z * doi[d];
                    }
                    dprob[j] = dp * z;
                    row_sum += prob[j] * dprob[j];
                }
                for (int j = 0; j < T; ++j) {
                    const double ds = params.scale * prob[j] * (dprob[j] - row_sum);
                    if (ds == 0.0) continue;
                    for (int d = 0; d < D; ++d) {
                        dq[ghead + i * ld_grad + d] += ds * k[head + j * ld + d];
                        dk[ghead + j * ld_grad + d] += ds * qi[d];
                    }
                }
            }
        }
}

}  // namespace xb
