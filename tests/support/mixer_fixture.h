// A mixer of a registered variant built from test_mixer_spec (d 16, 2 heads, layer 0, run seed
// 5) on its own parameter store, with lookup of its parameters by name: the fixture of
// variant-specific tests.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>

#include "attention/mixer.h"
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

}  // namespace xb::test
