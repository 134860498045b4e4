// Shared machinery of the pattern-based variants (local, sliding, sparse, longformer, bigbird):
// an AttentionKernel that runs the fused block-list kernel (block_attention.h) over a pattern
// made by the variant, cached per (T, H), and a builder that turns per-query-block key sets
// (window keys, to which the band applies, and band-exempt keys) into a BlockPattern.
// A pattern holds O(query blocks · ranges) integers, never anything per (query, key) element.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attention/block_attention.h"
#include "attention/mixer.h"
#include "config/option_reader.h"

namespace xb {

using KeyRange = std::pair<int32_t, int32_t>;  // [begin, end)

// Attention through block_attention_forward/backward with `pattern` (nullptr: all valid keys).
// Dropout masks depend on (run seed, step, layer). Saves out, the row lse (B, H, T) and the
// pattern for backward.
Var block_attention_op(const Var& qkv, int heads, const MixContext& ctx, float dropout, int layer,
                       std::shared_ptr<const BlockPattern> pattern);

// Builds a BlockPattern one query block at a time, heads outer, blocks inner.
class PatternBuilder {
  public:
    // Uniform query blocks of `query_block` rows, or explicit boundaries (block_starts, 0..T).
    PatternBuilder(int query_block, int band, bool per_head,
                   std::vector<int32_t> block_starts = {});
    // Key set of the next query block: the union of `banded` (masked to |i - j| <= band) and
    // `exempt` (no band). Ranges may overlap and run past [0, T); they are clipped to T.
    void add_block(std::vector<KeyRange> banded, std::vector<KeyRange> exempt, int T);
    BlockPattern finish();

  private:
    BlockPattern pattern_;
};

// Sorts ranges, clips them to [0, T) and merges overlapping or touching ones.
std::vector<KeyRange> merge_ranges(std::vector<KeyRange> ranges, int T);

// The kernel of every pattern variant: make(T, H) builds the pattern for a padded length T and
// H heads (random choices must be a pure function of the variant's seed, layer and head); it is
// called once per distinct (T, H) and cached.
class PatternAttention : public AttentionKernel {
  public:
    using Factory = std::function<BlockPattern(int T, int H)>;
    PatternAttention(float dropout, int layer, Factory make)
        : dropout_(dropout), layer_(layer), make_(std::move(make)) {}
    Var attend(const Var& qkv, int heads, const MixContext& ctx) override;

  private:
    float dropout_;
    int layer_;
    Factory make_;
    std::map<std::pair<int, int>, std::shared_ptr<const BlockPattern>> cache_;
};

// Reads the sliding-window option `window` (positive, even) and returns the band window/2.
int read_half_window(OptionReader& opts, int def);

// The AttentionMixer of a pattern variant.
std::unique_ptr<Mixer> make_pattern_mixer(const MixerSpec& spec, ParameterStore& params,
                                          PatternAttention::Factory make);

}  // namespace xb
