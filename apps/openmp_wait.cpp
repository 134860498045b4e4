// The default OpenMP wait policy by starting the binary again; see openmp_wait.h.
#include "openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace xb::app {

void apply_openmp_wait_policy(char** argv) {
#if defined(__clang__)
    // clang links LLVM's libomp (the checked build), which does not read GOMP_SPINCOUNT and
    // registers itself per process id in /dev/shm: an image started again in the same process
    // finds the first one's registration (left behind, as exec runs no exit handlers), and
    // under a file-size limit the re-registration fails. So no restart there.
    (void)argv;
#else
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", kDefaultSpinCount, 1) != 0) return;
    execv("/proc/self/exe", argv);
    // Not started again (no /proc, say): run on with libgomp's own policy. The variable stays
    // set, so the children this process starts get the bounded spin.
#endif
}

}  // namespace xb::app
