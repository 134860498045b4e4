// The data-parallel process group: this process's rank among how many, and the few collectives
// that training needs. Over MPI when the binary is built with it (XB_HAVE_MPI) and was started
// by an MPI launcher as one of several ranks (mpirun sets OMPI_COMM_WORLD_SIZE); otherwise a group
// of one whose collectives are never called, so single-process runs take no MPI path at all.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xb {

// Joins the MPI job (MPI_Init) when launched by mpirun, and leaves it (MPI_Finalize) on
// destruction. One per process, in main, before anything else asks for the rank.
class DistributedSession {
  public:
    DistributedSession(int* argc, char*** argv);
    ~DistributedSession();
    DistributedSession(const DistributedSession&) = delete;
    DistributedSession& operator=(const DistributedSession&) = delete;
};

int world_rank();  // 0 without MPI
int world_size();  // 1 without MPI
// Host name of every rank, in rank order (gathered once at start-up).
const std::vector<std::string>& world_hosts();

// Element-wise sum over all ranks, in place; every rank ends with the same values.
void allreduce_sum(float* data, int64_t n);
void allreduce_sum(double* data, int64_t n);
// Seconds this process has spent inside collectives so far (a running total).
double communication_seconds();

// Rank `rank`'s fixed share [begin, end) of n items: contiguous, sizes differ by at most one,
// and the shares of ranks 0..size-1 tile [0, n) in order.
std::pair<int64_t, int64_t> rank_share(int64_t n, int rank, int size);

}  // namespace xb
