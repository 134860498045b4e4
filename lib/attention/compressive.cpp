// `compressive`: Compressive Transformer (Rae et al. 2020), `xl` plus a compressed memory of the
// segments before the memory (segment_recurrence.h). Options: segment (128), memory (1),
// compressed (1 segment), rate (4), compression ("conv" or "mean").
#include "attention/segment_recurrence.h"

namespace xb {

MixerFootprint compressive_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return segment_recurrence_footprint(spec, shape, read_segment_recurrence_options(spec, true));
}

std::unique_ptr<Mixer> make_compressive_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<SegmentRecurrenceMixer>(spec, params,
                                                    read_segment_recurrence_options(spec, true));
}

}  // namespace xb
