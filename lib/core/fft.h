// Real FFTs over FFTW3 single precision. Plans are made once per length with FFTW_ESTIMATE (no
// timing measurements, so the same plan, and the same bits, on every run) and FFTW_UNALIGNED
// (any pointer may be passed), then cached for the life of the process. The FFTW planner is
// not thread-safe: plan creation is serialised by one mutex; executing a plan is thread-safe.
// Transforms are unnormalised: inverse(forward(x)) = n·x.
#pragma once
#include <cstdint>

namespace xb {

// The smallest n >= min_n whose prime factors are 2, 3, 5 and 7 (the sizes FFTW is fastest at).
int64_t fft_size_at_least(int64_t min_n);

// 1-D real transform of length n: n reals <-> n/2+1 complex bins stored interleaved (re, im).
class RealFft {
  public:
    explicit RealFft(int64_t n);
    int64_t size() const { return n_; }
    int64_t bins() const { return n_ / 2 + 1; }
    // in (n) -> out (2·bins); in is preserved
    void forward(float* out, const float* in) const;
    // in (2·bins) -> out (n) = n × inverse DFT; in is overwritten
    void inverse(float* out, float* in) const;

  private:
    int64_t n_;
    void* forward_plan_;
    void* inverse_plan_;
};

// 2-D real-to-complex transform of a rows × cols row-major array: out (rows, cols/2+1) complex
// interleaved, the unnormalised DFT over both axes (the other half follows by Hermitian symmetry).
class RealFft2d {
  public:
    RealFft2d(int64_t rows, int64_t cols);
    int64_t bins() const { return cols_ / 2 + 1; }
    // in (rows, cols) -> out (rows, 2·bins); in is preserved
    void forward(float* out, const float* in) const;

  private:
    int64_t rows_, cols_;
    void* plan_;
};

}  // namespace xb
