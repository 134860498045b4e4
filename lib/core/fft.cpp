// FFTW3 plan cache and the real transforms; see fft.h.
#include "core/fft.h"

#include <fftw3.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "core/check.h"

namespace xb {

namespace {

enum class PlanKind { kForward1d, kInverse1d, kForward2d };

// Plans live until the process exits (a few hundred lengths at most); then they are destroyed
// and FFTW's planner state released, so leak checkers see nothing left.
struct PlanCache {
    std::mutex mutex;
    std::map<std::tuple<PlanKind, int64_t, int64_t>, fftwf_plan> plans;
    ~PlanCache() {
        for (auto& entry : plans) fftwf_destroy_plan(entry.second);
        fftwf_cleanup();
    }
};

fftwf_plan cached_plan(PlanKind kind, int64_t n0, int64_t n1) {
    static PlanCache cache;
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto& plans = cache.plans;
    auto key = std::make_tuple(kind, n0, n1);
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    // FFTW_ESTIMATE never writes the planning arrays; they only give the planner pointers.
    const int64_t reals = n0 * n1, complexes = n0 * (n1 / 2 + 1);
    float* real = fftwf_alloc_real(size_t(reals));
    fftwf_complex* cplx = fftwf_alloc_complex(size_t(complexes));
    const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    fftwf_plan plan = nullptr;
    if (kind == PlanKind::kForward1d)
        plan = fftwf_plan_dft_r2c_1d(int(n1), real, cplx, flags | FFTW_PRESERVE_INPUT);
    else if (kind == PlanKind::kInverse1d)
        plan = fftwf_plan_dft_c2r_1d(int(n1), cplx, real, flags | FFTW_DESTROY_INPUT);
    else
        plan = fftwf_plan_dft_r2c_2d(int(n0), int(n1), real, cplx, flags | FFTW_PRESERVE_INPUT);
    fftwf_free(real);
    fftwf_free(cplx);
    XB_CHECK(plan != nullptr, "FFTW could not plan a transform of {} x {}", n0, n1);
    plans.emplace(key, plan);
    return plan;
}

}  // namespace

int64_t fft_size_at_least(int64_t min_n) {
    for (int64_t n = std::max<int64_t>(min_n, 1);; ++n) {
        int64_t m = n;
        for (int64_t p : {2, 3, 5, 7})
            while (m % p == 0) m /= p;
        if (m == 1) return n;
    }
}

RealFft::RealFft(int64_t n)
    : n_(n),
      forward_plan_(cached_plan(PlanKind::kForward1d, 1, n)),
      inverse_plan_(cached_plan(PlanKind::kInverse1d, 1, n)) {}

void RealFft::forward(float* out, const float* in) const {
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(forward_plan_), const_cast<float*>(in),
                          reinterpret_cast<fftwf_complex*>(out));
}

void RealFft::inverse(float* out, float* in) const {
    fftwf_execute_dft_c2r(static_cast<fftwf_plan>(inverse_plan_),
                          reinterpret_cast<fftwf_complex*>(in), out);
}

RealFft2d::RealFft2d(int64_t rows, int64_t cols)
    : rows_(rows), cols_(cols), plan_(cached_plan(PlanKind::kForward2d, rows, cols)) {}

void RealFft2d::forward(float* out, const float* in) const {
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), const_cast<float*>(in),
                          reinterpret_cast<fftwf_complex*>(out));
}

}  // namespace xb
