// The default OpenMP wait policy by starting the binary again; see openmp_wait.h.
#include "openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace xb::app {

void apply_openmp_wait_policy(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", kDefaultSpinCount, 1) != 0) return;
    execv("/proc/self/exe", argv);
    // Not started again (no /proc, say): run on with libgomp's own policy. The variable stays
    // set, so the children this process starts get the bounded spin.
}

}  // namespace xb::app
