// Shared machinery of the generated tasks: index-local, class-balanced generation of the three
// splits, byte/pixel token conversion (id = value + 1, 0 = padding) and directory helpers for
// the loaders and writers.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "tasks/task.h"

namespace xb {

// Split streams: example i of split s is a pure function of (seed, task stream, s, i), so the
// first N train examples are the same whatever n_train, n_val and n_test are, and generation is
// parallel (OpenMP, static) without depending on the thread count.
enum class SplitId : uint64_t { kTrain = 1, kVal = 2, kTest = 3 };

// The label of example `index`: each block of num_classes consecutive examples holds every label
// once, in an order drawn from the seed. So every prefix of a split is balanced to within one
// example per class.
int32_t balanced_label(uint64_t seed, uint64_t stream, int64_t index, int num_classes);

// Builds one example for a label from its own Rng.
using ExampleMaker = std::function<Example(Rng& rng, int32_t label)>;

// Throws ConfigError unless n_train, n_val, n_test >= 0 and max_len > 0.
void check_generation_sizes(const TaskConfig& cfg);

// Generates the splits with sizes from cfg: example i of split s gets label
// balanced_label(seed, stream ^ s, i, num_classes) and Rng(seed, mixed(stream, s, i)).
Dataset generate_balanced_splits(const TaskConfig& cfg, uint64_t seed, uint64_t stream,
                                 int num_classes, const ExampleMaker& make);

// Bytes or 8-bit pixels to token ids (value + 1, so no byte or pixel is padding), truncated to
// max_len; and back.
std::vector<int32_t> bytes_to_tokens(const std::string& bytes, int max_len);
std::vector<int32_t> pixels_to_tokens(const std::vector<uint8_t>& pixels);
std::string tokens_to_bytes(const std::vector<int32_t>& tokens);
std::vector<uint8_t> tokens_to_pixels(const std::vector<int32_t>& tokens);
constexpr int kByteVocabSize = 257;  // 256 byte or pixel values + padding id 0

// ASCII art of a side x side grayscale image (tokens = value + 1), two characters per cell, a
// cell being the maximum of a `pool` x `pool` block of pixels (pool > 1 shrinks large images).
std::string ascii_image(const std::vector<int32_t>& tokens, int side, int pool = 1);

// Truncates every sequence of every split to max_len tokens (loaders of fixed-size images).
void truncate_dataset(Dataset& data, int max_len);

}  // namespace xb
