// `routing`: Routing Transformer attention (routing_attention.h). The routed tokens of one batch
// row are gathered, per routing head, into K contiguous blocks of w rows (cluster c at rows
// [c·w, (c+1)·w)); the fused block attention kernel runs on them with one query block per
// cluster whose keys are the same block (shared QK: the gathered queries are also the keys),
// and the outputs are averaged back onto the tokens. Local heads run the kernel directly on the
// projection with the block-local pattern. Time O(B·H·T·(w + window + K)·D) with w ≈
// cluster_size; memory O(B·T·C): the gathered q, v and outputs and the row lse are saved, the
// probabilities are recomputed in backward.
#include "attention/routing_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "attention/block_attention.h"
#include "attention/pattern_variants.h"
#include "config/option_reader.h"
#include "core/distributed.h"
#include "core/rng.h"

namespace xb {

namespace {

// x / ‖x‖ (0 for a zero row), accumulated in double.
void normalise_row(const float* x, int D, float* out) {
    double n = 0;
    for (int d = 0; d < D; ++d) n += double(x[d]) * double(x[d]);
    const double inv = n > 0 ? 1.0 / std::sqrt(n) : 0.0;
    for (int d = 0; d < D; ++d) out[d] = float(double(x[d]) * inv);
}

// Dot products of token t's normalised query with every centroid -> scores[t·K + c], each
// summed over d in order in double. The loop runs over 8 centroids at a time innermost (the
// transposed centroids are zero-padded to a multiple of 8), so that it vectorises without
// reordering any sum: the scores are bit-identical to one dot product per (t, c).
std::vector<double> token_scores(const float* q, int64_t ld, int length, int D,
                                 const float* centroids, int K) {
    constexpr int kLanes = 8;
    const int Kp = (K + kLanes - 1) / kLanes * kLanes;
    std::vector<double> scores(size_t(length) * K), mu_t(size_t(D) * Kp, 0.0);
    for (int c = 0; c < K; ++c)
        for (int d = 0; d < D; ++d) mu_t[size_t(d) * Kp + c] = double(centroids[c * D + d]);
    std::vector<float> qn(static_cast<size_t>(D));
    for (int t = 0; t < length; ++t) {
        normalise_row(q + t * ld, D, qn.data());
        double* s = scores.data() + size_t(t) * K;
        for (int c0 = 0; c0 < K; c0 += kLanes) {  // kLanes running sums held in registers
            double acc[kLanes] = {};
            for (int d = 0; d < D; ++d) {
                const double qd = qn[d];
                const double* m = mu_t.data() + size_t(d) * Kp + c0;
                for (int j = 0; j < kLanes; ++j) acc[j] += qd * m[j];
            }
            std::copy(acc, acc + std::min(kLanes, K - c0), s + c0);
        }
    }
    return scores;
}

// Token t's nearest centroid: the first largest score (a NaN score never wins; 0 if all are).
void nearest_centroids(const std::vector<double>& scores, int length, int K, int32_t* nearest) {
    for (int t = 0; t < length; ++t) {
        const double* s = scores.data() + size_t(t) * K;
        int best = 0;
        double best_s = -std::numeric_limits<double>::infinity();
        for (int c = 0; c < K; ++c)
            if (s[c] > best_s) best_s = s[c], best = c;
        nearest[t] = best;
    }
}

// The block pattern of one batch row's gathered clusters: K query blocks of w rows, each
// attending to itself, and (when K·w < Tg) a trailing block of unused rows with no keys.
BlockPattern cluster_pattern(int K, int w, int Tg) {
    std::vector<int32_t> starts;
    for (int c = 0; c <= K; ++c) starts.push_back(c * w);
    if (K * w < Tg) starts.push_back(Tg);
    BlockPattern p;
    p.query_block = std::max(w, 1);
    p.block_starts = std::move(starts);
    p.offsets.push_back(0);
    for (int c = 0; c < K; ++c) {
        p.ranges.push_back({c * w, (c + 1) * w});
        p.offsets.push_back(int32_t(p.ranges.size()));
    }
    if (K * w < Tg) p.offsets.push_back(int32_t(p.ranges.size()));
    return p;
}

// What the routing heads' backward needs besides the tensors: for each (b, h) the gathered
// token of every row and its averaging weight, and per batch row the pattern and row count.
struct RoutingPlan {
    std::vector<std::vector<int32_t>> rows;  // (B·Hr) gathered row -> token
    std::vector<std::vector<float>> weight;  // (B·Hr) gathered row -> 1 / times routed
    std::vector<BlockPattern> patterns;      // (B)
    std::vector<int32_t> gathered;           // (B) K·w valid gathered rows
};

}  // namespace

RoutingOptions read_routing_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    RoutingOptions o;
    o.cluster_size = opts.get_int_at_least("cluster_size", 64, 1);
    o.local_heads = opts.get_int("local_heads", spec.heads / 2);
    if (o.local_heads < 0 || o.local_heads > spec.heads)
        throw ConfigError(fmt::format("{}={}: must be in [0, {}] (model.heads)",
                                      opts.key_path("local_heads"), o.local_heads, spec.heads));
    o.window = opts.get_int_at_least("window", 64, 1);
    o.decay = opts.get_double("decay", 0.999);
    if (!(o.decay >= 0.0 && o.decay < 1.0))
        throw ConfigError(fmt::format("{}={}: must be in [0, 1)", opts.key_path("decay"), o.decay));
    opts.finish();
    return o;
}

int routing_clusters(const MixerSpec& spec, const RoutingOptions& o) {
    return std::max(1, (spec.max_len + o.cluster_size - 1) / o.cluster_size);
}

std::vector<int32_t> route_tokens(const float* q, int64_t ld, int length, int D,
                                  const float* centroids, int K, int32_t* nearest) {
    if (length <= 0) return {};
    const int w = (length + K - 1) / K;
    const std::vector<double> s = token_scores(q, ld, length, D, centroids, K);
    if (nearest) nearest_centroids(s, length, K, nearest);
    // Cluster c ranks the tokens by float score, descending, ties to the earlier token, with a
    // NaN score (a diverged run) as -inf so that the ranking stays a strict order.
    std::vector<int32_t> rows(size_t(K) * w);
    std::vector<std::pair<float, int32_t>> col(static_cast<size_t>(length));
    const auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    for (int c = 0; c < K; ++c) {
        for (int t = 0; t < length; ++t) {
            const double v = s[size_t(t) * K + c];
            col[size_t(t)] = {std::isnan(v) ? -std::numeric_limits<float>::infinity() : float(v),
                              t};
        }
        std::nth_element(col.begin(), col.begin() + (w - 1), col.end(), better);
        int32_t* taken = rows.data() + size_t(c) * w;
        for (int i = 0; i < w; ++i) taken[i] = col[size_t(i)].second;
        std::sort(taken, taken + w);
    }
    return rows;
}

Var routing_attention(const Var& qkv, int heads, int local_heads, int window,
                      const Tensor& centroids, const MixContext& ctx, float dropout, int layer,
                      std::vector<int32_t>* nearest) {
    const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1), C = qkv->value.dim(2) / 3;
    const int D = int(C / heads), Hl = local_heads, Hr = heads - local_heads;
    const int64_t HrD = int64_t(Hr) * D;
    AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(D));
    p.dropout_p = ctx.training ? dropout : 0.0f;
    p.dropout_seed = mix64(ctx.seed ^ mix64(uint64_t(ctx.step) * 131 + uint64_t(layer)));
    const std::vector<int32_t> lens(*ctx.lengths);
    const float* x = qkv->value.data();
    Var out = make_var(Tensor::zeros({B, T, C}));  // routing columns of unrouted tokens stay 0

    std::shared_ptr<const BlockPattern> local;
    Tensor local_lse;
    const AttentionDims local_dims{int(B), int(T), Hl, D};
    if (Hl > 0) {
        local = std::make_shared<const BlockPattern>(local_pattern(int(T), window));
        local_lse = Tensor::empty({B, Hl, T});
        block_attention_forward(out->value.data(), int(C), local_lse.data(), x, x + C, x + 2 * C,
                                int(3 * C), lens.data(), local_dims, p, local.get());
    }

    auto plan = std::make_shared<RoutingPlan>();
    Tensor g, og, lse;  // gathered (B, Tg, 2·Hr·D) q then v; outputs (B, Tg, Hr·D); lse
    int64_t Tg = 0;
    const AttentionParams pr = [&] {
        AttentionParams q = p;
        q.dropout_seed = mix64(p.dropout_seed + 0x5a17);
        return q;
    }();
    if (Hr > 0) {
        const int K = int(centroids.dim(1));
        Tg = K * ((T + K - 1) / K);
        plan->rows.resize(size_t(B * Hr));
        plan->weight.resize(size_t(B * Hr));
        g = Tensor::zeros({B, Tg, 2 * HrD});
        const int64_t BH = B * Hr;
        if (nearest) nearest->assign(size_t(BH * T), 0);
#pragma omp parallel for schedule(dynamic)
        for (int64_t bh = 0; bh < BH; ++bh) {
            const int64_t b = bh / Hr, h = bh % Hr;
            const float* xb = x + b * T * 3 * C + (Hl + h) * D;
            std::vector<int32_t>& rows = plan->rows[size_t(bh)];
            rows = route_tokens(xb, 3 * C, lens[size_t(b)], D, centroids.data() + h * K * D, K,
                                nearest ? nearest->data() + bh * T : nullptr);
            std::vector<int32_t> count(static_cast<size_t>(T), 0);
            for (int32_t t : rows) ++count[size_t(t)];
            std::vector<float>& wt = plan->weight[size_t(bh)];
            wt.resize(rows.size());
            for (size_t r = 0; r < rows.size(); ++r) {
                wt[r] = 1.0f / float(count[size_t(rows[r])]);
                float* gr = g.data() + (b * Tg + int64_t(r)) * 2 * HrD + h * D;
                const float* src = xb + rows[r] * 3 * C;
                std::copy(src, src + D, gr);                        // query (= key)
                std::copy(src + 2 * C, src + 2 * C + D, gr + HrD);  // value
            }
        }
        og = Tensor::empty({B, Tg, HrD});
        lse = Tensor::empty({B, Hr, Tg});
        const AttentionDims dims{1, int(Tg), Hr, D};
        for (int64_t b = 0; b < B; ++b) {
            const int len = lens[size_t(b)], w = len > 0 ? (len + K - 1) / K : 0;
            plan->patterns.push_back(cluster_pattern(K, w, int(Tg)));
            plan->gathered.push_back(K * w);
            if (w == 0) continue;
            const float* gb = g.data() + b * Tg * 2 * HrD;
            AttentionParams pb = pr;
            pb.dropout_seed = mix64(pr.dropout_seed + uint64_t(b));
            block_attention_forward(og.data() + b * Tg * HrD, int(HrD), lse.data() + b * Hr * Tg,
                                    gb, gb, gb + HrD, int(2 * HrD), &plan->gathered.back(), dims,
                                    pb, &plan->patterns.back());
        }
        // Average each token's outputs over the clusters that took it.
#pragma omp parallel for schedule(static)
        for (int64_t bh = 0; bh < BH; ++bh) {
            const int64_t b = bh / Hr, h = bh % Hr;
            const std::vector<int32_t>& rows = plan->rows[size_t(bh)];
            for (size_t r = 0; r < rows.size(); ++r) {
                const float* o = og.data() + (b * Tg + int64_t(r)) * HrD + h * D;
                float* y = out->value.data() + (b * T + rows[r]) * C + (Hl + h) * D;
                const float wt = plan->weight[size_t(bh)][r];
                for (int d = 0; d < D; ++d) y[d] += wt * o[d];
            }
        }
    }

    if (needs_grad({&qkv})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                float* dx = qkv->grad_buffer().data();
                const float* xx = qkv->value.data();
                const float* dout = out->grad.data();
                if (Hl > 0)
                    block_attention_backward(dx, dx + C, dx + 2 * C, int(3 * C), dout, int(C),
                                             out->value.data(), local_lse.data(), xx, xx + C,
                                             xx + 2 * C, int(3 * C), lens.data(), local_dims, p,
                                             local.get());
                if (Hr == 0) return;
                const int64_t BH = B * Hr;
                Tensor dog = Tensor::zeros({B, Tg, HrD}), dg = Tensor::zeros({B, Tg, 3 * HrD});
#pragma omp parallel for schedule(static)
                for (int64_t bh = 0; bh < BH; ++bh) {
                    const int64_t b = bh / Hr, h = bh % Hr;
                    const std::vector<int32_t>& rows = plan->rows[size_t(bh)];
                    for (size_t r = 0; r < rows.size(); ++r) {
                        const float* dy = dout + (b * T + rows[r]) * C + (Hl + h) * D;
                        float* d = dog.data() + (b * Tg + int64_t(r)) * HrD + h * D;
                        const float wt = plan->weight[size_t(bh)][r];
                        for (int k = 0; k < D; ++k) d[k] = wt * dy[k];
                    }
                }
                const AttentionDims dims{1, int(Tg), Hr, D};
                for (int64_t b = 0; b < B; ++b) {
                    if (plan->gathered[size_t(b)] == 0) continue;
                    const float* gb = g.data() + b * Tg * 2 * HrD;
                    float* db = dg.data() + b * Tg * 3 * HrD;
                    AttentionParams pb = pr;
                    pb.dropout_seed = mix64(pr.dropout_seed + uint64_t(b));
                    block_attention_backward(db, db + HrD, db + 2 * HrD, int(3 * HrD),
                                             dog.data() + b * Tg * HrD, int(HrD),
                                             og.data() + b * Tg * HrD, lse.data() + b * Hr * Tg, gb,
                                             gb, gb + HrD, int(2 * HrD), &plan->gathered[size_t(b)],
                                             dims, pb, &plan->patterns[size_t(b)]);
                }
            // Scatter back: the shared query-key row gets its query and its key gradient.
#pragma omp parallel for schedule(static)
                for (int64_t bh = 0; bh < BH; ++bh) {
                    const int64_t b = bh / Hr, h = bh % Hr;
                    const std::vector<int32_t>& rows = plan->rows[size_t(bh)];
                    for (size_t r = 0; r < rows.size(); ++r) {
                        const float* d = dg.data() + (b * Tg + int64_t(r)) * 3 * HrD + h * D;
                        float* t = dx + (b * T + rows[r]) * 3 * C + (Hl + h) * D;
                        for (int k = 0; k < D; ++k) {
                            t[k] += d[k] + d[HrD + k];
                            t[2 * C + k] += d[2 * HrD + k];
                        }
                    }
                }
            },
            {out});
    }
    return out;
}

void update_centroids(Tensor& centroids, const Tensor& qkv, int heads, int local_heads,
                      const std::vector<int32_t>& lengths, double decay,
                      const std::vector<int32_t>& nearest) {
    const int64_t B = qkv.dim(0), T = qkv.dim(1), C = qkv.dim(2) / 3;
    const int D = int(C / heads), Hl = local_heads, Hr = heads - local_heads;
    const int K = int(centroids.dim(1));
    // Per (head, cluster): the sum of its tokens' normalised queries, then their count.
    std::vector<double> acc(size_t(Hr) * K * (D + 1), 0.0);
#pragma omp parallel for schedule(static)
    for (int h = 0; h < Hr; ++h) {
        std::vector<float> qn(static_cast<size_t>(D));
        for (int64_t b = 0; b < B; ++b) {
            const float* xb = qkv.data() + b * T * 3 * C + (Hl + h) * D;
            const int32_t* near = nearest.data() + (b * Hr + h) * T;
            for (int t = 0; t < lengths[size_t(b)]; ++t) {
                normalise_row(xb + t * 3 * C, D, qn.data());
                double* a = acc.data() + (size_t(h) * K + size_t(near[t])) * (D + 1);
                for (int d = 0; d < D; ++d) a[d] += qn[d];
                a[D] += 1.0;
            }
        }
    }
    if (world_size() > 1) allreduce_sum(acc.data(), int64_t(acc.size()));
    std::vector<float> mean(static_cast<size_t>(D)), mixed(static_cast<size_t>(D));
    for (int64_t hc = 0; hc < int64_t(Hr) * K; ++hc) {
        const double* a = acc.data() + hc * (D + 1);
        if (a[D] == 0) continue;
        for (int d = 0; d < D; ++d) mean[d] = float(a[d]);
        normalise_row(mean.data(), D, mean.data());
        float* mu = centroids.data() + hc * D;
        for (int d = 0; d < D; ++d) mixed[d] = float(decay * mu[d] + (1.0 - decay) * mean[d]);
        normalise_row(mixed.data(), D, mu);
    }
}

void update_centroids(Tensor& centroids, const Tensor& qkv, int heads, int local_heads,
                      const std::vector<int32_t>& lengths, double decay) {
    const int64_t B = qkv.dim(0), T = qkv.dim(1), C = qkv.dim(2) / 3;
    const int D = int(C / heads), Hl = local_heads, Hr = heads - local_heads;
    const int K = int(centroids.dim(1));
    std::vector<int32_t> nearest(size_t(B * Hr * T), 0);
#pragma omp parallel for schedule(dynamic)
    for (int64_t bh = 0; bh < B * Hr; ++bh) {
        const int64_t b = bh / Hr, h = bh % Hr;
        const int len = lengths[size_t(b)];
        const std::vector<double> s = token_scores(qkv.data() + b * T * 3 * C + (Hl + h) * D, 3 * C,
                                                   len, D, centroids.data() + h * K * D, K);
        nearest_centroids(s, len, K, nearest.data() + bh * T);
    }
    update_centroids(centroids, qkv, heads, local_heads, lengths, decay, nearest);
}

namespace {

class RoutingAttention : public AttentionKernel {
  public:
    RoutingAttention(const RoutingOptions& o, Var centroids, float dropout, int layer)
        : o_(o), centroids_(std::move(centroids)), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const Tensor none;
        const bool update = ctx.training && centroids_;
        std::vector<int32_t> nearest;
        Var out = routing_attention(qkv, heads, o_.local_heads, o_.window,
                                    centroids_ ? centroids_->value : none, ctx, dropout_, layer_,
                                    update ? &nearest : nullptr);
        // The assignment above used the centroids as they were; the k-means step moves them
        // for the next call (no gradient reaches them), from the scores the routing computed.
        if (update)
            update_centroids(centroids_->value, qkv->value, heads, o_.local_heads, *ctx.lengths,
                             o_.decay, nearest);
        return out;
    }

  private:
    RoutingOptions o_;
    Var centroids_;  // (H - local_heads, K, D) unit rows; null without routing heads
    float dropout_;
    int layer_;
};

}  // namespace

// Saves the output, the local heads' lse, the gathered q and v, their outputs and lse; backward
// holds the gathered output and input gradients and the kernel's scratch.
MixerFootprint routing_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const RoutingOptions o = read_routing_options(spec);
    const double K = routing_clusters(spec, o), D = spec.dim / spec.heads;
    const double Hl = o.local_heads, Hr = spec.heads - o.local_heads;
    const double A = shape.B * shape.T * spec.dim, Tg = K * std::ceil(shape.T / K);
    const double gathered = shape.B * Tg * Hr * D;
    const double saved = A + shape.B * Hl * shape.T + 3 * gathered + shape.B * Hr * Tg;
    return attention_mixer_footprint(spec, shape, Hr * K * D, saved,
                                     4 * gathered + block_attention_scratch(spec, shape));
}

std::unique_ptr<Mixer> make_routing_mixer(const MixerSpec& spec, ParameterStore& params) {
    const RoutingOptions o = read_routing_options(spec);
    const int Hr = spec.heads - o.local_heads, D = spec.dim / spec.heads;
    Var centroids;
    if (Hr > 0) {
        const int K = routing_clusters(spec, o);
        centroids = params.normal(spec.prefix + "routing.centroids",
                                  {int64_t(Hr), int64_t(K), int64_t(D)}, 1.0f, false);
        params.set_untrained(centroids);
        float* mu = centroids->value.data();
        for (int64_t r = 0; r < int64_t(Hr) * K; ++r) normalise_row(mu + r * D, D, mu + r * D);
    }
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<RoutingAttention>(o, std::move(centroids), spec.attention_dropout,
                                           spec.layer));
}

}  // namespace xb
