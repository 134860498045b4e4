// Double-precision references for non-causal linear attention (linear_attention_kernel.h):
// S and z summed explicitly per (b, h), backward written out from the chain rule per element.
// Tests only.
#include <cmath>
#include <vector>

#include "attention/linear_attention_kernel.h"

namespace xb {
namespace {

double phi(double x) { return x > 0.0 ? x + 1.0 : std::exp(x); }
double phi_grad(double x) { return x > 0.0 ? 1.0 : std::exp(x); }

// S (D, D) and z (D) of head (b, h) over its valid keys.
void linear_state(std::vector<double>& S, std::vector<double>& z, const double* k, const double* v,
                  size_t ld, int len, int D) {
    S.assign(size_t(D) * D, 0.0);
    z.assign(D, 0.0);
    for (int j = 0; j < len; ++j)
        for (int d = 0; d < D; ++d) {
            z[d] += phi(k[j * ld + d]);
            for (int e = 0; e < D; ++e) S[d * D + e] += phi(k[j * ld + d]) * v[j * ld + e];
        }
}

}  // namespace

void linear_attention_forward_naive(double* out, int ldo, const double* q, const double* k,
                                    const double* v, int ld, const int32_t* lengths,
                                    const AttentionDims& dims, double eps) {
    const int T = dims.T, H = dims.H, D = dims.D;
    std::vector<double> S, z;
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < H; ++h) {
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            linear_state(S, z, k + head, v + head, ld, lengths[b], D);
            for (int i = 0; i < T; ++i) {
                double* o = out + (size_t(b) * T + i) * ldo + size_t(h) * D;
                for (int e = 0; e < D; ++e) o[e] = 0.0;
                if (i >= lengths[b]) continue;
                const double* qi = q + head + size_t(i) * ld;
                double den = eps;
                for (int d = 0; d < D; ++d) den += phi(qi[d]) * z[d];
                for (int e = 0; e < D; ++e) {
                    for (int d = 0; d < D; ++d) o[e] += phi(qi[d]) * S[d * D + e];
                    o[e] /= den;
                }
            }
        }
}

void linear_attention_backward_naive(double* dq, double* dk, double* dv, int ld_grad,
                                     const double* dout, int ldo, const double* q, const double* k,
                                     const double* v, int ld, const int32_t* lengths,
                                     const AttentionDims& dims, double eps) {
    const int T = dims.T, H = dims.H, D = dims.D;
    std::vector<double> S, z, num(D);
    for (int b = 0; b < dims.B; ++b)
        for (int h = 0; h < H; ++h) {
            const int len = lengths[b];
            const size_t head = size_t(b) * T * ld + size_t(h) * D;
            const size_t ghead = size_t(b) * T * ld_grad + size_t(h) * D;
            linear_state(S, z, k + head, v + head, ld, len, D);
            std::vector<double> dS(size_t(D) * D, 0.0), dz(D, 0.0);
            for (int i = 0; i < len; ++i) {
                const double* qi = q + head + size_t(i) * ld;
                const double* doi = dout + (size_t(b) * T + i) * ldo + size_t(h) * D;
                double den = eps, do_o = 0.0;
                for (int d = 0; d < D; ++d) den += phi(qi[d]) * z[d];
                for (int e = 0; e < D; ++e) {
                    num[e] = 0.0;
                    for (int d = 0; d < D; ++d) num[e] += phi(qi[d]) * S[d * D + e];
                    do_o += doi[e] * num[e] / den;  // dO_i · O_i
                }
                // O_i[e] = num_e / den: d/dφq_d = (S[d][e] - O_i[e] z_d) / den.
                for (int d = 0; d < D; ++d) {
                    double g = 0.0;
                    for (int e = 0; e < D; ++e) g += doi[e] * S[d * D + e];
                    g = (g - do_o * z[d]) / den;
                    dq[ghead + size_t(i) * ld_grad + d] += g * phi_grad(qi[d]);
                    for (int e = 0; e < D; ++e) dS[d * D + e] += phi(qi[d]) * doi[e] / den;
                    dz[d] -= phi(qi[d]) * do_o / den;
                }
            }
            for (int j = 0; j < len; ++j)
                for (int d = 0; d < D; ++d) {
                    const double kd = k[head + size_t(j) * ld + d];
                    double g = dz[d];
                    for (int e = 0; e < D; ++e) {
                        g += dS[d * D + e] * v[head + size_t(j) * ld + e];
                        dv[ghead + size_t(j) * ld_grad + e] += dS[d * D + e] * phi(kd);
                    }
                    dk[ghead + size_t(j) * ld_grad + d] += g * phi_grad(kd);
                }
        }
}

}  // namespace xb
