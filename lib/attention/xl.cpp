// `xl`: Transformer-XL (Dai et al. 2019) segment-level recurrence with relative positions, for a
// classifier (segment_recurrence.h). Options: segment (128), memory (1 segment).
#include "attention/segment_recurrence.h"

namespace xb {

MixerFootprint xl_footprint(const MixerSpec& spec, const MixerShape& shape) {
    return segment_recurrence_footprint(spec, shape, read_segment_recurrence_options(spec, false));
}

std::unique_ptr<Mixer> make_xl_mixer(const MixerSpec& spec, ParameterStore& params) {
    return std::make_unique<SegmentRecurrenceMixer>(spec, params,
                                                    read_segment_recurrence_options(spec, false));
}

}  // namespace xb
