// How idle OpenMP threads wait. libgomp spins 300,000 times (milliseconds) at every barrier
// and join before it sleeps; when another process shares the cores, the spinning threads burn
// the time slices the other process's threads need, and both collapse (measured 18x slower, not
// the 2x of a fair share). libgomp reads its settings once, when it is loaded, before main runs,
// so setting them from main is too late: when the user has set none of them, the binary starts
// itself again with GOMP_SPINCOUNT=kDefaultSpinCount (a bounded spin: short waits between the
// many small parallel regions of a step stay spins, long ones sleep).
#pragma once

namespace xb::app {

inline constexpr const char* kDefaultSpinCount = "10000";

// Returns when the wait policy is already the user's or ours (OMP_WAIT_POLICY or
// GOMP_SPINCOUNT set), or when the binary cannot be started again; otherwise replaces this
// process (same pid, arguments and environment plus GOMP_SPINCOUNT). Call first in main.
void apply_openmp_wait_policy(char** argv);

}  // namespace xb::app
