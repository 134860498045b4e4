// Variant-specific properties of linformer, performer, nystrom and synthesizer: exactness in
// their limits against `full` (forward and backward), Performer's convergence in the number of
// features and its redraw schedule, gradients of non-default options, and option errors that
// name the option.
#include <doctest/doctest.h>

#include <cmath>

#include "attention/low_rank_attention.h"
#include "attention/mixer.h"
#include "attention/performer_features.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int kDim = BuiltMixer::kDim, kHeads = BuiltMixer::kHeads;
using Built = BuiltMixer;

void copy_projections(const Built& from, Built& to) { to.copy_projections_from(from); }

// Output and input gradient of a mixer for input x and cotangent r.
std::pair<Tensor, Tensor> run(Built& b, const Tensor& x, const Tensor& r, const MixContext& ctx) {
    return mixer_forward_backward(*b.mixer, x, r, ctx);
}

double relative_error(const Tensor& a, const Tensor& ref) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        num += std::pow(double(a.data()[i]) - ref.data()[i], 2);
        den += std::pow(double(ref.data()[i]), 2);
    }
    return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("linformer: k = T with E = F = I equals full attention, forward and backward") {
    const int T = 8;
    std::vector<int32_t> lengths{T, T};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    Built lin("linformer", {{"k", T}}, T);
    copy_projections(full, lin);
    for (const char* n : {"mixer.linformer.e", "mixer.linformer.f"}) {
        Tensor& e = lin.param(n)->value;  // (H, k, max_len)
        e.zero();
        for (int h = 0; h < kHeads; ++h)
            for (int i = 0; i < T; ++i) e.data()[(h * T + i) * T + i] = 1.0f;
    }
    Tensor x = random_tensor({2, T, kDim}, 1), r = random_tensor({2, T, kDim}, 2);
    auto [y_full, dx_full] = run(full, x, r, ctx);
    auto [y_lin, dx_lin] = run(lin, x, r, ctx);
    CHECK(max_abs_diff(y_lin, y_full) < 1e-5);
    CHECK(max_abs_diff(dx_lin, dx_full) < 1e-5);
}

TEST_CASE("linformer: the fused kernel over k projected keys equals the composed ops") {
    // Queries of a fused projection over k projected keys and values, with a padded example:
    // outputs and the gradients of qkv, K̄ and V̄ agree (k = 1, a few, and k = T).
    const int B = 2, T = 37, H = 2, D = 8, C = H * D;
    std::vector<int32_t> lengths{T, 20};
    MixContext ctx{&lengths, false, 3, -1};
    for (int k : {1, 5, T}) {
        CAPTURE(k);
        const Tensor qkv0 = random_tensor({B, T, 3 * C}, 1), r = random_tensor({B, T, C}, 4);
        const Tensor kp0 = random_tensor({B, H, k, D}, 2), vp0 = random_tensor({B, H, k, D}, 3);
        auto run_path = [&](auto attention) {
            tape().clear();
            Var qkv = make_var(qkv0.clone(), true, "qkv");
            Var kp = make_var(kp0.clone(), true, "k_proj"), vp = make_var(vp0.clone(), true, "v");
            Var y = attention(qkv, kp, vp, H, ctx, 0.0f, 0);
            Tensor out = y->value.clone();
            tape().backward(y, r);
            return std::vector<Tensor>{out, qkv->grad.clone(), kp->grad.clone(), vp->grad.clone()};
        };
        const auto fused = run_path(low_rank_fused_attention);
        const auto composed = run_path(low_rank_composed_attention);
        for (size_t i = 0; i < fused.size(); ++i) {
            CAPTURE(i);
            CHECK(max_abs_diff(fused[i], composed[i]) < 2e-5);
        }
        // Padded query rows: no output.
        CHECK(fused[0].data()[(size_t(T) + 30) * C] == 0.0f);
    }
}

TEST_CASE("nystrom: m = T landmarks equals full attention to pinv tolerance, with padding") {
    const int T = 8;
    std::vector<int32_t> lengths{T, 5};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    // The default 6 iterations leave an error of ~4e-2 here (the initial scale 1/(‖A‖₁‖A‖∞)
    // is conservative); 12 converge, so the remaining difference is the limit itself.
    Built nys("nystrom", {{"landmarks", T}, {"pinv_iterations", 12}}, T);
    copy_projections(full, nys);
    // Peaked attention keeps A = softmax(QKᵀ/√D) well conditioned, so the iteration converges.
    Tensor x = random_tensor({2, T, kDim}, 3, 2.0f), r = random_tensor({2, T, kDim}, 4);
    auto [y_full, dx_full] = run(full, x, r, ctx);
    auto [y_nys, dx_nys] = run(nys, x, r, ctx);
    double worst_y = 0, worst_dx = 0;
    for (int b = 0; b < 2; ++b)
        for (int t = 0; t < lengths[size_t(b)]; ++t)
            for (int c = 0; c < kDim; ++c) {
                int64_t i = (b * T + t) * kDim + c;
                worst_y = std::max(worst_y, double(std::fabs(y_nys.data()[i] - y_full.data()[i])));
                worst_dx =
                    std::max(worst_dx, double(std::fabs(dx_nys.data()[i] - dx_full.data()[i])));
            }
    CHECK(worst_y < 1e-3);
    CHECK(worst_dx < 1e-3);
}

TEST_CASE("performer: error against full attention decreases with the number of features") {
    const int T = 16;
    std::vector<int32_t> lengths{T, 11};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    Tensor x = random_tensor({2, T, kDim}, 5, 0.5f), r = random_tensor({2, T, kDim}, 6);
    auto [y_full, dx_full] = run(full, x, r, ctx);
    std::vector<double> errors;
    for (int m : {8, 64, 512, 4096}) {
        Built perf("performer", {{"features", m}}, T);
        copy_projections(full, perf);
        auto [y, dx] = run(perf, x, r, ctx);
        errors.push_back(relative_error(y, y_full));
        MESSAGE("performer m=" << m << " relative error " << errors.back() << " (grad "
                               << relative_error(dx, dx_full) << ")");
        if (m == 4096) CHECK(relative_error(dx, dx_full) < 0.05);
    }
    for (size_t i = 1; i < errors.size(); ++i) CHECK(errors[i] < errors[i - 1]);
    CHECK(errors.back() < 0.02);  // Monte Carlo error ~ 1/√m
}

TEST_CASE("performer: features redraw every `redraw` training steps and stay fixed at eval") {
    const int T = 6;
    std::vector<int32_t> lengths{T, 4};
    Built perf("performer", {{"features", 8}, {"redraw", 10}}, T);
    NoGradGuard no_grad;
    Tensor x = random_tensor({2, T, kDim}, 7);
    auto at = [&](bool training, int64_t step) {
        MixContext ctx{&lengths, training, 3, step};
        return perf.mixer->forward(make_var(x), ctx)->value.clone();
    };
    Tensor s0 = at(true, 0), s9 = at(true, 9), s10 = at(true, 10), s19 = at(true, 19);
    CHECK(max_abs_diff(s0, s9) == 0.0);
    CHECK(max_abs_diff(s10, s19) == 0.0);
    CHECK(max_abs_diff(s0, s10) > 1e-4);
    CHECK(max_abs_diff(at(false, -1), s19) == 0.0);  // evaluation keeps the last features
    Tensor w = orthogonal_random_features(9, 20, 8, "sqrt_d");
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
            double dot = 0;
            for (int e = 0; e < 8; ++e) dot += double(w.data()[i * 8 + e]) * w.data()[j * 8 + e];
            CHECK(dot == doctest::Approx(i == j ? 8.0 : 0.0).epsilon(1e-4).scale(1.0));
        }
}

TEST_CASE("low-rank variants: non-default options keep correct gradients") {
    const std::vector<std::pair<const char*, nlohmann::json>> cases = {
        {"linformer", {{"k", 3}, {"share_kv", true}, {"share_heads", true}}},
        {"performer", {{"features", 12}, {"kernel", "relu"}, {"scaling", "sqrt_d"}}},
        {"nystrom", {{"landmarks", 4}, {"pinv_iterations", 2}}},  // 4 does not divide T = 9
        {"synthesizer", {{"mode", "dense"}, {"mix_dot_product", true}}},
        {"synthesizer", {{"mode", "factorized_random"}, {"k", 4}}},
    };
    std::vector<int32_t> lengths{9, 5};
    MixContext ctx{&lengths, false, 3, -1};
    for (const auto& entry : cases) {
        const auto& name = entry.first;
        const auto& options = entry.second;
        CAPTURE(name);
        CAPTURE(options.dump());
        Built b(name, options, 16);
        Var x = make_var(random_tensor({2, 9, kDim}, 8, 0.5f), true, "x");
        std::vector<Var> inputs{x};
        for (const auto& p : b.params.all()) inputs.push_back(p.var);
        GradcheckOptions opt;
        opt.max_coords = 16;
        opt.eps = 1e-3;  // keeps the relu kernel and the dense MLP off their kinks
        gradcheck([&](const std::vector<Var>& in) { return b.mixer->forward(in[0], ctx); }, inputs,
                  opt);
        // padding invariance for these options too
        NoGradGuard no_grad;
        Tensor x2 = x->value.clone();
        for (int t = 5; t < 9; ++t)
            for (int c = 0; c < kDim; ++c) x2.data()[(9 + t) * kDim + c] += 3.0f;
        Tensor y1 = b.mixer->forward(make_var(x->value), ctx)->value.clone();
        Tensor y2 = b.mixer->forward(make_var(x2), ctx)->value;
        double worst = 0;
        for (int64_t i = 0; i < 9 * kDim + 5 * kDim; ++i)
            worst = std::max(worst, double(std::fabs(y1.data()[i] - y2.data()[i])));
        CHECK(worst <= 1e-6);
    }
}

TEST_CASE("low-rank variants: bad options fail with a ConfigError naming the option") {
    const std::vector<std::tuple<const char*, nlohmann::json, const char*>> cases = {
        {"linformer", {{"k", 0}}, "model.attention.options.k=0: must be positive"},
        {"performer", {{"features", 0}}, "model.attention.options.features=0: must be positive"},
        {"performer", {{"redraw", -1}}, "model.attention.options.redraw=-1"},
        {"performer", {{"kernel", "cosine"}}, "model.attention.options.kernel"},
        {"nystrom", {{"landmarks", -2}}, "model.attention.options.landmarks=-2"},
        {"synthesizer", {{"mode", "sparse"}}, "model.attention.options.mode"},
        {"synthesizer", {{"mode", "factorized_random"}, {"k", 99}}, "model.attention.options.k=99"},
        {"nystrom", {{"segments", 4}}, "model.attention.options.segments"},
    };
    for (const auto& entry : cases) {
        const char* name = std::get<0>(entry);
        const nlohmann::json& options = std::get<1>(entry);
        const char* message = std::get<2>(entry);
        CAPTURE(name);
        std::string what;
        try {
            Built b(name, options, 16);
        } catch (const ConfigError& e) {
            what = e.what();
        }
        CHECK(what.find(message) != std::string::npos);
        MESSAGE(what);
    }
}

TEST_SUITE_END();
