// Sweeps on Slurm: `sweep --slurm` submits the cells still needing a run as one job array, and
// `sweep --status` reads the reports (and squeue, when reachable) to say where every cell is.
#pragma once
#include <string>
#include <vector>

#include "sweep/sweep.h"

namespace xb::app {

struct SlurmOptions {
    std::string partition, time, mem;  // empty = the cluster's defaults
    int cpus_per_task = 1;             // also the cell's --threads
    int max_parallel = 0;              // array tasks at once; 0 = no limit
    bool dry_run = false;              // print the script instead of submitting it
};

// Writes <out>/slurm/sweep-<time>.sbatch for the cells that are neither finished (done or
// diverged) nor queued or running, submits it with sbatch and records the job in
// <out>/slurm/job-<id>.json. cell_command is what one array task runs; its index is appended.
int submit_sweep(const std::vector<SweepRun>& runs, const std::string& out,
                 const std::string& job_name, const SlurmOptions& o,
                 const std::vector<std::string>& cell_command);
// One line per cell: index, state (done, diverged, failed, interrupted, missing; queued or
// running while its array task is in squeue), id; then the counts.
int print_sweep_status(const std::vector<SweepRun>& runs, const std::string& out);

}  // namespace xb::app
