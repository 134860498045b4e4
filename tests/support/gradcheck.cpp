// Finite-difference gradient checks; see gradcheck.h.
#include "support/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xb::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float scale) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = scale * random_normal(seed, 99, i);
    return t;
}

// |a − b|, and +inf when either is NaN: std::max and `>` pass a NaN over silently, so a NaN
// output must compare as the worst difference there is.
static double abs_diff(double a, double b) {
    const double d = std::fabs(a - b);
    return std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    double worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i)
        worst = std::max(worst, abs_diff(double(a.data()[i]), double(b.data()[i])));
    return worst;
}

double max_abs_diff(const Tensor& a, const std::vector<double>& ref) {
    REQUIRE(a.numel() == int64_t(ref.size()));
    double worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i)
        worst = std::max(worst, abs_diff(double(a.data()[i]), ref[size_t(i)]));
    return worst;
}

DoubleFdResult worst_central_difference(
    std::vector<double>& x, const std::function<double(const std::vector<double>&)>& loss,
    const std::vector<double>& grad, double h, const std::function<bool(size_t)>& skip) {
    DoubleFdResult r;
    for (size_t i = 0; i < x.size(); ++i) {
        if (skip && skip(i)) continue;
        const double x0 = x[i];
        x[i] = x0 + h;
        const double up = loss(x);
        x[i] = x0 - h;
        const double down = loss(x);
        x[i] = x0;
        const double e = abs_diff((up - down) / (2 * h), grad[i]);
        if (e > r.worst) r.worst = e, r.at = i;
    }
    return r;
}

static double weighted_sum(const Tensor& y, const Tensor& r) {
    double acc = 0;
    for (int64_t i = 0; i < y.numel(); ++i) acc += double(y.data()[i]) * double(r.data()[i]);
    return acc;
}

bool gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs,
               const GradcheckOptions& opt) {
    // Analytic gradients.
    tape().clear();
    for (const Var& v : inputs) v->grad = Tensor();
    Var y = f(inputs);
    Tensor r = random_tensor(y->value.shape(), opt.seed);
    tape().backward(y, r);
    std::vector<Tensor> analytic;
    for (const Var& v : inputs) analytic.push_back(v->grad.defined() ? v->grad.clone() : Tensor());

    bool all_ok = true;
    NoGradGuard no_grad;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Var& v = inputs[k];
        if (!v->requires_grad) continue;
        int64_t n = v->value.numel();
        int64_t count = std::min<int64_t>(n, opt.max_coords);
        double worst_excess = -1, worst_num = 0, worst_ana = 0;
        int64_t worst_index = -1;
        for (int64_t c = 0; c < count; ++c) {
            int64_t i = count == n ? c : int64_t(random_bits(opt.seed, 1000 + k, c) % n);
            float saved = v->value.data()[i];
            v->value.data()[i] = saved + float(opt.eps);
            double lp = weighted_sum(f(inputs)->value, r);
            v->value.data()[i] = saved - float(opt.eps);
            double lm = weighted_sum(f(inputs)->value, r);
            v->value.data()[i] = saved;
            double num = (lp - lm) / (2 * opt.eps);
            double ana = analytic[k].defined() ? analytic[k].data()[i] : 0.0;
            double excess = abs_diff(num, ana) - (opt.atol + opt.rtol * std::fabs(num));
            if (excess > worst_excess || worst_index < 0) {
                worst_excess = excess;
                worst_index = i;
                worst_num = num;
                worst_ana = ana;
            }
        }
        bool ok = worst_excess <= 0;
        all_ok = all_ok && ok;
        if (!opt.report_failures) continue;
        INFO("input " << k << " (" << v->name << ") [" << worst_index << "] analytic " << worst_ana
                      << " numeric " << worst_num << " (worst of " << count << ")");
        CHECK(ok);
    }
    return all_ok;
}

double max_abs_diff_valid(const Tensor& a, const Tensor& b, const std::vector<int32_t>& lengths) {
    const int64_t T = a.dim(1), C = a.dim(2);
    double worst = 0;
    for (size_t r = 0; r < lengths.size(); ++r)
        for (int64_t t = 0; t < lengths[r]; ++t)
            for (int64_t c = 0; c < C; ++c) {
                const int64_t i = (int64_t(r) * T + t) * C + c;
                worst = std::max(worst, abs_diff(double(a.data()[i]), double(b.data()[i])));
            }
    return worst;
}

}  // namespace xb::test
