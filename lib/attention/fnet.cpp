// `fnet`: FNet Fourier token mixing (Lee-Thorp et al. 2021, xformers.md 1.16), no parameters:
// y = Re(F_L x F_C), the real part of the 2-D DFT over (sequence, hidden), FFTW3 r2c. Each
// example is transformed over its own valid length L (padded rows neither enter nor receive
// anything), so key padding changes no output, unlike the reference code that mixes padding in.
// O(B·L·C·log(L·C)) time; saves nothing for backward (the map is self-adjoint).
// Option `normalize` (default true): scale by 1/√(L·C), the unitary DFT. The paper leaves the
// DFT unnormalised behind a post-norm residual; this suite's blocks are pre-norm, where an
// unnormalised branch would grow the residual stream by √(L·C) per layer.
#include "attention/mixer.h"
#include "config/option_reader.h"
#include "ops/ops.h"

namespace xb {

namespace {

class FourierMixer : public Mixer {
  public:
    explicit FourierMixer(bool normalize) : normalize_(normalize) {}
    Var forward(const Var& x, const MixContext& ctx) override {
        return fourier_mix(x, *ctx.lengths, normalize_);  // (B, T, C)
    }

  private:
    bool normalize_;
};

}  // namespace

// No parameters; saves its output only; forward and backward use per-thread FFT rows (T, C/2+1)
// complex.
MixerFootprint fnet_footprint(const MixerSpec& spec, const MixerShape& shape) {
    MixerFootprint f;
    f.saved = shape.B * shape.T * spec.dim;
    f.backward = double(shape.threads) * shape.T * 2 * (spec.dim / 2 + 1);
    return f;
}

std::unique_ptr<Mixer> make_fnet_mixer(const MixerSpec& spec, ParameterStore& params) {
    reject_attention_dropout(spec, "fnet");
    OptionReader opts(spec.options, "model.attention.options");
    const bool normalize = opts.get_bool("normalize", true);
    opts.finish();
    return std::make_unique<FourierMixer>(normalize);
}

}  // namespace xb
