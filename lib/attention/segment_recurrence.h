// The mixer shared by `xl` (Transformer-XL, Dai et al. 2019) and `compressive` (Compressive
// Transformer, Rae et al. 2020): segment-level recurrence for a classifier. The sequence is cut
// into segments; each segment attends to itself, to the layer inputs of the previous `memory`
// segments and (compressive) to a compressed memory of the `compressed` segments before those,
// all through stop-gradient copies of the layer input, with XL's relative positions (sinusoidal
// R, learned W_r, biases u and v). All segments of a layer are computed at once (the whole
// sequence is present), by ops.h segment_attention.
#pragma once
#include <string>

#include "attention/cross_attention.h"
#include "ops/ops.h"

namespace xb {

struct SegmentRecurrenceOptions {
    SegmentLayout layout;
    bool learned_compression = true;  // compressive: 1-D strided convolution, else mean pooling
};

// Reads `segment` and `memory` (and, when compressive, `compressed`, `rate` and `compression`)
// strictly from model.attention.options.
SegmentRecurrenceOptions read_segment_recurrence_options(const MixerSpec& spec, bool compressive);

// The sinusoidal relative position table R (offsets, C) of Transformer-XL: row o is offset
// o − (segment − 1), columns [sin(offset·f_k); cos(offset·f_k)], f_k = 10000^(−2k/C).
Tensor relative_position_table(const SegmentLayout& layout, int64_t C);

class SegmentRecurrenceMixer : public Mixer {
  public:
    SegmentRecurrenceMixer(const MixerSpec& spec, ParameterStore& params,
                           const SegmentRecurrenceOptions& options);
    Var forward(const Var& x, const MixContext& ctx) override;

  private:
    int heads_, layer_;
    float dropout_;
    SegmentRecurrenceOptions o_;
    CrossProjections proj_;
    Var u_, v_, w_r_, r_table_;
    Var w_c_, b_c_;  // compression (C, rate·C) and bias; mean pooling: a constant w_c_, no bias
};

MixerFootprint segment_recurrence_footprint(const MixerSpec& spec, const MixerShape& shape,
                                            const SegmentRecurrenceOptions& options);

}  // namespace xb
