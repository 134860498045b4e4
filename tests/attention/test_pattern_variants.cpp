// The pattern-based variants (local, sliding, sparse, longformer, bigbird): each pattern against
// the paper's per-element definition, equality with `full` (forward and backward) where the
// pattern selects every key, BigBird's random blocks, and option errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "attention/mixer.h"
#include "attention/pattern_attention.h"
#include "attention/pattern_variants.h"
#include "core/errors.h"
#include "ops/ops.h"
#include "support/gradcheck.h"
#include "support/mixer_spec.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

// allowed[i*T + j] for head h: the pattern's key set of row i, band applied per range.
std::vector<char> expand(const BlockPattern& p, int T, int h) {
    const int heads = p.per_head ? int(p.offsets.size() - 1) / p.num_query_blocks(T) : 1;
    REQUIRE((!p.per_head || h < heads));
    check_block_pattern(p, T, heads);
    std::vector<char> allowed(size_t(T) * T, 0);
    for (int qb = 0; qb < p.num_query_blocks(T); ++qb) {
        const int idx = (p.per_head ? h : 0) * p.num_query_blocks(T) + qb;
        for (int i = p.block_begin(qb); i < p.block_end(qb, T); ++i)
            for (int r = p.offsets[idx]; r < p.offsets[idx + 1]; ++r)
                for (int j = p.ranges[r].first; j < p.ranges[r].second; ++j)
                    if (!p.banded(r) || std::abs(i - j) <= p.band) allowed[size_t(i) * T + j] = 1;
    }
    return allowed;
}

// First (i, j) where the pattern and the definition disagree, or "" if none.
template <class Def>
std::string compare(const BlockPattern& p, int T, int h, Def def) {
    const std::vector<char> allowed = expand(p, T, h);
    for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j)
            if (bool(allowed[size_t(i) * T + j]) != bool(def(i, j)))
                return "i=" + std::to_string(i) + " j=" + std::to_string(j) +
                       " pattern=" + std::to_string(int(allowed[size_t(i) * T + j]));
    return "";
}

// y and the gradients of sum(r·y) w.r.t. x and every parameter, for one variant.
struct MixerRun {
    Tensor y;
    std::vector<Tensor> grads;  // x, then the parameters in order
};

MixerRun run_mixer(const std::string& variant, nlohmann::json options, int T,
                   std::vector<int32_t> lengths) {
    ParameterStore params(17);
    MixerSpec spec = test_mixer_spec(options);
    spec.layer = 1;
    spec.max_len = T;
    std::unique_ptr<Mixer> mixer = find_variant(variant).make(spec, params);
    MixContext ctx{&lengths, true, 3, 0};
    tape().clear();
    Var x = make_var(random_tensor({int64_t(lengths.size()), T, 16}, 23, 0.7f), true, "x");
    Var y = mixer->forward(x, ctx);
    tape().backward(y, random_tensor(y->value.shape(), 29));
    MixerRun run{y->value.clone(), {x->grad.clone()}};
    for (const auto& p : params.all()) run.grads.push_back(p.var->grad.clone());
    tape().clear();
    return run;
}

}  // namespace

TEST_CASE("pattern variants: each pattern is its paper's per-element key set") {
    for (int T : {1, 37, 130}) {
        CAPTURE(T);
        for (int block : {1, 8, 50, 200}) {
            CAPTURE(block);
            CHECK(compare(local_pattern(T, block), T, 0,
                          [&](int i, int j) { return i / block == j / block; }) == "");
        }
        for (int band : {0, 3, 64, 129}) {
            CAPTURE(band);
            CHECK(compare(sliding_pattern(T, band), T, 0,
                          [&](int i, int j) { return std::abs(i - j) <= band; }) == "");
        }
        for (int h = 0; h < 2; ++h) {
            const auto a1 = [](int i, int j) { return i / 16 == j / 16; };
            const auto a2 = [](int, int j) { return j % 16 >= 12; };
            CHECK(compare(fixed_sparse_pattern(T, 2, 16, 4, false), T, h,
                          [&](int i, int j) { return a1(i, j) || a2(i, j); }) == "");
            CHECK(compare(fixed_sparse_pattern(T, 2, 16, 4, true), T, h,
                          [&](int i, int j) { return h == 0 ? a1(i, j) : a2(i, j); }) == "");
        }
        const std::vector<std::vector<int>> globals = {{}, {0}, {0, 1, 2, 40, 63, 64, 129}, {5}};
        for (const auto& g : globals) {
            for (int band : {0, 2, 20}) {
                CAPTURE(band);
                std::vector<char> is_global(T, 0);
                for (int x : g)
                    if (x < T) is_global[x] = 1;
                CHECK(compare(longformer_pattern(T, band, g), T, 0, [&](int i, int j) {
                          return std::abs(i - j) <= band || is_global[i] || is_global[j];
                      }) == "");
            }
        }
    }
}

TEST_CASE("pattern variants: bigbird has window, global and r random blocks per query block") {
    BigBirdOptions o;
    o.block = 8;
    o.seed = 42;
    o.layer = 1;
    const int T = 100, nb = 13, H = 3;  // last block has 4 positions
    const BlockPattern p = bigbird_pattern(T, H, o);
    bool heads_differ = false;
    for (int h = 0; h < H; ++h) {
        const std::vector<char> allowed = expand(p, T, h);
        for (int qb = 0; qb < nb; ++qb) {
            const bool global_row = qb == 0 || qb == nb - 1;
            for (int kb = 0; kb < nb; ++kb) {
                const char a = allowed[size_t(qb * 8) * T + kb * 8];
                // Every row of a query block sees the same key blocks, whole.
                for (int i = qb * 8; i < std::min(T, qb * 8 + 8); ++i)
                    for (int j = kb * 8; j < std::min(T, kb * 8 + 8); ++j)
                        REQUIRE(allowed[size_t(i) * T + j] == a);
            }
            int random = 0;
            for (int kb = 0; kb < nb; ++kb) {
                const bool fixed = global_row || kb == 0 || kb == nb - 1 || std::abs(kb - qb) <= 1;
                const bool a = allowed[size_t(qb * 8) * T + kb * 8];
                if (fixed) CHECK(a);
                if (!fixed && a) ++random;
            }
            if (!global_row)
                CHECK(random == std::min(3, nb - 2 - (qb == 1 || qb == nb - 2 ? 2 : 3)));
        }
        if (h > 0) heads_differ |= expand(p, T, h) != expand(p, T, 0);
    }
    CHECK(heads_differ);
    // A pure function of (seed, layer, head): same options, same pattern; another layer or seed
    // gives other random blocks.
    CHECK(bigbird_pattern(T, H, o).ranges == p.ranges);
    BigBirdOptions other_layer = o;
    other_layer.layer = 2;
    CHECK(bigbird_pattern(T, H, other_layer).ranges != p.ranges);
    BigBirdOptions other_seed = o;
    other_seed.seed = 43;
    CHECK(bigbird_pattern(T, H, other_seed).ranges != p.ranges);
    // style "lra": random blocks only among the first 1024 positions.
    o.lra_random_range = true;
    o.block = 64;
    const BlockPattern lra = bigbird_pattern(4096, 2, o);
    for (int h = 0; h < 2; ++h) {
        const std::vector<char> allowed = expand(lra, 4096, h);
        for (int qb = 20; qb < 60; qb += 13)
            for (int kb = 16; kb < 63; ++kb)
                if (std::abs(kb - qb) > 1) CHECK(allowed[size_t(qb * 64) * 4096 + kb * 64] == 0);
    }
}

TEST_CASE("pattern variants: equal to full attention when the pattern selects every key") {
    struct Case {
        const char* variant;
        nlohmann::json options;
    };
    const std::vector<Case> cases = {
        {"local", {{"block", 70}}},
        {"sliding", {{"window", 138}}},
        {"longformer", {{"window", 138}, {"global_projections", false}}},
        {"longformer", {{"window", 2}, {"global_first", 70}, {"global_projections", false}}},
        {"bigbird", {{"block", 8}, {"random_blocks", 9}}},
        {"bigbird", {{"block", 16}, {"random_blocks", 1}, {"window_blocks", 3}}},  // 5 blocks
        {"sparse", {{"block", 8}, {"summary", 8}}},
        {"sparse", {{"block", 70}, {"summary", 1}}},
    };
    const std::vector<int32_t> lengths{70, 33};
    const MixerRun full = run_mixer("full", nlohmann::json::object(), 70, lengths);
    for (const Case& c : cases) {
        CAPTURE(c.variant);
        CAPTURE(c.options.dump());
        const MixerRun run = run_mixer(c.variant, c.options, 70, lengths);
        CHECK(max_abs_diff(run.y, full.y) < 1e-5);
        REQUIRE(run.grads.size() == full.grads.size());
        for (size_t g = 0; g < run.grads.size(); ++g) {
            CAPTURE(g);
            CHECK(max_abs_diff(run.grads[g], full.grads[g]) < 1e-4);
        }
    }
    // And not equal when the pattern leaves keys out (the comparison can fail).
    const MixerRun local = run_mixer("local", {{"block", 16}}, 70, lengths);
    CHECK(max_abs_diff(local.y, full.y) > 1e-3);
}

TEST_CASE("pattern variants: bad options name the option") {
    struct Case {
        const char* variant;
        nlohmann::json options;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"local", {{"block", 0}}, "model.attention.options.block=0: must be positive"},
        {"local", {{"blocks", 4}}, "blocks"},
        {"sliding", {{"window", 5}}, "model.attention.options.window=5: must be even"},
        {"sliding", {{"window", 0}}, "model.attention.options.window=0: must be at least 2"},
        {"longformer", {{"global_tokens", {0, -3}}}, "global_tokens: position -3 is negative"},
        {"longformer", {{"global_first", -1}}, "global_first=-1: must be at least 0"},
        {"bigbird", {{"window_blocks", 2}}, "window_blocks=2: must be odd"},
        {"bigbird", {{"random_blocks", -1}}, "random_blocks=-1: must be at least 0"},
        {"bigbird", {{"style", "hf"}}, "style: unknown value 'hf'"},
        {"sparse", {{"summary", 9}, {"block", 8}}, "summary=9: must be at most block=8"},
        {"sparse", {{"heads", "split"}}, "\"split\" needs at least 2 heads"},
        {"sparse", {{"pattern", "strided"}, {"heads", "merged"}}, "only offered with \"split\""},
    };
    for (const Case& c : cases) {
        CAPTURE(c.variant);
        CAPTURE(c.options.dump());
        ParameterStore params(1);
        MixerSpec spec = test_mixer_spec(c.options);
        spec.heads = 1;
        spec.max_len = 32;
        std::string message;
        try {
            find_variant(c.variant).make(spec, params);
        } catch (const ConfigError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(message.find(c.message) != std::string::npos);
    }
}

TEST_CASE("pattern variants: gradients and padding invariance with patterns that drop keys") {
    struct Case {
        const char* variant;
        nlohmann::json options;
    };
    const std::vector<Case> cases = {
        {"local", {{"block", 3}}},
        {"sliding", {{"window", 4}}},
        {"sparse", {{"block", 4}, {"summary", 1}}},
        {"sparse", {{"block", 4}, {"summary", 2}, {"heads", "split"}}},
        {"sparse", {{"pattern", "strided"}, {"block", 3}}},
        {"longformer", {{"window", 2}, {"global_tokens", {0, 6}}}},
        {"longformer", {{"window", 2}, {"global_tokens", {3}}, {"global_projections", false}}},
        {"bigbird", {{"block", 2}, {"random_blocks", 1}, {"window_blocks", 1}}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.variant);
        CAPTURE(c.options.dump());
        ParameterStore params(11);
        const MixerSpec spec = test_mixer_spec(c.options);
        std::unique_ptr<Mixer> mixer = find_variant(c.variant).make(spec, params);
        std::vector<int32_t> lengths{11, 7};
        MixContext ctx{&lengths, false, 3, -1};
        Var x = make_var(random_tensor({2, 11, 16}, 21, 0.5f), true, "x");
        std::vector<Var> inputs{x};
        for (const auto& p : params.all()) inputs.push_back(p.var);
        GradcheckOptions opt;
        opt.max_coords = 24;
        tape().clear();
        gradcheck([&](const std::vector<Var>& in) { return mixer->forward(in[0], ctx); }, inputs,
                  opt);
        tape().clear();
        NoGradGuard no_grad;
        Tensor x2 = x->value.clone();
        for (int t = 7; t < 11; ++t)
            for (int k = 0; k < 16; ++k) x2.data()[(11 + t) * 16 + k] -= 2.0f;
        const Tensor y1 = mixer->forward(x, ctx)->value.clone();
        const Tensor y2 = mixer->forward(make_var(x2), ctx)->value;
        double worst = 0.0;
        for (int b = 0; b < 2; ++b)
            for (int t = 0; t < lengths[b]; ++t)
                for (int k = 0; k < 16; ++k) {
                    const int64_t i = (b * 11 + t) * 16 + k;
                    worst = std::max(worst, double(std::fabs(y1.data()[i] - y2.data()[i])));
                }
        CHECK(worst == 0.0);
    }
}

TEST_CASE("pattern variants: longformer global projections act on global rows only") {
    ParameterStore params(3);
    const nlohmann::json options = {{"window", 4}, {"global_tokens", {0, 5, 6}}};
    const MixerSpec spec = test_mixer_spec(options);
    std::unique_ptr<Mixer> mixer = find_variant("longformer").make(spec, params);
    std::vector<int32_t> lengths{12};
    MixContext ctx{&lengths, false, 3, -1};
    NoGradGuard no_grad;
    Var x = make_var(random_tensor({1, 12, 16}, 5, 0.5f));
    const Tensor y1 = mixer->forward(x, ctx)->value.clone();
    bool found = false;
    for (const auto& p : params.all()) {
        if (p.var->name != "mixer.qkv_global.weight") continue;
        found = true;
        for (int64_t i = 0; i < p.var->value.numel(); ++i) p.var->value.data()[i] *= 1.5f;
    }
    REQUIRE(found);
    const Tensor y2 = mixer->forward(x, ctx)->value;
    for (int t = 0; t < 12; ++t) {
        CAPTURE(t);
        double diff = 0.0;
        for (int c = 0; c < 16; ++c)
            diff = std::max(diff, double(std::fabs(y1.data()[t * 16 + c] - y2.data()[t * 16 + c])));
        if (t == 0 || t == 5 || t == 6)
            CHECK(diff > 1e-4);
        else
            CHECK(diff == 0.0);
    }
}

TEST_CASE("pattern variants: sparse strided (split heads) matches the naive reference") {
    // Even heads: |i - j| <= l; odd heads: (i - j) mod l = 0. The reference uses a per-row
    // pattern (query blocks of one row) that spells out each row's keys.
    const int B = 2, T = 23, H = 3, D = 8, C = H * D, l = 4;
    BlockPattern ref;
    ref.query_block = 1;
    ref.per_head = true;
    ref.offsets.push_back(0);
    for (int h = 0; h < H; ++h)
        for (int i = 0; i < T; ++i) {
            if (h % 2 == 0) {
                ref.ranges.push_back({std::max(0, i - l), std::min(T, i + l + 1)});
            } else {
                for (int j = i % l; j < T; j += l) ref.ranges.push_back({j, j + 1});
            }
            ref.offsets.push_back(int32_t(ref.ranges.size()));
        }
    std::vector<int32_t> lengths{T, 13};
    MixContext ctx{&lengths, false, 3, -1};
    Var qkv = make_var(random_tensor({B, T, 3 * C}, 77, 1.0f), true, "qkv");
    const Tensor cotangent = random_tensor({B, T, C}, 78);
    PatternAttention local(0.0f, 0, [](int t, int h) { return strided_local_pattern(t, h, l); });
    tape().clear();
    Var out = add(local.attend(qkv, H, ctx), strided_attention_op(qkv, H, ctx, 0.0f, 0, l));
    tape().backward(out, cotangent);

    AttentionParams params;
    params.scale = 1.0f / std::sqrt(float(D));
    const AttentionDims dims{B, T, H, D};
    std::vector<double> x(qkv->value.data(), qkv->value.data() + qkv->value.numel());
    std::vector<double> dout(cotangent.data(), cotangent.data() + cotangent.numel());
    std::vector<double> o(size_t(B) * T * C), lse(size_t(B) * H * T), grad(x.size(), 0.0);
    block_attention_forward_naive(o.data(), C, lse.data(), x.data(), x.data() + C, x.data() + 2 * C,
                                  3 * C, lengths.data(), dims, params, &ref);
    block_attention_backward_naive(grad.data(), grad.data() + C, grad.data() + 2 * C, 3 * C,
                                   dout.data(), C, x.data(), x.data() + C, x.data() + 2 * C, 3 * C,
                                   lengths.data(), dims, params, &ref);
    CHECK(max_abs_diff(out->value, o) < 2e-5);
    CHECK(max_abs_diff(qkv->grad, grad) < 2e-5);
    tape().clear();
}

TEST_SUITE_END();
