// Gradient synchronisation for data-parallel training; see data_parallel.h.
#include "train/data_parallel.h"

#include <algorithm>

#include "core/distributed.h"

namespace xb {

void GradientSync::sync(int64_t local_rows, int64_t global_rows) {
    if (world_size() == 1) return;
    const auto& all = params_.all();
    int64_t total = 0;
    for (const auto& p : all) total += p.var->value.numel();
    buffer_.assign(size_t(total + int64_t(all.size())), 0.0f);
    const float share = float(double(local_rows) / double(global_rows));
    float* flags = buffer_.data() + total;
    int64_t offset = 0;
    for (size_t k = 0; k < all.size(); ++k) {
        const Tensor& g = all[k].var->grad;
        const int64_t n = all[k].var->value.numel();
        if (g.defined()) {
            const float* src = g.data();
            float* dst = buffer_.data() + offset;
            for (int64_t i = 0; i < n; ++i) dst[i] = share * src[i];
            flags[k] = 1.0f;
        }
        offset += n;
    }
    allreduce_sum(buffer_.data(), int64_t(buffer_.size()));
    offset = 0;
    for (size_t k = 0; k < all.size(); ++k) {
        const int64_t n = all[k].var->value.numel();
        if (flags[k] > 0) {
            Tensor& g = all[k].var->grad_buffer();
            std::copy(buffer_.begin() + offset, buffer_.begin() + offset + n, g.data());
        }
        offset += n;
    }
}

void sum_over_ranks(std::vector<double>& values) {
    if (world_size() > 1) allreduce_sum(values.data(), int64_t(values.size()));
}

}  // namespace xb
