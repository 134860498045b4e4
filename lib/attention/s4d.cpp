// `s4d`: diagonal state-space layer (S4D, Gu et al. 2022, xformers.md 1.17), attention-free.
// Per channel c, N/2 complex modes, zero-order hold with a learned step Δ_c = e^{log_dt}:
//   k = Vandermonde kernels (ops.h s4d_kernel: a causal and, when bidirectional, an anti-causal
//   one, plus the D skip), y = k * x over each example's valid length by FFT (long_conv),
//   then GELU and the position-wise output transform Linear(C -> 2C) + GLU (as S4D's s4d.py).
// O(B·C·T log T + C·N·T) time; backward saves the FFT spectra of the input (long_conv).
// Λ (log_a_real, a_imag), Δ (log_dt) and B form the optimizer group "ssm", which the paper
// trains with a smaller learning rate and no weight decay (optim.groups.ssm).
#include <cmath>

#include "attention/mixer.h"
#include "config/option_reader.h"
#include "core/fft.h"
#include "ops/ops.h"

namespace xb {

namespace {

struct S4dParams {
    Var log_dt, log_a_real, a_imag, b, c, d, w_out, b_out;
};

class S4dMixer : public Mixer {
  public:
    S4dMixer(S4dParams p, bool glu_output) : p_(std::move(p)), glu_output_(glu_output) {}

    Var forward(const Var& x, const MixContext& ctx) override {
        const int64_t T = x->value.dim(1);
        Var k = s4d_kernel(p_.log_dt, p_.log_a_real, p_.a_imag, p_.b, p_.c, p_.d, T);  // (R, C, T)
        Var y = gelu(long_conv(x, k, *ctx.lengths));                                   // (B, T, C)
        y = linear(y, p_.w_out, p_.b_out);  // (B, T, 2C) with GLU, else (B, T, C)
        return glu_output_ ? glu(y) : y;
    }

  private:
    S4dParams p_;
    bool glu_output_;
};

struct S4dOptions {
    int state;
    std::string init;
    double dt_min, dt_max;
    bool bidirectional;
    std::string output;
};

S4dOptions read_s4d_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    const int state = opts.get_int_at_least("state", 64, 2);
    const std::string init = opts.get_choice("init", "lin", {"lin", "inv"});
    const double dt_min = opts.get_double("dt_min", 0.001);
    const double dt_max = opts.get_double("dt_max", 0.1);
    const bool bidirectional = opts.get_bool("bidirectional", true);
    const std::string output = opts.get_choice("output", "glu", {"glu", "linear"});
    opts.finish();
    if (state % 2 != 0)
        throw ConfigError(fmt::format("{}={}: must be even (N/2 complex conjugate mode pairs)",
                                      opts.key_path("state"), state));
    if (!(dt_min > 0 && dt_min <= dt_max))
        throw ConfigError(fmt::format("{}={} and {}={}: need 0 < dt_min <= dt_max",
                                      opts.key_path("dt_min"), dt_min, opts.key_path("dt_max"),
                                      dt_max));
    return {state, init, dt_min, dt_max, bidirectional, output};
}

}  // namespace

// Saves the kernels (R, C, T), the FFT spectra of kernels and input (C and B·C rows of n/2+1
// complex, n >= 2T), the convolution, GELU, output transform and GLU; backward adds the
// spectra of the output gradient.
MixerFootprint s4d_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const S4dOptions o = read_s4d_options(spec);
    const double C = spec.dim, N = o.state / 2, R = o.bidirectional ? 2 : 1, T = shape.T;
    const double out = o.output == "glu" ? 2 * C : C, A = shape.B * T * C;
    const int64_t n = fft_size_at_least(int64_t(2 * T));
    const double spectrum = double(2 * (n / 2 + 1));
    MixerFootprint f;
    f.params = C + 2 * C * N + 2 * C * N + 2 * R * C * N + C + out * C + out;
    f.saved = R * C * T + C * spectrum + shape.B * C * spectrum + 2 * A + shape.B * T * out +
              (o.output == "glu" ? A : 0);
    f.backward = shape.B * C * spectrum + 2 * shape.B * T * out + R * C * T +
                 double(shape.threads) * (n + 2 * spectrum);
    return f;
}

std::unique_ptr<Mixer> make_s4d_mixer(const MixerSpec& spec, ParameterStore& params) {
    reject_attention_dropout(spec, "s4d");
    const S4dOptions opt = read_s4d_options(spec);
    const int state = opt.state;
    const std::string init = opt.init;
    const double dt_min = opt.dt_min, dt_max = opt.dt_max;
    const bool bidirectional = opt.bidirectional;
    const std::string output = opt.output;
    const int64_t C = spec.dim, N = state / 2, R = bidirectional ? 2 : 1;
    const std::string p = spec.prefix + "ssm.";
    S4dParams s;
    s.log_dt =
        params.uniform(p + "log_dt", {C}, float(std::log(dt_min)), float(std::log(dt_max)), false);
    s.log_a_real = params.constant(p + "log_a_real", {C, N}, std::log(0.5f));  // Re A = −1/2
    s.a_imag = params.constant(p + "a_imag", {C, N}, 0.0f);
    for (int64_t n = 0; n < N; ++n) {
        // S4D-Lin: π·n; S4D-Inv: (N/π)(N/(2n+1) − 1) with N the state size (dplr.py)
        const double im = init == "lin" ? M_PI * double(n)
                                        : state / M_PI * (state / (2.0 * double(n) + 1.0) - 1.0);
        for (int64_t c = 0; c < C; ++c) s.a_imag->value.data()[c * N + n] = float(im);
    }
    s.b = params.constant(p + "b", {C, N, 2}, 0.0f);  // B = 1 + 0i
    for (int64_t i = 0; i < C * N; ++i) s.b->value.data()[2 * i] = 1.0f;
    for (const Var& v : {s.log_dt, s.log_a_real, s.a_imag, s.b}) params.set_group(v, "ssm");
    s.c = params.normal(p + "c", {R, C, N, 2}, float(M_SQRT1_2), true);  // randn(cfloat)
    s.d = params.normal(p + "d", {C}, 1.0f, false);
    const int64_t out = output == "glu" ? 2 * C : C;
    s.w_out = params.xavier(spec.prefix + "out.weight", out, C);
    s.b_out = params.constant(spec.prefix + "out.bias", {out}, 0.0f);
    return std::make_unique<S4dMixer>(std::move(s), output == "glu");
}

}  // namespace xb
