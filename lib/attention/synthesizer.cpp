// `synthesizer`: Synthesizer (Tay et al. 2021, xformers.md 1.12). Attention logits synthesised
// without (or besides) query-key dot products, then softmax over valid keys times V:
//   dense:             logits_i = W₂ relu(q_i) + b₂ ∈ R^{max_len}, per head, sliced to T (the
//                      first layer is the query projection);
//   random:            a learned R_h (max_len × max_len) per head, sliced to T × T;
//   factorized_random: R_h = R1_h R2_hᵀ with R1, R2 (max_len × k);
// optionally plus q·k/√D (mix_dot_product). O(T²) time and memory by design: the (B, H, T, T)
// probabilities are saved for backward (the logits are never kept). Not an approximation of
// `full`, so no exactness limit (with mix_dot_product and R = 0 it equals full attention).
#include <algorithm>
#include <cmath>

#include "attention/head_split.h"
#include "core/vec_math.h"

namespace xb {

namespace {

// Softmax over valid keys of the summed logits dot (B, H, T, T) + dense (B, H, T, L)[.., :T] +
// random (H, T, T), any of them null -> probabilities (B, H, T, T); padded query rows are 0.
Var synthetic_probabilities(const Var& dot, const Var& dense, const Var& random, int64_t B,
                            int64_t H, int64_t T, const std::vector<int32_t>& lengths) {
    const int64_t L = dense ? dense->value.dim(3) : T;
    Var out = make_var(Tensor::empty({B, H, T, T}));
    float* p = out->value.data();
    const float* dv = dot ? dot->value.data() : nullptr;
    const float* nv = dense ? dense->value.data() : nullptr;
    const float* rv = random ? random->value.data() : nullptr;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < B * H * T; ++row) {
        const int64_t b = row / (H * T), hi = row % (H * T), i = row % T;
        const int64_t n = i < lengths[size_t(b)] ? lengths[size_t(b)] : 0;
        float* pr = p + row * T;
        for (int64_t j = 0; j < n; ++j)
            pr[j] = (dv ? dv[row * T + j] : 0.0f) + (nv ? nv[row * L + j] : 0.0f) +
                    (rv ? rv[hi * T + j] : 0.0f);
        const float inv = n > 0 ? 1.0f / max_subtract_exp_sum(pr, int(n)) : 0.0f;
        for (int64_t j = 0; j < n; ++j) pr[j] *= inv;
        std::fill(pr + n, pr + T, 0.0f);
    }
    if (needs_grad({&dot, &dense, &random})) {
        out->requires_grad = true;
        tape().push(
            [=] {
                // dlogits = p ⊙ (dp − Σ p·dp), recomputed per row for each consumer; the random
                // table's gradient sums over b in a fixed order inside the thread owning (h, i).
                const float* pv = out->value.data();
                const float* g = out->grad.data();
                auto row_dot = [&](int64_t row) {
                    float s = 0.0f;
                    for (int64_t j = 0; j < T; ++j) s += pv[row * T + j] * g[row * T + j];
                    return s;
                };
                float* dd = dot && dot->requires_grad ? dot->grad_buffer().data() : nullptr;
                float* dn = dense && dense->requires_grad ? dense->grad_buffer().data() : nullptr;
                if (dd || dn) {
#pragma omp parallel for schedule(static)
                    for (int64_t row = 0; row < B * H * T; ++row) {
                        const float s = row_dot(row);
                        for (int64_t j = 0; j < T; ++j) {
                            const float dl = pv[row * T + j] * (g[row * T + j] - s);
                            if (dd) dd[row * T + j] += dl;
                            if (dn) dn[row * L + j] += dl;
                        }
                    }
                }
                if (random && random->requires_grad) {
                    float* dr = random->grad_buffer().data();
#pragma omp parallel for schedule(static)
                    for (int64_t hi = 0; hi < H * T; ++hi)
                        for (int64_t b = 0; b < B; ++b) {
                            const int64_t row = b * H * T + hi;
                            const float s = row_dot(row);
                            for (int64_t j = 0; j < T; ++j)
                                dr[hi * T + j] += pv[row * T + j] * (g[row * T + j] - s);
                        }
                }
            },
            {out});
    }
    return out;
}

struct SynthesizerOptions {
    std::string mode;
    int k;
    bool mix_dot_product;
};

class SynthesizerAttention : public AttentionKernel {
  public:
    SynthesizerAttention(const SynthesizerOptions& o, std::vector<Var> tables, float dropout,
                         int layer)
        : o_(o), tables_(std::move(tables)), dropout_(dropout), layer_(layer) {}

    Var attend(const Var& qkv, int heads, const MixContext& ctx) override {
        const int64_t B = qkv->value.dim(0), T = qkv->value.dim(1);
        HeadMajorQkv h = split_qkv(qkv, heads);
        Var dot, dense, random;
        if (o_.mix_dot_product)
            dot = batched_matmul(h.q, h.k, false, true, 1.0f / std::sqrt(float(h.q->value.dim(3))));
        if (o_.mode == "dense") {  // (B, T, C) -> (B, T, H·L) -> (B, H, T, L)
            Var hidden = relu(merge_heads(h.q));
            dense = split_heads(linear(hidden, tables_[0], tables_[1]), heads, 0, 1);
        } else if (o_.mode == "random") {
            random = slice_leading(tables_[0], T, T);  // (H, T, T)
        } else {
            Var r1 = slice_leading(tables_[0], T, o_.k), r2 = slice_leading(tables_[1], T, o_.k);
            random = batched_matmul(r1, r2, false, true);  // (H, T, T)
        }
        Var probs = synthetic_probabilities(dot, dense, random, B, heads, T, *ctx.lengths);
        probs = attention_dropout(probs, dropout_, ctx, layer_);
        return merge_heads(batched_matmul(probs, h.v, false, false));
    }

  private:
    SynthesizerOptions o_;
    std::vector<Var> tables_;  // dense: W₂ (H·L, C), b₂ (H·L); random: R; factorized: R1, R2
    float dropout_;
    int layer_;
};

SynthesizerOptions read_synthesizer_options(const MixerSpec& spec) {
    OptionReader opts(spec.options, "model.attention.options");
    SynthesizerOptions o;
    o.mode = opts.get_choice("mode", "random", {"dense", "random", "factorized_random"});
    o.k = opts.get_int_at_least("k", 32, 1);
    o.mix_dot_product = opts.get_bool("mix_dot_product", false);
    opts.finish();
    if (o.mode == "factorized_random" && o.k > spec.max_len)
        throw ConfigError(
            fmt::format("model.attention.options.k={}: must be <= max_len={}", o.k, spec.max_len));
    return o;
}

}  // namespace

// Saves the head splits, the synthetic logits' inputs and the (B, H, T, T) probabilities.
MixerFootprint synthesizer_footprint(const MixerSpec& spec, const MixerShape& shape) {
    const SynthesizerOptions o = read_synthesizer_options(spec);
    const double H = spec.heads, L = spec.max_len, C = spec.dim, T = shape.T;
    const double A = shape.B * T * C, probs = shape.B * H * T * T;
    double params = 0, logits = 0, largest = 0;  // the logits' tensors, the largest of them
    if (o.mode == "dense") {
        params = H * L * C + H * L;
        largest = shape.B * T * H * L;  // the dense logits and their head split
        logits = 2 * A + 2 * largest;   // merge, relu, dense logits and their split
    } else if (o.mode == "random") {
        params = H * L * L;
        logits = largest = H * T * T;
    } else {
        params = 2 * H * L * o.k;
        largest = H * T * T;
        logits = 2 * H * T * o.k + largest;
    }
    if (o.mix_dot_product) logits += probs, largest = probs;
    const double drop = spec.attention_dropout > 0 ? probs : 0;
    const double saved = 3 * A + logits + probs + drop + 2 * A;
    // Backward: the gradient of the probabilities beside that of the largest logits tensor;
    // the products after the softmax are already freed.
    return attention_mixer_footprint(spec, shape, params, saved, probs + largest);
}

std::unique_ptr<Mixer> make_synthesizer_mixer(const MixerSpec& spec, ParameterStore& params) {
    const SynthesizerOptions o = read_synthesizer_options(spec);
    const int64_t H = spec.heads, L = spec.max_len, C = spec.dim;
    const std::string p = spec.prefix + "synthesizer.";
    std::vector<Var> tables;
    if (o.mode == "dense") {
        tables.push_back(params.xavier(p + "dense.weight", H * L, C));
        tables.push_back(params.constant(p + "dense.bias", {H * L}, 0.0f));
    } else if (o.mode == "random") {
        tables.push_back(params.normal(p + "random", {H, L, L}, 0.02f, true));
    } else {
        const float stddev = 1.0f / std::sqrt(std::sqrt(float(o.k)));
        tables.push_back(params.normal(p + "factor1", {H, L, o.k}, stddev, true));
        tables.push_back(params.normal(p + "factor2", {H, L, o.k}, stddev, true));
    }
    return std::make_unique<AttentionMixer>(
        spec, params,
        std::make_unique<SynthesizerAttention>(o, std::move(tables), spec.attention_dropout,
                                               spec.layer));
}

}  // namespace xb
