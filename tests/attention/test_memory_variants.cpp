// Variant-specific properties of the memory variants (compressed, axial, isab, luna): equality
// with `full` in their exact limits (forward and backward, with padding), gradients and padding
// invariance with non-default options, and option errors that name the option.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "attention/mixer.h"
#include "core/errors.h"
#include "ops/ops.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int kDim = 16, kHeads = 2;

MixerSpec memory_spec(nlohmann::json options, int max_len) {
    MixerSpec spec;
    spec.dim = kDim;
    spec.heads = kHeads;
    spec.layer = 0;
    spec.max_len = max_len;
    spec.attention_dropout = 0.0f;
    spec.seed = 5;
    spec.options = std::move(options);
    spec.prefix = "mixer.";
    return spec;
}

struct Built {
    ParameterStore params{11};
    std::unique_ptr<Mixer> mixer;
    Built(const char* name, nlohmann::json options, int max_len) {
        mixer = find_variant(name).make(memory_spec(std::move(options), max_len), params);
    }
    Tensor& param(const std::string& name) const {
        for (const auto& p : params.all())
            if (p.var->name == name) return p.var->value;
        FAIL("no parameter " << name);
        throw std::logic_error("unreachable");
    }
};

// Output and input gradient of a mixer for input x and cotangent r.
std::pair<Tensor, Tensor> run(Built& b, const Tensor& x, const Tensor& r, const MixContext& ctx) {
    return mixer_forward_backward(*b.mixer, x, r, ctx);
}

// Rows [first, first + rows) of w (R, cols) into dst (rows, cols).
void copy_rows(Tensor& dst, const Tensor& w, int64_t first) {
    const int64_t n = dst.numel();
    std::copy_n(w.data() + first * w.dim(1), n, dst.data());
}

// Gives a mixer with separate q / kv projections named `name` the projections of `full`.
void copy_full_projections(const Built& full, Built& to, const std::string& name) {
    const std::string p = "mixer." + name + ".";
    copy_rows(to.param(p + "q.weight"), full.param("mixer.qkv.weight"), 0);
    copy_rows(to.param(p + "kv.weight"), full.param("mixer.qkv.weight"), kDim);
    std::copy_n(full.param("mixer.qkv.bias").data(), kDim, to.param(p + "q.bias").data());
    std::copy_n(full.param("mixer.qkv.bias").data() + kDim, 2 * kDim,
                to.param(p + "kv.bias").data());
    to.param(p + "out.weight").copy_from(full.param("mixer.out.weight"));
    to.param(p + "out.bias").copy_from(full.param("mixer.out.bias"));
}

void set_identity(Tensor& w) {
    w.zero();
    for (int64_t i = 0; i < std::min(w.dim(0), w.dim(1)); ++i) w.data()[i * w.dim(1) + i] = 1;
}

}  // namespace

TEST_CASE("compressed: c = 1 with identity convolutions equals full attention") {
    const int T = 10;
    std::vector<int32_t> lengths{T, 6, 0};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    Built comp("compressed", {{"c", 1}}, T);
    copy_full_projections(full, comp, "attention");
    set_identity(comp.param("mixer.compress.k.weight"));
    set_identity(comp.param("mixer.compress.v.weight"));
    const Tensor x = random_tensor({3, T, kDim}, 1), r = random_tensor({3, T, kDim}, 2);
    auto [y_full, dx_full] = run(full, x, r, ctx);
    auto [y_comp, dx_comp] = run(comp, x, r, ctx);
    CHECK(max_abs_diff(y_comp, y_full) < 1e-5);
    CHECK(max_abs_diff(dx_comp, dx_full) < 1e-5);
    // c = 2 with the same weights is a different mechanism: the test can tell them apart.
    Built comp2("compressed", {{"c", 2}}, T);
    copy_full_projections(full, comp2, "attention");
    auto [y_comp2, dx_comp2] = run(comp2, x, r, ctx);
    CHECK(max_abs_diff_valid(y_comp2, y_full, lengths) > 1e-3);
}

TEST_CASE("compressed: a window that is partly padding is a key; its padded part is not") {
    // lengths 7, c = 3: windows [0, 3), [3, 6), [6, 9). Position 6 alone makes the third key,
    // so changing it changes the outputs of queries 0-5 (their own inputs unchanged).
    const int T = 9;
    std::vector<int32_t> lengths{7};
    MixContext ctx{&lengths, false, 3, -1};
    Built comp("compressed", {{"c", 3}}, T);
    NoGradGuard no_grad;
    const Tensor x = random_tensor({1, T, kDim}, 3);
    const Tensor y = comp.mixer->forward(make_var(x), ctx)->value.clone();
    Tensor x_valid = x.clone();
    for (int c = 0; c < kDim; ++c) x_valid.data()[6 * kDim + c] += 1.0f;
    const std::vector<int32_t> first_six{6};
    CHECK(max_abs_diff_valid(comp.mixer->forward(make_var(x_valid), ctx)->value, y, first_six) >
          1e-4);
}

TEST_CASE("axial: a 1 x T grid equals full attention, forward and backward") {
    const int T = 12;
    std::vector<int32_t> lengths{T, 7, 0};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    for (int width : {T, 40}) {
        CAPTURE(width);
        Built axial("axial", {{"width", width}}, T);
        for (const char* n :
             {"mixer.qkv.weight", "mixer.qkv.bias", "mixer.out.weight", "mixer.out.bias"})
            axial.param(n).copy_from(full.param(n));
        const Tensor x = random_tensor({3, T, kDim}, 4), r = random_tensor({3, T, kDim}, 5);
        auto [y_full, dx_full] = run(full, x, r, ctx);
        auto [y_ax, dx_ax] = run(axial, x, r, ctx);
        CHECK(max_abs_diff(y_ax, y_full) < 1e-5);
        CHECK(max_abs_diff(dx_ax, dx_full) < 1e-5);
    }
}

TEST_CASE("axial: a position reaches its row directly and every position in two hops") {
    // 3 x 4 grid: position 0 (row 0, column 0) depends on every valid position, through its row
    // (positions 1-3) and its column (4, 8), whose row outputs carry the rest.
    const int T = 12;
    std::vector<int32_t> lengths{T};
    MixContext ctx{&lengths, false, 3, -1};
    Built axial("axial", {{"width", 4}}, T);
    Built local("local", {{"block", 4}}, T);  // rows alone: position 0 sees only 0-3
    const Tensor x = random_tensor({1, T, kDim}, 6);
    for (int64_t t = 1; t < T; ++t) {
        CAPTURE(t);
        tape().clear();
        Var xv = make_var(x.clone(), true, "x");
        Var y = axial.mixer->forward(xv, ctx);
        Tensor r = Tensor::zeros(y->value.shape());
        r.data()[0] = 1.0f;  // d y[0, 0, 0] / d x[t]
        tape().backward(y, r);
        double g = 0;
        for (int c = 0; c < kDim; ++c)
            g = std::max(g, double(std::fabs(xv->grad.data()[t * kDim + c])));
        CHECK(g > 1e-6);
    }
    tape().clear();
}

TEST_CASE("memory variants: gradients and padding invariance with non-default options") {
    struct Case {
        const char* variant;
        nlohmann::json options;
    };
    const std::vector<Case> cases = {
        {"compressed", {{"c", 3}}}, {"compressed", {{"c", 2}}},  {"axial", {{"width", 3}}},
        {"axial", {{"width", 4}}},  {"isab", {{"inducing", 3}}}, {"luna", {{"length", 3}}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.variant);
        CAPTURE(c.options.dump());
        Built b(c.variant, c.options, 16);
        std::vector<int32_t> lengths{11, 7, 1};
        MixContext ctx{&lengths, false, 3, -1};
        Var x = make_var(random_tensor({3, 11, kDim}, 21, 0.5f), true, "x");
        std::vector<Var> inputs{x};
        for (const auto& p : b.params.all()) inputs.push_back(p.var);
        GradcheckOptions opt;
        opt.max_coords = 24;
        tape().clear();
        gradcheck([&](const std::vector<Var>& in) { return b.mixer->forward(in[0], ctx); }, inputs,
                  opt);
        tape().clear();
        NoGradGuard no_grad;
        Tensor x2 = x->value.clone();
        for (size_t r = 0; r < lengths.size(); ++r)
            for (int t = lengths[r]; t < 11; ++t)
                for (int k = 0; k < kDim; ++k) x2.data()[(int64_t(r) * 11 + t) * kDim + k] -= 2.0f;
        const Tensor y1 = b.mixer->forward(x, ctx)->value.clone();
        const Tensor y2 = b.mixer->forward(make_var(x2), ctx)->value;
        CHECK(max_abs_diff_valid(y1, y2, lengths) == 0.0);
    }
}

TEST_CASE("luna: the packed sequence is carried from layer to layer") {
    // Two luna layers as in an encoder: layer 1 has no initial P of its own and packs the P + Yp
    // that layer 0 carried. Checked: the carried tensor, gradients through the carry into
    // layer 0's parameters (finite differences), and padding invariance of the two-layer map.
    ParameterStore params(13);
    MixerSpec spec0 = memory_spec({{"length", 3}}, 16), spec1 = spec0;
    spec1.layer = 1;
    spec1.prefix = "mixer1.";
    std::unique_ptr<Mixer> layer0 = find_variant("luna").make(spec0, params);
    std::unique_ptr<Mixer> layer1 = find_variant("luna").make(spec1, params);
    int owned = 0;  // initial P: layer 0 only
    for (const auto& p : params.all())
        owned += p.var->name.find("packed") != std::string::npos &&
                 p.var->name.find("_ln") == std::string::npos;
    CHECK(owned == 1);
    std::vector<int32_t> lengths{9, 4};
    auto two_layers = [&](const Var& x) -> Var {
        Var carried;
        MixContext ctx{&lengths, false, 3, -1, &carried};
        Var y0 = layer0->forward(x, ctx);
        REQUIRE(carried);
        CHECK(carried->value.shape() == Shape{2, 3, kDim});
        return add(y0, layer1->forward(x, ctx));
    };
    Var x = make_var(random_tensor({2, 9, kDim}, 8, 0.5f), true, "x");
    std::vector<Var> inputs{x};
    for (const auto& p : params.all())
        if (p.var->name.rfind("mixer.pack.", 0) == 0 || p.var->name == "mixer.packed")
            inputs.push_back(p.var);  // layer 0's pack: reaches layer 1 only through the carry
    GradcheckOptions opt;
    opt.max_coords = 24;
    tape().clear();
    gradcheck([&](const std::vector<Var>& in) { return two_layers(in[0]); }, inputs, opt);
    tape().clear();
    NoGradGuard no_grad;
    Tensor x2 = x->value.clone();
    for (int t = 4; t < 9; ++t)
        for (int k = 0; k < kDim; ++k) x2.data()[(9 + t) * kDim + k] += 3.0f;
    CHECK(max_abs_diff_valid(two_layers(x)->value, two_layers(make_var(x2))->value, lengths) ==
          0.0);
    // The carried sequence is packed from the valid tokens: it follows them, not the padding.
    auto carried_after_layer0 = [&](const Tensor& input) {
        Var c;
        MixContext ctx{&lengths, false, 3, -1, &c};
        layer0->forward(make_var(input), ctx);
        return c->value.clone();
    };
    Tensor x3 = x->value.clone();
    x3.data()[2 * kDim] += 1.0f;  // a valid token of row 0
    const Tensor carried_x = carried_after_layer0(x->value);
    CHECK(max_abs_diff(carried_after_layer0(x2), carried_x) == 0.0);
    CHECK(max_abs_diff(carried_after_layer0(x3), carried_x) > 1e-4);
    // Without the carry, layer 1 would see nothing of layer 0: the carry changes its output.
    Var carried;
    MixContext with{&lengths, false, 3, -1, &carried};
    layer0->forward(x, with);
    const Tensor y1 = layer1->forward(x, with)->value.clone();
    carried->value.fill(0.0f);
    CHECK(max_abs_diff(layer1->forward(x, with)->value, y1) > 1e-4);
}

TEST_CASE("memory variants: bad options name the option and the valid range") {
    struct Case {
        const char* variant;
        nlohmann::json options;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"compressed", {{"c", 0}}, "model.attention.options.c=0: must be positive"},
        {"compressed", {{"c", "x"}}, "model.attention.options.c: expected an integer"},
        {"compressed", {{"k", 3}}, "model.attention.options.k: unknown key"},
        {"axial", {{"width", -1}}, "model.attention.options.width=-1: must be positive"},
        {"axial", {{"rows", 4}}, "model.attention.options.rows: unknown key"},
        {"isab", {{"inducing", 0}}, "model.attention.options.inducing=0: must be positive"},
        {"isab", {{"m", 4}}, "model.attention.options.m: unknown key"},
        {"luna", {{"length", -3}}, "model.attention.options.length=-3: must be positive"},
        {"luna", {{"length", 2.5}}, "model.attention.options.length: expected an integer"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.variant);
        ParameterStore params(1);
        std::string message;
        try {
            find_variant(c.variant).make(memory_spec(c.options, 16), params);
        } catch (const ConfigError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(message.find(c.message) != std::string::npos);
    }
}

TEST_SUITE_END();
