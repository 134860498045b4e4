// `sinkhorn`: equality with full attention when one block covers the sequence (forward and
// backward, with padding), gradients through the SortNet and the Sinkhorn iterations with several
// blocks, padding invariance with several blocks, and option errors that name the option.
#include <doctest/doctest.h>

#include <cmath>

#include "attention/mixer.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int kDim = BuiltMixer::kDim;
using Built = BuiltMixer;

}  // namespace

TEST_CASE("sinkhorn: one block covering the sequence equals full attention, with padding") {
    const int T = 10;
    std::vector<int32_t> lengths{T, 6};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    for (int block : {T, 16}) {
        CAPTURE(block);
        Built sink("sinkhorn", {{"block", block}}, T);
        sink.copy_projections_from(full);
        Tensor x = random_tensor({2, T, kDim}, 1), r = random_tensor({2, T, kDim}, 2);
        MixerRun a = run_with_qkv_grad(full, x, r, ctx), b = run_with_qkv_grad(sink, x, r, ctx);
        CHECK(max_abs_diff_valid(b.y, a.y, lengths) < 1e-5);
        CHECK(max_abs_diff_valid(b.dx, a.dx, lengths) < 1e-5);
        CHECK(max_abs_diff(b.dw, a.dw) < 1e-5);
    }
}

TEST_CASE("sinkhorn: gradients reach the input and the SortNet through several blocks") {
    std::vector<int32_t> lengths{9, 5};
    for (float dropout : {0.0f, 0.2f}) {
        CAPTURE(dropout);
        MixContext ctx{&lengths, dropout > 0.0f, 3, dropout > 0.0f ? 4 : -1};
        Built sink("sinkhorn", {{"block", 3}, {"iterations", 4}, {"temperature", 0.5}}, 12,
                   dropout);
        // Keeps every SortNet hidden unit off the ReLU kink, where finite differences fail.
        sink.param("mixer.sinkhorn.hidden.bias")->value.fill(3.0f);
        Var x = make_var(random_tensor({2, 9, kDim}, 21, 0.8f), true, "x");
        std::vector<Var> inputs{x};
        for (const auto& p : sink.params.all()) inputs.push_back(p.var);
        GradcheckOptions opt;
        opt.max_coords = 24;
        gradcheck([&](const std::vector<Var>& in) { return sink.mixer->forward(in[0], ctx); },
                  inputs, opt);
        // The SortNet's output layer gets a non-zero gradient: the sort is not a dead end.
        tape().clear();
        for (const auto& p : sink.params.all()) p.var->grad_buffer().zero();
        Var y = sink.mixer->forward(x, ctx);
        tape().backward(y, random_tensor({2, 9, kDim}, 22));
        double norm = 0;
        const Tensor& g = sink.param("mixer.sinkhorn.out.weight")->grad;
        for (int64_t i = 0; i < g.numel(); ++i) norm += std::fabs(g.data()[i]);
        CHECK(norm > 1e-4);
    }
}

TEST_CASE("sinkhorn: changing padded tokens changes no valid output, with several blocks") {
    std::vector<int32_t> lengths{11, 5};
    for (int block : {2, 3, 4}) {
        CAPTURE(block);
        Built sink("sinkhorn", {{"block", block}}, 11);
        CHECK(padding_change(sink, lengths, 11) <= 1e-6);
    }
}

TEST_CASE("sinkhorn: bad options fail with a ConfigError naming the option") {
    const std::vector<std::pair<nlohmann::json, const char*>> cases = {
        {{{"block", 0}}, "model.attention.options.block=0: must be positive"},
        {{{"iterations", 0}}, "model.attention.options.iterations=0: must be positive"},
        {{{"temperature", 0}}, "model.attention.options.temperature=0: must be in [0.001, 1000]"},
        {{{"temperature", "hot"}}, "model.attention.options.temperature: expected a number"},
        {{{"sort", "hard"}}, "model.attention.options.sort: unknown key"},
    };
    check_option_errors("sinkhorn", cases);
}

TEST_SUITE_END();
