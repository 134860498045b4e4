// The model: a pre-LN Transformer encoder with a pluggable mixer per block, pooling and an MLP
// head. Single-sequence tasks use the classifier head; pair tasks (retrieval) encode both
// documents with the same (shared) encoder and classify [u, v, u*v, u-v] (dual-encoder head).
//
//   ids -> Embedding (+ CLS) + positions -> dropout
//       -> layers x [ x + drop(Mixer(LN(x))) ; x + drop(FFN(LN(x))) ] -> LN -> pool -> head
#pragma once
#include <memory>
#include <vector>

#include "attention/mixer.h"
#include "autograd/parameters.h"
#include "config/run_config.h"

namespace xb {

// A padded batch. ids are (B, T) row-major with 0 as padding; lengths[b] <= T.
struct SequenceBatch {
    int64_t B = 0, T = 0;
    std::vector<int32_t> ids;
    std::vector<int32_t> lengths;
};

struct Batch {
    SequenceBatch first;
    SequenceBatch second;  // pair tasks only
    std::vector<int32_t> labels;
};

// The MixerSpec of block `layer` of a model of this config (width, heads, attention dropout and
// options; parameters named "blocks.<layer>.mixer.*"). max_len: the longest sequence the mixer
// sees, a CLS token included.
MixerSpec block_mixer_spec(const ModelConfig& cfg, int layer, int max_len, uint64_t seed);

class Classifier {
  public:
    // variant: cfg.attention.variant's registry entry, resolved once by the caller
    // (setup/run_setup.h). max_len: the longest sequence the model will see (learned positions
    // are sized by it).
    Classifier(const ModelConfig& cfg, const VariantEntry& variant, int vocab_size, int num_classes,
               int max_len, bool pair, uint64_t seed);
    // logits (B, K)
    Var forward(const Batch& batch, bool training, int64_t step);
    ParameterStore& params() { return params_; }
    const ParameterStore& params() const { return params_; }

  private:
    struct Block {
        Var ln1_g, ln1_b, ln2_g, ln2_b, w1, b1, w2, b2;
        std::unique_ptr<Mixer> mixer;
    };
    // (B, T) ids -> pooled (B, C)
    Var encode(const SequenceBatch& seq, bool training, int64_t step, uint64_t stream);
    Var drop(const Var& x, bool training, int64_t step, uint64_t stream);
    // x + drop(h): the residual branch, fused into one pass when dropout is on.
    Var residual(const Var& x, const Var& h, bool training, int64_t step, uint64_t stream);
    uint64_t dropout_seed(int64_t step) const;

    ModelConfig cfg_;
    bool pair_;
    uint64_t seed_;
    int max_len_;
    ParameterStore params_;
    Var embed_, cls_, positions_, final_g_, final_b_;
    std::vector<Block> blocks_;
    std::vector<Var> head_w_, head_b_;
};

}  // namespace xb
