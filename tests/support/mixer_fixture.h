// A mixer of a registered variant built from test_mixer_spec (d 16, 2 heads, layer 0, run seed
// 5) on its own parameter store, with lookup of its parameters by name: the fixture of
// variant-specific tests.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>

#include "attention/mixer.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_spec.h"

namespace xb::test {

struct BuiltMixer {
    static constexpr int kDim = 16, kHeads = 2;  // test_mixer_spec's width and heads
    ParameterStore params{11};
    std::unique_ptr<Mixer> mixer;
    BuiltMixer(const char* name, nlohmann::json options, int max_len, float dropout = 0.0f) {
        MixerSpec spec = test_mixer_spec(std::move(options));
        spec.max_len = max_len;
        spec.attention_dropout = dropout;
        mixer = find_variant(name).make(spec, params);
    }
    Var param(const std::string& name) const {
        for (const auto& p : params.all())
            if (p.var->name == name) return p.var;
        FAIL("no parameter " << name);
        return nullptr;
    }
    // Gives this mixer the QKV and output projections of `from` (both AttentionMixers), so the
    // two differ only in their attention.
    void copy_projections_from(const BuiltMixer& from) {
        for (const char* n :
             {"mixer.qkv.weight", "mixer.qkv.bias", "mixer.out.weight", "mixer.out.bias"})
            param(n)->value.copy_from(from.param(n)->value);
    }
};

// Output and input gradient of a mixer for input x and cotangent r (the tape is cleared before
// and after).
inline std::pair<Tensor, Tensor> mixer_forward_backward(Mixer& mixer, const Tensor& x,
                                                        const Tensor& r, const MixContext& ctx) {
    tape().clear();
    Var xv = make_var(x.clone(), true, "x");
    Var y = mixer.forward(xv, ctx);
    Tensor out = y->value.clone();
    tape().backward(y, r);
    Tensor dx = xv->grad.clone();
    tape().clear();
    return {out, dx};
}

// Output, input gradient and QKV-weight gradient of a BuiltMixer for input x and cotangent r
// (the tape is cleared before and after).
struct MixerRun {
    Tensor y, dx, dw;
};
inline MixerRun run_with_qkv_grad(BuiltMixer& b, const Tensor& x, const Tensor& r,
                                  const MixContext& ctx) {
    b.param("mixer.qkv.weight")->grad_buffer().zero();
    auto [y, dx] = mixer_forward_backward(*b.mixer, x, r, ctx);
    return {y, dx, b.param("mixer.qkv.weight")->grad.clone()};
}

// The largest change at valid positions of mixer b's output (B = 2 rows of length T, no
// gradients) when every padded token (t >= lengths[b]) moves by 3.
inline double padding_change(BuiltMixer& b, const std::vector<int32_t>& lengths, int T) {
    MixContext ctx{&lengths, false, 3, -1};
    NoGradGuard no_grad;
    Tensor x = random_tensor({2, T, BuiltMixer::kDim}, 31, 0.5f), x2 = x.clone();
    for (int row = 0; row < 2; ++row)
        for (int t = lengths[row]; t < T; ++t)
            for (int c = 0; c < BuiltMixer::kDim; ++c)
                x2.data()[(row * T + t) * BuiltMixer::kDim + c] += 3.0f;
    Tensor y1 = b.mixer->forward(make_var(x), ctx)->value.clone();
    Tensor y2 = b.mixer->forward(make_var(x2), ctx)->value;
    return max_abs_diff_valid(y1, y2, lengths);
}

// Builds variant `name` with `options` for each case and checks that it throws a ConfigError
// whose message contains the case's text.
inline void check_option_errors(const char* name,
                                const std::vector<std::pair<nlohmann::json, const char*>>& cases) {
    for (const auto& [options, message] : cases) {
        std::string what;
        try {
            BuiltMixer b(name, options, 16);
        } catch (const ConfigError& e) {
            what = e.what();
        }
        CAPTURE(what);
        CHECK(what.find(message) != std::string::npos);
    }
}

}  // namespace xb::test
