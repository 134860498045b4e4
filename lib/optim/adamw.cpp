// AdamW and gradient clipping; see adamw.h. The update loop is compiled once per SIMD target
// (Highway's foreach_target) and dispatched at run time like the kernels.
#include "optim/adamw.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#ifndef XB_OPTIM_ADAMW_SHARED_
#define XB_OPTIM_ADAMW_SHARED_
namespace xb {
namespace {
struct AdamWCoefficients {
    float b1, b2, c1, c2, eps, lr, decay;  // c1, c2: bias corrections; decay = lr · weight decay
};
}  // namespace
}  // namespace xb
#endif  // XB_OPTIM_ADAMW_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "optim/adamw.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace xb {
namespace HWY_NAMESPACE {

// One AdamW step over n elements: moments m, v, bias corrections c1, c2, decoupled decay.
void adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                  const AdamWCoefficients& k) {
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) {
        m[i] = k.b1 * m[i] + (1 - k.b1) * g[i];
        v[i] = k.b2 * v[i] + (1 - k.b2) * g[i] * g[i];
        const float update = (m[i] * k.c1) / (std::sqrt(v[i] * k.c2) + k.eps);
        w[i] -= k.lr * update + k.decay * w[i];
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace xb
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace xb {

HWY_EXPORT(adamw_update);

AdamW::AdamW(const ParameterStore& params, const OptimConfig& cfg) : params_(params), cfg_(cfg) {
    for (const auto& p : params.all()) {
        m_.push_back(Tensor::zeros(p.var->value.shape()));
        v_.push_back(Tensor::zeros(p.var->value.shape()));
    }
}

size_t AdamW::state_bytes() const {
    size_t n = 0;
    for (size_t i = 0; i < m_.size(); ++i) n += m_[i].bytes() + v_[i].bytes();
    return n;
}

void AdamW::step(double lr, int64_t step) {
    const auto& all = params_.all();
    XB_CHECK(all.size() == m_.size(), "parameters changed after the optimizer was built");
    const float b1 = float(cfg_.beta1), b2 = float(cfg_.beta2), eps = float(cfg_.eps);
    const float c1 = float(1.0 / (1.0 - std::pow(cfg_.beta1, double(step))));
    const float c2 = float(1.0 / (1.0 - std::pow(cfg_.beta2, double(step))));
    for (size_t k = 0; k < all.size(); ++k) {
        const Var& p = all[k].var;
        if (!all[k].trained || !p->grad.defined()) continue;
        // A group override scales the scheduled lr by group.lr / optim.lr and sets the decay of
        // all its parameters.
        const OptimGroupConfig* group = find_optim_group(cfg_, all[k].group);
        const double plr = group && group->lr > 0 ? lr * group->lr / cfg_.lr : lr;
        const bool decays = all[k].decay || cfg_.decay_all;
        const double wd = group && group->weight_decay >= 0 ? group->weight_decay
                          : decays                          ? cfg_.weight_decay
                                                            : 0.0;
        const AdamWCoefficients coeff{b1, b2, c1, c2, eps, float(plr), float(plr * wd)};
        HWY_DYNAMIC_DISPATCH(adamw_update)
        (p->value.data(), p->grad.data(), m_[k].data(), v_[k].data(), p->value.numel(), coeff);
    }
}

double global_grad_norm(const ParameterStore& params) {
    // Fixed chunks of every gradient, each summed in double by one thread, then the chunk sums
    // in order: parallel, and bitwise the same for any thread count.
    constexpr int64_t kChunk = 16384;
    std::vector<std::pair<const float*, int64_t>> chunks;
    for (const auto& p : params.all()) {
        if (!p.var->grad.defined()) continue;
        const float* g = p.var->grad.data();
        const int64_t n = p.var->grad.numel();
        for (int64_t i = 0; i < n; i += kChunk) chunks.push_back({g + i, std::min(kChunk, n - i)});
    }
    std::vector<double> sums(chunks.size());
    const int64_t n_chunks = int64_t(chunks.size());
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const auto [g, n] = chunks[size_t(c)];
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
        sums[size_t(c)] = s;
    }
    double total = 0;
    for (double s : sums) total += s;
    return std::sqrt(total);
}

double clip_grad_norm(const ParameterStore& params, double max_norm) {
    double norm = global_grad_norm(params);
    if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
        float scale = float(max_norm / norm);
        for (const auto& p : params.all()) {
            if (!p.var->grad.defined()) continue;
            float* g = p.var->grad.data();
            const int64_t n = p.var->grad.numel();
#pragma omp parallel for schedule(static) if (n > 16384)
            for (int64_t i = 0; i < n; ++i) g[i] *= scale;
        }
    }
    return norm;
}

}  // namespace xb
#endif  // HWY_ONCE
