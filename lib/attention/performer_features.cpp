// Orthogonal random features for Performer; see performer_features.h. Built in double.
#include "attention/performer_features.h"

#include <cmath>
#include <vector>

#include "core/rng.h"

namespace xb {

uint64_t performer_feature_seed(uint64_t run_seed, int layer, int64_t epoch) {
    return mix64(run_seed ^ mix64(0x9e7f0 + uint64_t(layer) * 0x10001ULL + mix64(uint64_t(epoch))));
}

Tensor orthogonal_random_features(uint64_t seed, int m, int D, const std::string& scaling) {
    Tensor w = Tensor::empty({m, D});
    uint64_t counter = 0;
    for (int block = 0; block * D < m; ++block) {
        std::vector<double> rows(size_t(D) * D);
        for (auto& v : rows) v = random_normal(seed, 1, counter++);
        for (int i = 0; i < D; ++i) {  // modified Gram-Schmidt
            double* ri = rows.data() + size_t(i) * D;
            for (int j = 0; j < i; ++j) {
                const double* rj = rows.data() + size_t(j) * D;
                double dot = 0;
                for (int e = 0; e < D; ++e) dot += ri[e] * rj[e];
                for (int e = 0; e < D; ++e) ri[e] -= dot * rj[e];
            }
            double n = 0;
            for (int e = 0; e < D; ++e) n += ri[e] * ri[e];
            n = std::sqrt(n);
            for (int e = 0; e < D; ++e) ri[e] /= n;
        }
        for (int i = 0; i < D && block * D + i < m; ++i) {
            const int r = block * D + i;
            double target = std::sqrt(double(D));
            if (scaling == "chi") {
                double n = 0;
                for (int e = 0; e < D; ++e) {
                    const double g =
                        random_normal(seed, 2, uint64_t(r) * uint64_t(D) + uint64_t(e));
                    n += g * g;
                }
                target = std::sqrt(n);
            }
            for (int e = 0; e < D; ++e)
                w.data()[int64_t(r) * D + e] = float(target * rows[size_t(i) * D + e]);
        }
    }
    return w;
}

}  // namespace xb
