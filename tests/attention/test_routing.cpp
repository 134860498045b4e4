// `routing`: one cluster equals shared-QK full attention (forward and backward, with padding);
// the clusters take their best-scoring tokens; a token taken by no cluster outputs 0 and one
// taken twice the mean of its two attentions; gradients reach everything but the centroids
// (the k-means assignment is not differentiable); the centroids move by the k-means EMA step in
// training only, identically for 1 and 2 threads; padding invariance with several clusters;
// option errors.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attention/mixer.h"
#include "attention/routing_attention.h"
#include "core/errors.h"
#include "support/gradcheck.h"
#include "support/mixer_fixture.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;
using namespace xb::test;

namespace {

constexpr int kDim = BuiltMixer::kDim;
using Built = BuiltMixer;

std::vector<double> normalised(const float* x, int D) {
    double n = 0;
    for (int d = 0; d < D; ++d) n += double(x[d]) * x[d];
    std::vector<double> out(static_cast<size_t>(D));
    for (int d = 0; d < D; ++d) out[d] = n > 0 ? x[d] / std::sqrt(n) : 0.0;
    return out;
}

}  // namespace

TEST_CASE("routing: one cluster equals shared-QK full attention, forward and backward") {
    const int T = 10, C = kDim;
    std::vector<int32_t> lengths{T, 6};
    MixContext ctx{&lengths, false, 3, -1};
    Built full("full", nlohmann::json::object(), T);
    // Shared QK for `full`: its key projection is its query projection.
    Tensor& w = full.param("mixer.qkv.weight")->value;
    Tensor& bias = full.param("mixer.qkv.bias")->value;
    bias.copy_from(random_tensor({3 * C}, 9, 0.1f));
    std::copy(w.data(), w.data() + C * C, w.data() + C * C);
    std::copy(bias.data(), bias.data() + C, bias.data() + C);
    for (int cluster_size : {T, 64}) {
        CAPTURE(cluster_size);
        Built routing("routing", {{"cluster_size", cluster_size}, {"local_heads", 0}}, T);
        routing.copy_projections_from(full);
        Tensor x = random_tensor({2, T, C}, 1), r = random_tensor({2, T, C}, 2);
        MixerRun a = run_with_qkv_grad(full, x, r, ctx), b = run_with_qkv_grad(routing, x, r, ctx);
        CHECK(max_abs_diff_valid(b.y, a.y, lengths) < 1e-5);
        CHECK(max_abs_diff_valid(b.dx, a.dx, lengths) < 1e-5);
        // The shared row gets the query and the key gradient; the unused key rows get none.
        double worst = 0, key_rows = 0;
        for (int i = 0; i < C * C; ++i) {
            worst = std::max(
                worst, double(std::fabs(b.dw.data()[i] - a.dw.data()[i] - a.dw.data()[C * C + i])));
            key_rows = std::max(key_rows, double(std::fabs(b.dw.data()[C * C + i])));
            worst = std::max(
                worst, double(std::fabs(b.dw.data()[2 * C * C + i] - a.dw.data()[2 * C * C + i])));
        }
        CHECK(worst < 1e-5);
        CHECK(key_rows == 0.0);
    }
}

TEST_CASE("routing: each cluster takes its best-scoring tokens") {
    const int L = 40, D = 4, K = 11, w = (L + K - 1) / K;  // K: one block of 8 and a tail
    Tensor q = random_tensor({L, D}, 3), mu = random_tensor({K, D}, 4);
    std::vector<int32_t> nearest(static_cast<size_t>(L), -1);
    const std::vector<int32_t> rows = route_tokens(q.data(), D, L, D, mu.data(), K, nearest.data());
    REQUIRE(rows.size() == size_t(K * w));
    for (int t = 0; t < L; ++t) {
        CAPTURE(t);
        const std::vector<double> qn = normalised(q.data() + t * D, D);
        std::vector<double> s(static_cast<size_t>(K), 0.0);
        for (int c = 0; c < K; ++c)
            for (int d = 0; d < D; ++d) s[c] += qn[d] * mu.data()[c * D + d];
        CHECK(nearest[t] == std::max_element(s.begin(), s.end()) - s.begin());
    }
    for (int c = 0; c < K; ++c) {
        CAPTURE(c);
        std::vector<double> score(static_cast<size_t>(L));
        for (int t = 0; t < L; ++t) {
            const std::vector<double> qn = normalised(q.data() + t * D, D);
            for (int d = 0; d < D; ++d) score[t] += qn[d] * mu.data()[c * D + d];
        }
        std::vector<int32_t> taken(rows.begin() + c * w, rows.begin() + (c + 1) * w);
        CHECK(std::is_sorted(taken.begin(), taken.end()));
        double worst_taken = 1e9, best_left = -1e9;
        for (int t = 0; t < L; ++t) {
            if (std::count(taken.begin(), taken.end(), t))
                worst_taken = std::min(worst_taken, score[t]);
            else
                best_left = std::max(best_left, score[t]);
        }
        CHECK(std::adjacent_find(taken.begin(), taken.end()) == taken.end());
        CHECK(worst_taken >= best_left);
    }
}

TEST_CASE("routing: a token no cluster takes outputs 0, one taken twice the mean") {
    // One routing head, D = 2, clusters e0 and e1, T = 5 with 4 valid tokens: cluster 0 takes
    // {0, 1}, cluster 1 takes {1, 2}, token 3 points away from both and is taken by none.
    const int T = 5, C = 2, K = 2;
    Tensor centroids = Tensor::zeros({1, K, C});
    centroids.data()[0] = 1.0f, centroids.data()[3] = 1.0f;
    const float q[T][C] = {{1, 0}, {1, 1}, {0, 1}, {-1, -1}, {4, 4}};
    Tensor v = random_tensor({T, C}, 5);
    Tensor qkv = Tensor::zeros({1, T, 3 * C});
    for (int t = 0; t < T; ++t)
        for (int d = 0; d < C; ++d) {
            qkv.data()[t * 3 * C + d] = q[t][d];
            qkv.data()[t * 3 * C + C + d] = 7.0f;  // the key projection is not used
            qkv.data()[t * 3 * C + 2 * C + d] = v.data()[t * C + d];
        }
    std::vector<int32_t> lengths{4};
    MixContext ctx{&lengths, false, 3, -1};
    CHECK(route_tokens(qkv.data(), 3 * C, 4, C, centroids.data(), K) ==
          std::vector<int32_t>{0, 1, 1, 2});
    Tensor y = routing_attention(make_var(qkv), 1, 0, 4, centroids, ctx, 0.0f, 0)->value;
    // Attention of token i within the cluster `members`, logits q_i·q_j / sqrt(2).
    const auto attend = [&](int i, std::vector<int> members, int d) {
        double z = 0, s = 0;
        for (int j : members) {
            const double e = std::exp((q[i][0] * q[j][0] + q[i][1] * q[j][1]) / std::sqrt(2.0));
            z += e, s += e * v.data()[j * C + d];
        }
        return s / z;
    };
    for (int d = 0; d < C; ++d) {
        CAPTURE(d);
        CHECK(y.data()[0 * C + d] == doctest::Approx(attend(0, {0, 1}, d)).epsilon(1e-5));
        CHECK(y.data()[1 * C + d] ==
              doctest::Approx(0.5 * (attend(1, {0, 1}, d) + attend(1, {1, 2}, d))).epsilon(1e-5));
        CHECK(y.data()[2 * C + d] == doctest::Approx(attend(2, {1, 2}, d)).epsilon(1e-5));
        CHECK(y.data()[3 * C + d] == 0.0f);  // taken by no cluster
        CHECK(y.data()[4 * C + d] == 0.0f);  // padding
    }
}

TEST_CASE("routing: gradients reach the input and every projection, not the centroids") {
    std::vector<int32_t> lengths{9, 5};
    MixContext ctx{&lengths, false, 3, -1};
    // Three clusters of up to 3 tokens in head 1, blocks of 4 in head 0.
    Built routing("routing", {{"cluster_size", 4}, {"window", 4}}, 12);
    Var x = make_var(random_tensor({2, 9, kDim}, 21, 0.8f), true, "x");
    std::vector<Var> inputs{x};
    int64_t trained = 0;
    for (const auto& p : routing.params.all()) {
        CHECK(p.trained == (p.var->name != "mixer.routing.centroids"));
        if (!p.trained) continue;
        inputs.push_back(p.var);
        trained += p.var->value.numel();
    }
    REQUIRE(inputs.size() == routing.params.all().size());
    CHECK(routing.params.count() == trained);  // the centroids are state, not parameters
    GradcheckOptions opt;
    opt.max_coords = 24;
    gradcheck([&](const std::vector<Var>& in) { return routing.mixer->forward(in[0], ctx); },
              inputs, opt);
    // The query rows of both heads and the value rows get gradients; the centroids none.
    tape().clear();
    for (const auto& p : routing.params.all()) p.var->grad = Tensor();
    Var y = routing.mixer->forward(x, ctx);
    tape().backward(y, random_tensor({2, 9, kDim}, 22));
    const Tensor& g = routing.param("mixer.qkv.weight")->grad;
    const int D = kDim / 2;
    for (int rows : {0, D, 2 * kDim, 2 * kDim + D}) {  // q head 0, q head 1, v head 0, v head 1
        CAPTURE(rows);
        double norm = 0;
        for (int i = rows * kDim; i < (rows + D) * kDim; ++i) norm += std::fabs(g.data()[i]);
        CHECK(norm > 1e-4);
    }
    CHECK_FALSE(routing.param("mixer.routing.centroids")->grad.defined());
    tape().clear();
}

TEST_CASE("routing: the k-means step moves the nearest centroids toward their tokens") {
    const int T = 3, C = 2, K = 2;
    const double decay = 0.75;
    Tensor mu = Tensor::zeros({1, K, C});
    mu.data()[0] = 1.0f, mu.data()[3] = 1.0f;
    Tensor before = mu.clone();
    const float q[T][C] = {{3, 1}, {1, 3}, {2, -1}};
    Tensor qkv = Tensor::zeros({1, T + 1, 3 * C});
    for (int t = 0; t < T; ++t)
        for (int d = 0; d < C; ++d) qkv.data()[t * 3 * C + d] = q[t][d];
    qkv.data()[T * 3 * C] = -50.0f;  // padding: must not count
    update_centroids(mu, qkv, 1, 0, {T}, decay);
    for (int c = 0; c < K; ++c) {
        CAPTURE(c);
        std::vector<double> sum(static_cast<size_t>(C), 0.0);
        for (int t = 0; t < T; ++t) {
            const std::vector<double> qn = normalised(q[t], C);
            int nearest = 0;
            double best = -1e9;
            for (int k = 0; k < K; ++k) {
                const double s = qn[0] * before.data()[k * C] + qn[1] * before.data()[k * C + 1];
                if (s > best) best = s, nearest = k;
            }
            if (nearest == c)
                for (int d = 0; d < C; ++d) sum[d] += qn[d];
        }
        std::vector<float> mean(sum.begin(), sum.end());
        const std::vector<double> m = normalised(mean.data(), C);
        std::vector<float> mixed(static_cast<size_t>(C));
        for (int d = 0; d < C; ++d)
            mixed[d] = float(decay * before.data()[c * C + d] + (1 - decay) * m[d]);
        const std::vector<double> expect = normalised(mixed.data(), C);
        for (int d = 0; d < C; ++d) CHECK(mu.data()[c * C + d] == doctest::Approx(expect[d]));
    }
}

TEST_CASE("routing: the k-means step from the forward's assignments equals the standalone step") {
    const int B = 2, T = 11, heads = 4, local = 1, D = kDim / heads, K = 3;
    const std::vector<int32_t> lengths{11, 6};
    const Var qkv = make_var(random_tensor({B, T, 3 * kDim}, 41));
    Tensor mu = random_tensor({heads - local, K, D}, 42);
    for (int64_t r = 0; r < (heads - local) * K; ++r) {
        const std::vector<double> n = normalised(mu.data() + r * D, D);
        for (int d = 0; d < D; ++d) mu.data()[r * D + d] = float(n[d]);
    }
    std::vector<int32_t> nearest;
    MixContext train{&lengths, true, 5, 1};
    routing_attention(qkv, heads, local, 4, mu, train, 0.0f, 0, &nearest);
    REQUIRE(nearest.size() == size_t(B * (heads - local) * T));
    CHECK(std::count(nearest.begin(), nearest.end(), 1) > 0);
    CHECK(std::count(nearest.begin(), nearest.end(), 2) > 0);
    Tensor shared = mu.clone(), standalone = mu.clone();
    update_centroids(shared, qkv->value, heads, local, lengths, 0.5, nearest);
    update_centroids(standalone, qkv->value, heads, local, lengths, 0.5);
    CHECK(max_abs_diff(shared, mu) > 1e-3);
    CHECK(max_abs_diff(shared, standalone) == 0.0);
}

TEST_CASE("routing: centroids move in training only, the same for 1 and 2 threads") {
    std::vector<int32_t> lengths{9, 5};
    const int threads = omp_get_max_threads();
    Tensor x = random_tensor({2, 9, kDim}, 31, 0.8f), r = random_tensor({2, 9, kDim}, 32);
    std::vector<Tensor> ys, mus;
    for (int n : {1, 2}) {
        CAPTURE(n);
        omp_set_num_threads(n);
        Built routing("routing", {{"cluster_size", 4}, {"decay", 0.9}}, 12);
        const Var mu = routing.param("mixer.routing.centroids");
        const Tensor initial = mu->value.clone();
        MixContext eval{&lengths, false, 3, -1};
        run_with_qkv_grad(routing, x, r, eval);
        CHECK(max_abs_diff(mu->value, initial) == 0.0);
        for (int step = 1; step <= 3; ++step) {
            MixContext train{&lengths, true, 3, step};
            ys.push_back(run_with_qkv_grad(routing, x, r, train).y);
        }
        CHECK(max_abs_diff(mu->value, initial) > 1e-3);
        for (int64_t row = 0; row < mu->value.numel() / (kDim / 2); ++row) {
            double n2 = 0;
            for (int d = 0; d < kDim / 2; ++d)
                n2 += double(mu->value.data()[row * (kDim / 2) + d]) *
                      mu->value.data()[row * (kDim / 2) + d];
            CHECK(n2 == doctest::Approx(1.0).epsilon(1e-5));
        }
        mus.push_back(mu->value.clone());
    }
    omp_set_num_threads(threads);
    CHECK(max_abs_diff(mus[0], mus[1]) == 0.0);
    for (size_t i = 0; i < 3; ++i) CHECK(max_abs_diff(ys[i], ys[i + 3]) == 0.0);
}

TEST_CASE("routing: changing padded tokens changes no valid output, with several clusters") {
    std::vector<int32_t> lengths{11, 5};
    for (int cluster_size : {2, 3, 4}) {
        CAPTURE(cluster_size);
        Built routing("routing", {{"cluster_size", cluster_size}, {"window", 3}}, 11);
        CHECK(padding_change(routing, lengths, 11) <= 1e-6);
    }
}

TEST_CASE("routing: bad options fail with a ConfigError naming the option") {
    const std::vector<std::pair<nlohmann::json, const char*>> cases = {
        {{{"cluster_size", 0}}, "model.attention.options.cluster_size=0: must be positive"},
        {{{"local_heads", 3}}, "model.attention.options.local_heads=3: must be in [0, 2]"},
        {{{"local_heads", -1}}, "model.attention.options.local_heads=-1: must be in [0, 2]"},
        {{{"window", 0}}, "model.attention.options.window=0: must be positive"},
        {{{"decay", 1.0}}, "model.attention.options.decay=1: must be in [0, 1)"},
        {{{"decay", "slow"}}, "model.attention.options.decay: expected a number"},
        {{{"clusters", 4}}, "model.attention.options.clusters: unknown key"},
    };
    check_option_errors("routing", cases);
}

TEST_SUITE_END();
