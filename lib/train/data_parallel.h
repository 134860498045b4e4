// Data-parallel training steps: every rank holds the same model, takes a fixed share of each
// global batch, and the ranks' gradients are summed before clipping and AdamW, so all ranks make
// the same update — the one a single process makes on the whole batch, up to float rounding.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/parameters.h"

namespace xb {

class GradientSync {
  public:
    explicit GradientSync(const ParameterStore& params) : params_(params) {}
    // The local gradients are of a mean loss over local_rows examples; scales them by
    // local_rows / global_rows and sums them over ranks (one MPI_Allreduce), so every rank
    // holds the gradient of the mean loss over the global batch. A parameter that no rank
    // touched keeps no gradient, as in a single process. Does nothing in a group of one.
    void sync(int64_t local_rows, int64_t global_rows);

  private:
    const ParameterStore& params_;
    std::vector<float> buffer_;  // all gradients, then one "has a gradient" flag per parameter
};

// Sums the values over ranks (in place) when there is more than one rank.
void sum_over_ranks(std::vector<double>& values);

}  // namespace xb
