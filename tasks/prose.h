// Readable filler prose for the byte-level text tasks: neutral phrases joined into capitalised
// sentences, with task-chosen "special" phrases (sentiment cues, topic words) interleaved at
// uniformly random positions, so their evidence is spread through the whole document.
#pragma once
#include <string>
#include <vector>

#include "core/rng.h"

namespace xb {

// A document of about target_bytes bytes (never more than max_bytes) in which every phrase of
// `specials` appears once, in the given order, at positions drawn uniformly among the filler.
// Precondition: the specials alone, with separators, fit in max_bytes.
std::string render_prose(Rng& rng, const std::vector<std::string>& specials, int target_bytes,
                         int max_bytes);

// Bytes that render_prose needs at least for these specials (phrases, spaces, punctuation).
int prose_min_bytes(const std::vector<std::string>& specials);

// A uniformly drawn element.
template <typename T>
const T& pick(Rng& rng, const std::vector<T>& items) {
    return items[size_t(rng.uniform_int(0, int64_t(items.size()) - 1))];
}

}  // namespace xb
