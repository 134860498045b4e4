// Slurm job arrays for sweeps: the sbatch script that runs the cells of a sweep that still need
// a run, one array index per cell. The array index IS the cell's index in the expanded sweep,
// so `--array=1,3` runs cells 1 and 3 and the node runs `sweep ... --cell $SLURM_ARRAY_TASK_ID`.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace xb {

struct SlurmArray {
    std::string job_name;
    std::vector<size_t> cells;         // cell indices, ascending
    int max_parallel = 0;              // array tasks running at once (%K); 0 = no limit
    std::string partition, time, mem;  // empty = the cluster's defaults
    int cpus_per_task = 1;
    std::string log_pattern;           // --output, with %A (job) and %a (array index)
    std::vector<std::string> command;  // the cell command; the array index is appended
};

// "0-2,5,7-8%4": the cells as ranges, with the parallel limit.
std::string slurm_array_spec(const std::vector<size_t>& cells, int max_parallel);
// The whole script, #SBATCH lines first; every word of the command is shell-quoted.
std::string slurm_array_script(const SlurmArray& a);
// 'word' for a POSIX shell (words of safe characters stay as they are).
std::string shell_quote(const std::string& word);

}  // namespace xb
