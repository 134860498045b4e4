// The process group over MPI, or a group of one; see distributed.h.
#include "core/distributed.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/check.h"

#ifdef XB_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: no deprecated C++ bindings
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace xb {

namespace {

int g_rank = 0, g_size = 1;
bool g_mpi_started = false;
double g_comm_seconds = 0;
std::vector<std::string> g_hosts;

std::string host_name() {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    return host;
}

// Only a process that an MPI launcher started as one of several ranks joins MPI: a plain
// `xformer-bench run`, `mpirun -np 1`, and every child process that `sweep` or `speed` starts
// (spawn_self sets XB_NO_MPI: a child is not a rank of its parent's job) never initialise it.
bool launched_by_mpi() {
    if (std::getenv("XB_NO_MPI")) return false;
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
        const char* size = std::getenv(name);
        if (size && std::atoi(size) > 1) return true;
    }
    return false;
}

struct CommTimer {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~CommTimer() {
        g_comm_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
};

}  // namespace

DistributedSession::DistributedSession(int* argc, char*** argv) {
    g_hosts = {host_name()};
#ifdef XB_HAVE_MPI
    if (!launched_by_mpi()) return;
    MPI_Init(argc, argv);
    g_mpi_started = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    constexpr int kHostChars = 256;
    std::vector<char> mine(kHostChars, 0), all(size_t(kHostChars) * g_size, 0);
    g_hosts[0].copy(mine.data(), kHostChars - 1);
    MPI_Allgather(mine.data(), kHostChars, MPI_CHAR, all.data(), kHostChars, MPI_CHAR,
                  MPI_COMM_WORLD);
    g_hosts.clear();
    for (int r = 0; r < g_size; ++r) g_hosts.emplace_back(all.data() + size_t(r) * kHostChars);
#else
    (void)argc;
    (void)argv;
    if (launched_by_mpi()) {  // N copies would each train the whole model and race to report
        std::fprintf(stderr,
                     "error: mpirun: this xformer-bench was built without MPI (XB_MPI=OFF or no "
                     "libopenmpi-dev at configure time); run it without mpirun\n");
        std::exit(2);
    }
#endif
}

DistributedSession::~DistributedSession() {
#ifdef XB_HAVE_MPI
    if (g_mpi_started) MPI_Finalize();
#endif
}

int world_rank() { return g_rank; }
int world_size() { return g_size; }
const std::vector<std::string>& world_hosts() { return g_hosts; }
double communication_seconds() { return g_comm_seconds; }

void allreduce_sum(float* data, int64_t n) {
    XB_CHECK(g_size > 1, "allreduce_sum outside an MPI job");
#ifdef XB_HAVE_MPI
    CommTimer timer;
    XB_CHECK(n <= int64_t(1) << 31, "allreduce_sum: {} elements in one call", n);
    MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)data;
    (void)n;
#endif
}

void allreduce_sum(double* data, int64_t n) {
    XB_CHECK(g_size > 1, "allreduce_sum outside an MPI job");
#ifdef XB_HAVE_MPI
    CommTimer timer;
    MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)data;
    (void)n;
#endif
}

std::pair<int64_t, int64_t> rank_share(int64_t n, int rank, int size) {
    return {n * rank / size, n * (rank + 1) / size};
}

}  // namespace xb
