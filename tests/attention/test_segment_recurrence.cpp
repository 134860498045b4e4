// `xl` and `compressive` against a double-precision naive reference written from the
// definitions (Dai et al. 2019 §3.3, Rae et al. 2020 §3): with one segment covering the sequence
// both equal full attention with relative-position logits, forward and backward (every input
// and parameter, by central differences of the reference); with several segments, memory and
// compressed memory the same, with the memory read from a frozen copy of the input
// (stop-gradient). Also: the memory passes no gradient to the input although the output depends
// on it, u, v, W_r and the compression receive gradient, zero relative terms give `full`, and
// option errors name the option.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "attention/mixer.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int64_t kC = BuiltMixer::kDim, kH = BuiltMixer::kHeads, kD = kC / kH;

std::vector<double> to_double(const Tensor& t) {
    return std::vector<double>(t.data(), t.data() + t.numel());
}

struct Layout {
    int64_t segment, memory = 0, compressed = 0, rate = 1;
    bool mean = false;   // compression by mean pooling instead of the learned convolution
    bool whole = false;  // one attention over every valid position (the exact limit)
};

// A key of a query: its source (0 the input, 1 the memory's frozen input, 2 a compressed slot),
// the row (position or slot) and the relative offset of the pair.
struct Key {
    int kind;
    int64_t row, rel;
};

struct Naive {
    std::map<std::string, std::vector<double>> p;  // parameters by name without "mixer."
    std::vector<double> x, x_mem;                  // (B, T, C): queries' input, memory's input
    int64_t B, T;
    std::vector<int32_t> lengths;
    Layout lay;

    std::vector<Key> keys(int64_t b, int64_t i) const {
        std::vector<Key> ks;
        const int64_t len = lengths[size_t(b)];
        if (lay.whole) {
            for (int64_t j = 0; j < len; ++j) ks.push_back({0, j, i - j});
            return ks;
        }
        const int64_t S = lay.segment, g = i / S;
        const int64_t per = lay.compressed ? S / lay.rate : 0, slots = lay.compressed * per;
        // The compressed slots sit just before the memory, one position each.
        for (int64_t t = 0; t < slots; ++t) {
            const int64_t w = (g - lay.memory - lay.compressed) * per + t;
            if (w >= 0) ks.push_back({2, w, i - ((g - lay.memory) * S - slots + t)});
        }
        for (int64_t j = std::max<int64_t>(0, (g - lay.memory) * S); j < std::min(len, (g + 1) * S);
             ++j)
            ks.push_back({j < g * S ? 1 : 0, j, i - j});
        return ks;
    }
    // y (out) = W x + bias for W (out, in)
    static std::vector<double> affine(const std::vector<double>& w, const std::vector<double>* bias,
                                      const double* x, int64_t in) {
        const int64_t out = int64_t(w.size()) / in;
        std::vector<double> y(static_cast<size_t>(out), 0.0);
        for (int64_t o = 0; o < out; ++o) {
            double acc = bias ? (*bias)[size_t(o)] : 0.0;
            for (int64_t k = 0; k < in; ++k) acc += w[size_t(o * in + k)] * x[k];
            y[size_t(o)] = acc;
        }
        return y;
    }
    const std::vector<double>& P(const std::string& n) const { return p.at(n); }
    std::vector<double> kv_of(const double* row) const {
        return affine(P("attention.kv.weight"), &P("attention.kv.bias"), row, kC);
    }
    // Relative key W_r R(rel), R(rel) = [sin(rel·f_k); cos(rel·f_k)], f_k = 10000^(−2k/C).
    std::vector<double> rel_key(int64_t rel) const {
        std::vector<double> r(static_cast<size_t>(kC), 0.0);
        for (int64_t k = 0; k < kC / 2; ++k) {
            const double f = std::pow(10000.0, -2.0 * double(k) / double(kC));
            r[size_t(k)] = std::sin(double(rel) * f);
            r[size_t(kC / 2 + k)] = std::cos(double(rel) * f);
        }
        return affine(P("xl.r.weight"), nullptr, r.data(), kC);
    }
    std::vector<double> compressed_kv(int64_t b, int64_t w) const {
        const int64_t c = lay.rate;
        std::vector<double> window(x_mem.begin() + (b * T + w * c) * kC,
                                   x_mem.begin() + (b * T + (w + 1) * c) * kC);
        std::vector<double> h(size_t(kC), 0.0);
        if (lay.mean) {
            for (int64_t t = 0; t < c; ++t)
                for (int64_t ch = 0; ch < kC; ++ch)
                    h[size_t(ch)] += window[size_t(t * kC + ch)] / c;
        } else {
            h = affine(P("compress.weight"), &P("compress.bias"), window.data(), c * kC);
        }
        return kv_of(h.data());
    }

    // (B, T, C): the mixer's output; padded rows are the output bias.
    std::vector<double> forward() const {
        std::vector<double> out(size_t(B * T * kC));
        const double scale = 1.0 / std::sqrt(double(kD));
        const std::vector<double>&u = P("xl.u"), &v = P("xl.v");
        // Keys and values of every row of both inputs, every compressed slot (kind 2) and every
        // relative offset that occurs, computed once.
        std::map<std::pair<int, int64_t>, std::vector<double>> kvs;  // (kind, b·T + row)
        std::map<int64_t, std::vector<double>> rks;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < lengths[size_t(b)]; ++i)
                for (const Key& k : keys(b, i)) {
                    const auto id = std::make_pair(k.kind, b * T + k.row);
                    if (!kvs.count(id))
                        kvs[id] =
                            k.kind == 2
                                ? compressed_kv(b, k.row)
                                : kv_of((k.kind == 0 ? x : x_mem).data() + (b * T + k.row) * kC);
                    if (!rks.count(k.rel)) rks[k.rel] = rel_key(k.rel);
                }
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < T; ++i) {
                std::vector<double> o(size_t(kC), 0.0);
                if (i < lengths[size_t(b)]) {
                    const std::vector<double> q =
                        affine(P("attention.q.weight"), &P("attention.q.bias"),
                               x.data() + (b * T + i) * kC, kC);
                    const std::vector<Key> ks = keys(b, i);
                    for (int64_t h = 0; h < kH; ++h) {
                        std::vector<double> logit(ks.size());
                        double m = -1e300, sum = 0;
                        for (size_t j = 0; j < ks.size(); ++j) {
                            const std::vector<double>& kv = kvs.at({ks[j].kind, b * T + ks[j].row});
                            const std::vector<double>& rk = rks.at(ks[j].rel);
                            double acc = 0;
                            for (int64_t d = h * kD; d < (h + 1) * kD; ++d)
                                acc += (q[size_t(d)] + u[size_t(d)]) * kv[size_t(d)] +
                                       (q[size_t(d)] + v[size_t(d)]) * rk[size_t(d)];
                            logit[j] = scale * acc;
                            m = std::max(m, logit[j]);
                        }
                        for (double& l : logit) sum += l = std::exp(l - m);
                        for (size_t j = 0; j < ks.size(); ++j) {
                            const std::vector<double>& kv = kvs.at({ks[j].kind, b * T + ks[j].row});
                            for (int64_t d = h * kD; d < (h + 1) * kD; ++d)
                                o[size_t(d)] += logit[j] / sum * kv[size_t(kC + d)];
                        }
                    }
                }
                const std::vector<double> y =
                    affine(P("attention.out.weight"), &P("attention.out.bias"), o.data(), kC);
                std::copy(y.begin(), y.end(), out.begin() + (b * T + i) * kC);
            }
        return out;
    }
};

// Builds the variant with random parameters, runs it forward and backward (cotangent r) and
// compares the output with the naive reference and every gradient with central differences of
// the reference's loss Σ r·y; the input's differences perturb only the queries' copy, so the
// memory is stop-gradient in the reference too.
void check_against_naive(const char* variant, const nlohmann::json& options, const Layout& lay,
                         int64_t T, const std::vector<int32_t>& lengths) {
    const int64_t B = int64_t(lengths.size());
    BuiltMixer m(variant, options, int(T));
    uint64_t seed = 100;
    for (const auto& p : m.params.all()) {
        p.var->value.copy_from(random_tensor(p.var->value.shape(), seed++, 0.3f));
        p.var->grad_buffer().zero();
    }
    std::vector<int32_t> lens = lengths;
    MixContext ctx{&lens, false, 3, -1};
    const Tensor x = random_tensor({B, T, kC}, 1, 0.7f), r = random_tensor({B, T, kC}, 2);
    tape().clear();
    Var xv = make_var(x.clone(), true, "x");
    Var y = m.mixer->forward(xv, ctx);
    tape().backward(y, r);

    Naive n;
    for (const auto& p : m.params.all()) n.p[p.var->name.substr(6)] = to_double(p.var->value);
    n.x = n.x_mem = to_double(x);
    n.B = B, n.T = T, n.lengths = lengths, n.lay = lay;
    CHECK(max_abs_diff(y->value, n.forward()) < 2e-5);
    const std::vector<double> rd = to_double(r);
    auto loss = [&](const std::vector<double>&) {
        const std::vector<double> o = n.forward();
        double acc = 0;
        for (size_t i = 0; i < o.size(); ++i) acc += o[i] * rd[i];
        return acc;
    };
    DoubleFdResult fd = worst_central_difference(n.x, loss, to_double(xv->grad), 1e-5);
    CAPTURE(fd.at);
    CHECK(fd.worst < 1e-4);
    for (const auto& p : m.params.all()) {
        CAPTURE(p.var->name);
        // Every third coordinate of the weight matrices (all of the vectors) keeps the test fast.
        const bool matrix = p.var->value.shape().ndim == 2;
        fd = worst_central_difference(n.p[p.var->name.substr(6)], loss, to_double(p.var->grad),
                                      1e-5, [&](size_t i) { return matrix && i % 3 != 0; });
        CAPTURE(fd.at);
        CHECK(fd.worst < 1e-4);
    }
    tape().clear();
}

}  // namespace

TEST_CASE("xl: one segment covering the sequence equals full attention with relative positions") {
    const int64_t T = 12;
    for (int segment : {12, 16}) {
        CAPTURE(segment);
        Layout whole{segment};
        whole.whole = true;
        check_against_naive("xl", {{"segment", segment}}, whole, T, {12, 7});
        check_against_naive("compressive", {{"segment", segment}, {"rate", 4}}, whole, T, {12, 7});
    }
}

TEST_CASE("xl: several segments attend to the stop-gradient memory as the naive reference") {
    for (int memory : {1, 2}) {
        CAPTURE(memory);
        Layout lay{4, memory};
        check_against_naive("xl", {{"segment", 4}, {"memory", memory}}, lay, 12, {12, 7});
    }
    Layout none{4, 0};
    check_against_naive("xl", {{"segment", 4}, {"memory", 0}}, none, 10, {10, 5});
}

// Rows of 40 keys take the kernels' full-vector passes (16 or 8 lanes) and their tails.
TEST_CASE("xl, compressive: segments longer than a SIMD vector, as the naive reference") {
    Layout lay{20, 1};
    check_against_naive("xl", {{"segment", 20}, {"memory", 1}}, lay, 45, {45, 31});
    Layout slots{20, 1, 1, 4};
    check_against_naive(
        "compressive",
        {{"segment", 20}, {"memory", 1}, {"compressed", 1}, {"rate", 4}, {"compression", "conv"}},
        slots, 45, {45, 31});
}

TEST_CASE("compressive: compressed memory of older segments as the naive reference") {
    for (const char* fn : {"conv", "mean"}) {
        CAPTURE(fn);
        Layout lay{4, 1, 1, 2};
        lay.mean = std::string(fn) == "mean";
        check_against_naive(
            "compressive",
            {{"segment", 4}, {"memory", 1}, {"compressed", 1}, {"rate", 2}, {"compression", fn}},
            lay, 14, {14, 9});
        Layout two{3, 1, 2, 3};
        two.mean = lay.mean;
        check_against_naive(
            "compressive",
            {{"segment", 3}, {"memory", 1}, {"compressed", 2}, {"rate", 3}, {"compression", fn}},
            two, 13, {13, 10});
    }
}

TEST_CASE("xl: the memory passes no gradient to the input; u, v, W_r and the compression train") {
    const int64_t T = 8;
    std::vector<int32_t> lengths{8, 8};
    MixContext ctx{&lengths, false, 3, -1};
    for (const char* variant : {"xl", "compressive"}) {
        CAPTURE(variant);
        const bool comp = std::string(variant) == "compressive";
        // compressive: segments of 2, one memory segment, then two compressed segments.
        nlohmann::json options = {{"segment", comp ? 2 : 4}, {"memory", 1}};
        if (comp) options["rate"] = 2, options["compressed"] = 2;
        const int64_t S = comp ? 2 : 4;
        BuiltMixer m(variant, options, int(T));
        // The loss reads the last segment only; the rows before it reach it only as memory.
        Tensor x = random_tensor({2, T, kC}, 1), r = random_tensor({2, T, kC}, 2);
        for (int64_t b = 0; b < 2; ++b)
            for (int64_t t = 0; t < T - S; ++t)
                for (int64_t c = 0; c < kC; ++c) r.data()[(b * T + t) * kC + c] = 0.0f;
        for (const auto& p : m.params.all()) p.var->grad_buffer().zero();
        auto [y, dx] = mixer_forward_backward(*m.mixer, x, r, ctx);
        Tensor x2 = x.clone();
        for (int64_t c = 0; c < kC; ++c) x2.data()[c] += 1.0f;  // row 0 of example 0
        auto [y2, dx2] = mixer_forward_backward(*m.mixer, x2, r, ctx);
        double changed = 0, before = 0, last = 0;
        for (int64_t t = 0; t < T; ++t)
            for (int64_t c = 0; c < kC; ++c) {
                const int64_t i = t * kC + c;
                if (t >= T - S)
                    changed = std::max(changed, double(std::fabs(y2.data()[i] - y.data()[i])));
                (t < T - S ? before : last) =
                    std::max(t < T - S ? before : last, double(std::fabs(dx.data()[i])));
            }
        CHECK(changed > 1e-3);  // the last segment's output depends on row 0 ...
        CHECK(before == 0.0);   // ... which receives no gradient
        CHECK(last > 1e-3);
        std::vector<std::string> trained{"mixer.xl.u", "mixer.xl.v", "mixer.xl.r.weight",
                                         "mixer.attention.kv.weight"};
        if (comp) trained.push_back("mixer.compress.weight");
        for (const std::string& name : trained) {
            CAPTURE(name);
            double norm = 0;
            const Tensor& g = m.param(name)->grad;
            for (int64_t i = 0; i < g.numel(); ++i) norm += std::fabs(g.data()[i]);
            CHECK(norm > 1e-4);
        }
    }
}

TEST_CASE("xl: with zero relative terms and one segment it is `full`") {
    const int64_t T = 10;
    std::vector<int32_t> lengths{10, 6};
    MixContext ctx{&lengths, false, 3, -1};
    BuiltMixer full("full", nlohmann::json::object(), int(T)), xl("xl", {{"segment", 16}}, int(T));
    const Tensor& qkv_w = full.param("mixer.qkv.weight")->value;
    const Tensor& qkv_b = full.param("mixer.qkv.bias")->value;
    std::copy(qkv_w.data(), qkv_w.data() + kC * kC,
              xl.param("mixer.attention.q.weight")->value.data());
    std::copy(qkv_w.data() + kC * kC, qkv_w.data() + 3 * kC * kC,
              xl.param("mixer.attention.kv.weight")->value.data());
    std::copy(qkv_b.data(), qkv_b.data() + kC, xl.param("mixer.attention.q.bias")->value.data());
    std::copy(qkv_b.data() + kC, qkv_b.data() + 3 * kC,
              xl.param("mixer.attention.kv.bias")->value.data());
    xl.param("mixer.attention.out.weight")->value.copy_from(full.param("mixer.out.weight")->value);
    xl.param("mixer.attention.out.bias")->value.copy_from(full.param("mixer.out.bias")->value);
    for (const char* n : {"mixer.xl.u", "mixer.xl.v", "mixer.xl.r.weight"})
        xl.param(n)->value.zero();
    const Tensor x = random_tensor({2, T, kC}, 4), r = random_tensor({2, T, kC}, 5);
    auto [ya, dxa] = mixer_forward_backward(*full.mixer, x, r, ctx);
    auto [yb, dxb] = mixer_forward_backward(*xl.mixer, x, r, ctx);
    CHECK(max_abs_diff_valid(yb, ya, lengths) < 1e-5);
    CHECK(max_abs_diff_valid(dxb, dxa, lengths) < 1e-5);
}

TEST_CASE("xl, compressive: changing padded tokens changes no valid output, several segments") {
    const int64_t T = 12;
    std::vector<int32_t> lengths{12, 7};
    MixContext ctx{&lengths, false, 3, -1};
    for (const char* variant : {"xl", "compressive"}) {
        CAPTURE(variant);
        nlohmann::json options = {{"segment", 2}, {"memory", 2}};
        if (std::string(variant) == "compressive") options["rate"] = 2, options["compressed"] = 2;
        BuiltMixer m(variant, options, int(T));
        NoGradGuard no_grad;
        Tensor x = random_tensor({2, T, kC}, 31, 0.5f), x2 = x.clone();
        for (int64_t t = 7; t < T; ++t)
            for (int64_t c = 0; c < kC; ++c) x2.data()[(T + t) * kC + c] += 3.0f;
        Tensor y1 = m.mixer->forward(make_var(x), ctx)->value.clone();
        CHECK(max_abs_diff_valid(m.mixer->forward(make_var(x2), ctx)->value, y1, lengths) == 0.0);
    }
}

TEST_CASE("xl, compressive: option errors name the option") {
    auto message = [](const char* variant, nlohmann::json options) {
        try {
            BuiltMixer m(variant, std::move(options), 16);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message("xl", {{"segment", 0}}) == "model.attention.options.segment=0: must be positive");
    CHECK(message("xl", {{"memory", -1}}).find("model.attention.options.memory=-1") == 0);
    CHECK(message("xl", {{"rate", 2}}).find("model.attention.options.rate") != std::string::npos);
    CHECK(message("compressive", {{"segment", 6}, {"rate", 4}}) ==
          "model.attention.options.rate=4: must divide model.attention.options.segment=6");
    CHECK(message("compressive", {{"compressed", 0}}) ==
          "model.attention.options.compressed=0: must be positive");
    CHECK(message("compressive", {{"compression", "max"}})
              .find("model.attention.options.compression") == 0);
}

TEST_SUITE_END();
