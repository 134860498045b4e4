// `routing` (Routing Transformer, Roy et al. 2021; xformers.md 1.10), exposed so the tests can
// check the routing step, the routed attention and the centroid update one at a time.
// Routing heads (the last heads - local_heads heads) share queries and keys: each head's
// l2-normalised queries are scored against K unit centroids (model state, updated by an
// exponential moving average of k-means steps in training, fixed at evaluation); every cluster
// takes its w = ceil(length / K) best-scoring valid tokens (ties: lower position first), so
// the work is K equal blocks; each token attends, with logits scale·q_i·q_j, to the tokens of a
// cluster that took it, and the outputs of a token taken by several clusters are averaged. A
// token no cluster takes outputs 0 in the routing heads (the residual carries it, as in the
// reference implementation's scatter-mean). The first local_heads heads attend within
// non-overlapping blocks of `window` positions. The assignment is not differentiable.
#pragma once
#include <cstdint>
#include <vector>

#include "attention/mixer.h"

namespace xb {

struct RoutingOptions {
    int cluster_size = 64;  // tokens per cluster at max_len: K = ceil(max_len / cluster_size)
    int local_heads = 0;    // default heads / 2
    int window = 64;        // block of the local heads
    double decay = 0.999;   // EMA decay of the centroids
};

RoutingOptions read_routing_options(const MixerSpec& spec);
int routing_clusters(const MixerSpec& spec, const RoutingOptions& o);

// The tokens each of the K clusters takes for one (batch row, head): q rows t < length at
// q[t·ld .. t·ld + D), centroids (K, D) unit rows -> K·w positions, cluster c's in ascending
// order at [c·w, (c+1)·w), w = ceil(length / K). Empty for length 0. With `nearest`, also
// writes each token's nearest centroid (the k-means assignment) to nearest[0 .. length).
std::vector<int32_t> route_tokens(const float* q, int64_t ld, int length, int D,
                                  const float* centroids, int K, int32_t* nearest = nullptr);

// The attention of all heads before the output projection: qkv (B, T, 3C) -> (B, T, C);
// centroids (H - local_heads, K, D). Padded rows output 0. Attention dropout p in training.
// With `nearest`, also returns every valid token's nearest centroid, (B, H - local_heads, T)
// flat (padded tokens 0), for update_centroids.
Var routing_attention(const Var& qkv, int heads, int local_heads, int window,
                      const Tensor& centroids, const MixContext& ctx, float dropout, int layer,
                      std::vector<int32_t>* nearest = nullptr);

// One online k-means step: every valid token's normalised query goes to its nearest centroid
// (largest dot product); a centroid that got tokens becomes
// normalise(decay·μ + (1 - decay)·normalise(Σ tokens)), the sums taken over all ranks.
void update_centroids(Tensor& centroids, const Tensor& qkv, int heads, int local_heads,
                      const std::vector<int32_t>& lengths, double decay);
// The same step with the assignments routing_attention returned for these centroids and qkv.
void update_centroids(Tensor& centroids, const Tensor& qkv, int heads, int local_heads,
                      const std::vector<int32_t>& lengths, double decay,
                      const std::vector<int32_t>& nearest);

}  // namespace xb
