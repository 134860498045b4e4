// The MixerSpec of the variant tests: width 16, 2 heads, max_len 16, layer 0, seed 5, parameters
// named "mixer.*"; a test sets the fields it varies by name.
#pragma once
#include <nlohmann/json.hpp>

#include "attention/mixer.h"

namespace xb::test {

inline MixerSpec test_mixer_spec(nlohmann::json options) {
    MixerSpec spec;
    spec.dim = 16;
    spec.heads = 2;
    spec.max_len = 16;
    spec.seed = 5;
    spec.options = std::move(options);
    spec.prefix = "mixer.";
    return spec;
}

}  // namespace xb::test
