// Batching helpers; see batching.h.
#include "train/batching.h"

#include <algorithm>
#include <numeric>

#include "core/rng.h"

namespace xb {

static SequenceBatch pad_sequences(const std::vector<const std::vector<int32_t>*>& seqs) {
    SequenceBatch s;
    s.B = int64_t(seqs.size());
    for (const auto* q : seqs) s.T = std::max<int64_t>(s.T, int64_t(q->size()));
    s.T = std::max<int64_t>(s.T, 1);
    s.ids.assign(size_t(s.B * s.T), 0);
    for (int64_t b = 0; b < s.B; ++b) {
        std::copy(seqs[b]->begin(), seqs[b]->end(), s.ids.begin() + b * s.T);
        s.lengths.push_back(int32_t(seqs[b]->size()));
    }
    return s;
}

Batch make_batch(const std::vector<Example>& examples, const std::vector<int64_t>& order,
                 int64_t begin, int64_t end, bool pair) {
    Batch batch;
    std::vector<const std::vector<int32_t>*> first, second;
    for (int64_t i = begin; i < end; ++i) {
        const Example& ex = examples[size_t(order[i])];
        first.push_back(&ex.tokens);
        second.push_back(&ex.tokens2);
        batch.labels.push_back(ex.label);
    }
    batch.first = pad_sequences(first);
    if (pair) batch.second = pad_sequences(second);
    return batch;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng rng(seed, 0x5eed0000ULL + uint64_t(epoch));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(0, i)]);
    return order;
}

std::vector<int32_t> argmax_rows(const Tensor& logits) {
    const int64_t B = logits.dim(0), K = logits.dim(1);
    std::vector<int32_t> out(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
        const float* row = logits.data() + b * K;
        out[b] = int32_t(std::max_element(row, row + K) - row);
    }
    return out;
}

}  // namespace xb
