// `reformer` and its LSH attention (lsh_attention.h): with one bucket and one chunk covering the
// sequence it equals shared-QK full attention with the self rule (forward and backward, with
// padding); with several buckets, chunks and rounds it equals one softmax over the multiset of
// every round's chunk keys, and its gradient (the sort held fixed: hashing and sorting are not
// differentiable) matches finite differences; the sort itself; the mixer's gradients, padding
// invariance, rotation schedule and option errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "attention/lsh_attention.h"
#include "attention/mixer.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int kDim = BuiltMixer::kDim;

struct Layout {
    int B, T, H, D;
    int C() const { return H * D; }
};

// Output and qv gradient of lsh_attention for input qv and cotangent r.
std::pair<Tensor, Tensor> run_lsh(const Tensor& qv, const Tensor& r, int heads,
                                  const std::vector<int32_t>& lengths, const LshSort& sort,
                                  int chunk) {
    tape().clear();
    Var x = make_var(qv.clone(), true, "qv");
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(qv.dim(2) / 2 / heads));
    Var y = lsh_attention(x, heads, lengths, std::make_shared<const LshSort>(sort), chunk, p);
    Tensor out = y->value.clone();
    tape().backward(y, r);
    Tensor g = x->grad.clone();
    tape().clear();
    return {out, g};
}

// Direct definition in double: token t of head (b, h) takes one softmax over the keys of every
// round's chunk window (its own sorted chunk and the one before, valid rows only, duplicates
// counted) but itself, keys q/‖q‖; a token with no such key attends to itself. Returns (B, T,
// C), padded rows 0.
std::vector<double> multiset_reference(const std::vector<double>& qv, const Layout& s,
                                       const std::vector<int32_t>& lengths, const LshSort& sort,
                                       int chunk) {
    const int C = s.C(), R = sort.rounds;
    const double scale = 1.0 / std::sqrt(double(s.D));
    std::vector<double> out(size_t(s.B) * s.T * C, 0.0);
    auto q = [&](int b, int t, int h) { return &qv[(size_t(b) * s.T + t) * 2 * C + h * s.D]; };
    for (int b = 0; b < s.B; ++b)
        for (int h = 0; h < s.H; ++h) {
            const int len = lengths[size_t(b)];
            std::vector<double> key(size_t(s.T) * s.D);
            for (int t = 0; t < len; ++t) {
                double n = 0;
                for (int d = 0; d < s.D; ++d) n += q(b, t, h)[d] * q(b, t, h)[d];
                for (int d = 0; d < s.D; ++d)
                    key[size_t(t * s.D + d)] = q(b, t, h)[d] / std::sqrt(n);
            }
            for (int t = 0; t < len; ++t) {
                std::vector<std::pair<double, int>> logits;  // (logit, key token)
                for (int r = 0; r < R; ++r) {
                    const int32_t* perm = &sort.perm[size_t(((b * s.H + h) * R + r) * s.T)];
                    const int p = int(std::find(perm, perm + s.T, t) - perm), c = p / chunk;
                    for (int k = std::max(0, (c - 1) * chunk); k < std::min(len, (c + 1) * chunk);
                         ++k) {
                        const int j = perm[k];
                        double dot = 0;
                        for (int d = 0; d < s.D; ++d)
                            dot += q(b, t, h)[d] * key[size_t(j * s.D + d)];
                        if (j != t) logits.push_back({scale * dot, j});
                    }
                }
                if (logits.empty()) logits.push_back({0.0, t});  // nothing else: itself
                double m = -1e300, sum = 0;
                for (const auto& [l, j] : logits) m = std::max(m, l);
                for (const auto& [l, j] : logits) sum += std::exp(l - m);
                double* o = &out[(size_t(b) * s.T + t) * C + h * s.D];
                for (const auto& [l, j] : logits)
                    for (int d = 0; d < s.D; ++d) o[d] += std::exp(l - m) / sum * q(b, j, h)[C + d];
            }
        }
    return out;
}

}  // namespace

TEST_CASE("lsh attention: one bucket and one chunk equal shared-QK full attention, fwd and bwd") {
    const Layout s{2, 11, 2, 4};
    const int C = s.C();
    // Batch row 1 with one valid token: with nothing else available it attends to itself.
    for (const std::vector<int32_t>& lengths :
         {std::vector<int32_t>{11, 6}, std::vector<int32_t>{11, 1}})
        for (int rounds : {1, 3}) {
            CAPTURE(rounds);
            CAPTURE(lengths[1]);
            Tensor qv = random_tensor({s.B, s.T, 2 * C}, 1), r = random_tensor({s.B, s.T, C}, 2);
            const LshSort sort = lsh_sort(qv, s.H, lengths, rounds, 1, 9);
            const auto [out, grad] = run_lsh(qv, r, s.H, lengths, sort, s.T);
            // Reference: the naive kernel over [q, q/‖q‖, v] with mask_self, no pattern.
            std::vector<double> qkv(size_t(s.B) * s.T * 3 * C), inv_norm(size_t(s.B) * s.T * s.H);
            for (int bt = 0; bt < s.B * s.T; ++bt)
                for (int h = 0; h < s.H; ++h) {
                    const float* q = qv.data() + size_t(bt) * 2 * C + h * s.D;
                    double n = 0;
                    for (int d = 0; d < s.D; ++d) n += double(q[d]) * q[d];
                    inv_norm[size_t(bt * s.H + h)] = 1.0 / std::sqrt(n);
                    for (int d = 0; d < s.D; ++d) {
                        double* row = &qkv[size_t(bt) * 3 * C + h * s.D + d];
                        row[0] = q[d];
                        row[C] = q[d] / std::sqrt(n);
                        row[2 * C] = q[C + d];
                    }
                }
            AttentionParams p;
            p.scale = 1.0f / std::sqrt(float(s.D));
            p.mask_self = true;
            const AttentionDims dims{s.B, s.T, s.H, s.D};
            std::vector<double> ref(size_t(s.B) * s.T * C), lse(size_t(s.B) * s.H * s.T);
            block_attention_forward_naive(ref.data(), C, lse.data(), qkv.data(), qkv.data() + C,
                                          qkv.data() + 2 * C, 3 * C, lengths.data(), dims, p,
                                          nullptr);
            // A token with no key but itself attends to itself: out = v, d v = d out, d q = 0.
            auto alone = [&](int b) { return lengths[size_t(b)] == 1; };
            for (int b = 0; b < s.B; ++b)
                for (int c = 0; c < C && alone(b); ++c)
                    ref[size_t(b) * s.T * C + c] = qv.data()[size_t(b) * s.T * 2 * C + C + c];
            CHECK(max_abs_diff(out, ref) < 1e-5);
            std::vector<double> dr(r.data(), r.data() + r.numel()), g(qkv.size(), 0.0);
            block_attention_backward_naive(
                g.data(), g.data() + C, g.data() + 2 * C, 3 * C, dr.data(), C, qkv.data(),
                qkv.data() + C, qkv.data() + 2 * C, 3 * C, lengths.data(), dims, p, nullptr);
            // d q = dq + (dk - k (k·dk)) / ‖q‖; d v = dv.
            std::vector<double> ref_grad(size_t(s.B) * s.T * 2 * C);
            for (int bt = 0; bt < s.B * s.T; ++bt)
                for (int h = 0; h < s.H; ++h) {
                    const double* row = &g[size_t(bt) * 3 * C + h * s.D];
                    const double* k = &qkv[size_t(bt) * 3 * C + C + h * s.D];
                    double kdk = 0;
                    for (int d = 0; d < s.D; ++d) kdk += k[d] * row[C + d];
                    for (int d = 0; d < s.D; ++d) {
                        double* o = &ref_grad[size_t(bt) * 2 * C + h * s.D + d];
                        o[0] = row[d] + (row[C + d] - k[d] * kdk) * inv_norm[size_t(bt * s.H + h)];
                        o[C] = row[2 * C + d];
                    }
                }
            for (int b = 0; b < s.B; ++b)
                for (int c = 0; c < C && alone(b); ++c)
                    ref_grad[size_t(b) * s.T * 2 * C + C + c] = r.data()[size_t(b) * s.T * C + c];
            CHECK(max_abs_diff(grad, ref_grad) < 1e-5);
        }
}

TEST_CASE("lsh attention: several buckets, chunks and rounds equal one softmax over the rounds") {
    const Layout s{2, 13, 2, 3};
    const std::vector<int32_t> lengths{13, 8};
    Tensor qv = random_tensor({s.B, s.T, 2 * s.C()}, 3), r = random_tensor({s.B, s.T, s.C()}, 4);
    for (int chunk : {2, 3, 5}) {
        CAPTURE(chunk);
        const LshSort sort = lsh_sort(qv, s.H, lengths, 3, 4, 17);
        const auto [out, grad] = run_lsh(qv, r, s.H, lengths, sort, chunk);
        std::vector<double> x(qv.data(), qv.data() + qv.numel());
        CHECK(max_abs_diff(out, multiset_reference(x, s, lengths, sort, chunk)) < 1e-5);
        // Gradient with the sort held fixed (it is piecewise constant in qv).
        std::vector<double> g(grad.data(), grad.data() + grad.numel());
        auto loss = [&](const std::vector<double>& v) {
            const std::vector<double> o = multiset_reference(v, s, lengths, sort, chunk);
            double l = 0;
            for (size_t i = 0; i < o.size(); ++i) l += o[i] * r.data()[i];
            return l;
        };
        const auto fd = worst_central_difference(x, loss, g, 1e-6);
        INFO("worst coordinate " << fd.at);
        CHECK(fd.worst < 1e-4);
    }
}

TEST_CASE("lsh sort: permutations sorted by bucket, padding last, scale-invariant hashing") {
    const Layout s{2, 20, 2, 4};
    const std::vector<int32_t> lengths{20, 7};
    Tensor qv = random_tensor({s.B, s.T, 2 * s.C()}, 5);
    const LshSort a = lsh_sort(qv, s.H, lengths, 2, 6, 3);
    CHECK(a.rounds == 2);
    CHECK(a.perm.size() == size_t(s.B * s.H * 2 * s.T));
    std::set<std::vector<int32_t>> orders;
    for (int gr = 0; gr < s.B * s.H * 2; ++gr) {
        const int len = lengths[size_t(gr / (s.H * 2))];
        std::vector<int32_t> p(a.perm.begin() + gr * s.T, a.perm.begin() + (gr + 1) * s.T);
        std::vector<int32_t> sorted = p;
        std::sort(sorted.begin(), sorted.end());
        for (int t = 0; t < s.T; ++t) CHECK(sorted[size_t(t)] == t);  // a permutation
        for (int t = len; t < s.T; ++t) CHECK(p[size_t(t)] == t);     // padding last, in order
        for (int t = 0; t < len; ++t) CHECK(p[size_t(t)] < len);
        orders.insert(std::vector<int32_t>(p.begin(), p.begin() + len));
    }
    // Hashing groups tokens: not every order of the full row is the identity.
    std::vector<int32_t> identity(20);
    for (int t = 0; t < 20; ++t) identity[size_t(t)] = t;
    CHECK(orders.count(identity) == 0);
    // The hash only sees directions: scaling the queries changes no bucket.
    Tensor scaled = qv.clone();
    for (int64_t i = 0; i < scaled.numel(); ++i) scaled.data()[i] *= 2.5f;
    CHECK(lsh_sort(scaled, s.H, lengths, 2, 6, 3).perm == a.perm);
    CHECK(lsh_sort(qv, s.H, lengths, 2, 6, 4).perm != a.perm);  // another rotation
    // One bucket: the identity order.
    const LshSort one = lsh_sort(qv, s.H, lengths, 2, 1, 3);
    for (int gr = 0; gr < s.B * s.H * 2; ++gr)
        for (int t = 0; t < s.T; ++t) CHECK(one.perm[size_t(gr * s.T + t)] == t);
}

TEST_CASE("reformer: gradients reach every parameter through several buckets and chunks") {
    std::vector<int32_t> lengths{9, 5};
    for (float dropout : {0.0f, 0.2f}) {
        CAPTURE(dropout);
        // Training with dropout at step 4, or evaluation. With dropout the dropout masks follow
        // the sorted positions, so a bucket change under a finite-difference step would move
        // many of them: one bucket there (the rounds still differ by their masks).
        MixContext ctx{&lengths, dropout > 0.0f, 3, dropout > 0.0f ? 4 : -1};
        const int buckets = dropout > 0.0f ? 1 : 4;
        BuiltMixer m("reformer", {{"chunk", 2}, {"n_buckets", buckets}, {"n_hashes", 2}}, 12,
                     dropout);
        Var x = make_var(random_tensor({2, 9, kDim}, 21, 0.8f), true, "x");
        std::vector<Var> inputs{x};
        for (const auto& p : m.params.all()) inputs.push_back(p.var);
        GradcheckOptions opt;
        opt.max_coords = 24;
        gradcheck([&](const std::vector<Var>& in) { return m.mixer->forward(in[0], ctx); }, inputs,
                  opt);
        // The query half of the shared projection gets a gradient (through queries and keys).
        tape().clear();
        for (const auto& p : m.params.all()) p.var->grad_buffer().zero();
        Var y = m.mixer->forward(x, ctx);
        tape().backward(y, random_tensor({2, 9, kDim}, 22));
        const Tensor& g = m.param("mixer.qv.weight")->grad;
        double norm = 0;
        for (int64_t i = 0; i < g.numel() / 2; ++i) norm += std::fabs(g.data()[i]);
        CHECK(norm > 1e-4);
        tape().clear();
    }
}

TEST_CASE("reformer: padded tokens and extra padding change no valid output") {
    std::vector<int32_t> lengths{11, 5};
    MixContext ctx{&lengths, false, 3, -1};
    for (int chunk : {2, 3, 4}) {
        CAPTURE(chunk);
        BuiltMixer m("reformer", {{"chunk", chunk}, {"n_hashes", 3}}, 16);
        NoGradGuard no_grad;
        Tensor x = random_tensor({2, 11, kDim}, 31, 0.5f), x2 = x.clone();
        for (int t = 5; t < 11; ++t)
            for (int c = 0; c < kDim; ++c) x2.data()[(11 + t) * kDim + c] += 3.0f;
        Tensor y1 = m.mixer->forward(make_var(x), ctx)->value.clone();
        Tensor y2 = m.mixer->forward(make_var(x2), ctx)->value;
        CHECK(max_abs_diff_valid(y1, y2, lengths) <= 1e-6);
        // The same tokens padded to 14: chunks and buckets do not depend on the padded length.
        Tensor x3 = Tensor::zeros({2, 14, kDim});
        for (int b = 0; b < 2; ++b)
            std::copy_n(x.data() + b * 11 * kDim, 11 * kDim, x3.data() + b * 14 * kDim);
        Tensor y3 = m.mixer->forward(make_var(x3), ctx)->value;
        double worst = 0;
        for (int b = 0; b < 2; ++b)
            for (int t = 0; t < lengths[size_t(b)]; ++t)
                for (int c = 0; c < kDim; ++c)
                    worst = std::max(worst, double(std::fabs(y1.data()[(b * 11 + t) * kDim + c] -
                                                             y3.data()[(b * 14 + t) * kDim + c])));
        CHECK(worst <= 1e-6);
    }
}

TEST_CASE("reformer: rotations are redrawn every training step and fixed at evaluation") {
    std::vector<int32_t> lengths{16};
    BuiltMixer m("reformer", {{"chunk", 2}, {"n_buckets", 8}, {"n_hashes", 1}}, 16);
    NoGradGuard no_grad;
    Tensor x = random_tensor({1, 16, kDim}, 41, 0.5f);
    auto at = [&](bool training, int64_t step) {
        MixContext ctx{&lengths, training, 3, step};
        return m.mixer->forward(make_var(x), ctx)->value.clone();
    };
    CHECK(max_abs_diff(at(false, -1), at(false, -1)) == 0.0);
    CHECK(max_abs_diff(at(true, 1), at(true, 1)) == 0.0);
    CHECK(max_abs_diff(at(true, 1), at(true, 2)) > 1e-4);
    CHECK(max_abs_diff(at(true, 1), at(false, -1)) > 1e-4);
}

TEST_CASE("reformer: bad options fail with a ConfigError naming the option") {
    const std::vector<std::pair<nlohmann::json, const char*>> cases = {
        {{{"n_hashes", 0}}, "model.attention.options.n_hashes=0: must be positive"},
        {{{"n_hashes", 17}}, "model.attention.options.n_hashes=17: must be in [1, 16]"},
        {{{"chunk", 0}}, "model.attention.options.chunk=0: must be positive"},
        {{{"n_buckets", 3}}, "model.attention.options.n_buckets=3: must be 0 (auto), 1"},
        {{{"n_buckets", -2}}, "model.attention.options.n_buckets=-2: must be at least 0"},
        {{{"bucket_size", 64}}, "model.attention.options.bucket_size: unknown key"},
    };
    for (const auto& [options, message] : cases) {
        std::string what;
        try {
            BuiltMixer b("reformer", options, 16);
        } catch (const ConfigError& e) {
            what = e.what();
        }
        CAPTURE(what);
        CHECK(what.find(message) != std::string::npos);
    }
}

TEST_SUITE_END();
