// Properties every registered variant must have, checked by iterating the registry: output
// shape, gradients (input and the variant's own parameters) against finite differences,
// key-padding invariance and determinism.
#include <doctest/doctest.h>

#include "attention/mixer.h"
#include "support/gradcheck.h"
#include "support/mixer_spec.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

struct Fixture {
    ParameterStore params{11};
    std::unique_ptr<Mixer> mixer;
    std::vector<int32_t> lengths{9, 5};
    MixContext ctx{&lengths, false, 3, -1};

    explicit Fixture(const VariantEntry& v, nlohmann::json options = nlohmann::json::object()) {
        const MixerSpec spec = test_mixer_spec(options);
        mixer = v.make(spec, params);
    }
};

}  // namespace

TEST_CASE("variants: every variant maps (B,T,C) to (B,T,C) with correct gradients") {
    for (const auto& v : variant_registry()) {
        CAPTURE(v.name);
        Fixture f(v);
        Var x = make_var(random_tensor({2, 9, 16}, 21, 0.5f), true, "x");
        tape().clear();
        Var y = f.mixer->forward(x, f.ctx);
        CHECK(y->value.shape() == Shape{2, 9, 16});
        tape().clear();
        std::vector<Var> inputs{x};
        for (const auto& p : f.params.all())
            if (p.trained) inputs.push_back(p.var);  // not routing's centroids (k-means state)
        GradcheckOptions opt;
        opt.max_coords = 24;
        gradcheck([&](const std::vector<Var>& in) { return f.mixer->forward(in[0], f.ctx); },
                  inputs, opt);
    }
}

TEST_CASE("variants: changing padded tokens changes no output at valid positions") {
    for (const auto& v : variant_registry()) {
        CAPTURE(v.name);
        Fixture f(v);
        NoGradGuard no_grad;
        Tensor x = random_tensor({2, 9, 16}, 31, 0.5f);
        Tensor y1 = f.mixer->forward(make_var(x), f.ctx)->value.clone();
        Tensor x2 = x.clone();
        for (int t = 5; t < 9; ++t)
            for (int c = 0; c < 16; ++c) x2.data()[(9 + t) * 16 + c] += 3.0f;
        Tensor y2 = f.mixer->forward(make_var(x2), f.ctx)->value;
        double worst = 0;
        for (int b = 0; b < 2; ++b)
            for (int t = 0; t < f.lengths[b]; ++t)
                for (int c = 0; c < 16; ++c) {
                    int64_t i = (b * 9 + t) * 16 + c;
                    worst = std::max(worst, double(std::fabs(y1.data()[i] - y2.data()[i])));
                }
        CHECK(worst <= 1e-6);
    }
}

TEST_CASE("variants: two identical calls give bitwise identical outputs") {
    for (const auto& v : variant_registry()) {
        CAPTURE(v.name);
        Fixture f(v);
        NoGradGuard no_grad;
        Tensor x = random_tensor({2, 9, 16}, 41, 0.5f);
        Tensor y1 = f.mixer->forward(make_var(x), f.ctx)->value.clone();
        Tensor y2 = f.mixer->forward(make_var(x), f.ctx)->value;
        CHECK(max_abs_diff(y1, y2) == 0.0);
    }
}

TEST_SUITE_END();
