// SIGINT and SIGTERM during `run`: the first asks the trainer to stop after the current step
// (g_stop_requested; an "interrupted" report follows), a second ends the process at once,
// without a report, for when the first cannot be honoured soon (say, a long data generation).
//
// The signals are taken by one thread that waits for them (sigwait), not by a handler that
// interrupts a computing thread. With a handler, a sweep stopping its cells saw rare heap
// corruption ("corrupted size vs. prev_size" inside dnnl_sgemm; about 1 run in 50 of the
// sweep-resume test), and none in 600 runs with the waiting thread. The cause is inferred,
// not proven: a handler runs on the interrupted thread's stack, which would overwrite JIT
// GEMM code that keeps data below the stack pointer. The signals are blocked in the calling thread,
// and so in every thread it starts later (OpenMP, oneDNN); a thread that existed before (an MPI
// library's) still gets the same two-step behaviour from a handler.
#pragma once

namespace xb::app {

// Starts the waiting thread; call once, before any other thread of the run is started.
void take_stop_signals();

}  // namespace xb::app
