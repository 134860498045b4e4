// Turning examples into padded batches: ids (B, T) with 0 as padding, T = the longest sequence
// in the batch (so short batches cost less), lengths per row, labels.
#pragma once
#include <cstdint>
#include <vector>

#include "model/classifier.h"
#include "tasks/task.h"

namespace xb {

// Examples examples[order[i]] for i in [begin, end).
Batch make_batch(const std::vector<Example>& examples, const std::vector<int64_t>& order,
                 int64_t begin, int64_t end, bool pair);

// A permutation of [0, n) for one epoch, deterministic from (seed, epoch).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// Index of the largest logit per row: logits (B, K) -> B classes.
std::vector<int32_t> argmax_rows(const Tensor& logits);

}  // namespace xb
