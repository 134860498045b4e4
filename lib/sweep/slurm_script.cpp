// sbatch scripts for sweep job arrays; see slurm_script.h.
#include "sweep/slurm_script.h"

#include <fmt/format.h>

namespace xb {

std::string slurm_array_spec(const std::vector<size_t>& cells, int max_parallel) {
    std::string spec;
    for (size_t i = 0; i < cells.size();) {
        size_t j = i;
        while (j + 1 < cells.size() && cells[j + 1] == cells[j] + 1) ++j;
        if (!spec.empty()) spec += ',';
        spec += j == i ? fmt::format("{}", cells[i]) : fmt::format("{}-{}", cells[i], cells[j]);
        i = j + 1;
    }
    if (max_parallel > 0) spec += fmt::format("%{}", max_parallel);
    return spec;
}

std::string shell_quote(const std::string& word) {
    bool safe = !word.empty();
    for (char c : word)
        safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' ||
                        c == '_' || c == '-' || c == '+' || c == ',' || c == ':' || c == '=');
    if (safe) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string slurm_array_script(const SlurmArray& a) {
    std::string s = "#!/bin/bash\n";
    s += "# Written by `xformer-bench sweep --slurm`: one array index per sweep cell still to "
         "run.\n";
    s += fmt::format("#SBATCH --job-name={}\n", a.job_name);
    s += fmt::format("#SBATCH --array={}\n", slurm_array_spec(a.cells, a.max_parallel));
    s += fmt::format("#SBATCH --cpus-per-task={}\n", a.cpus_per_task);
    s += "#SBATCH --ntasks=1\n";
    s += fmt::format("#SBATCH --output={}\n", a.log_pattern);
    if (!a.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", a.partition);
    if (!a.time.empty()) s += fmt::format("#SBATCH --time={}\n", a.time);
    if (!a.mem.empty()) s += fmt::format("#SBATCH --mem={}\n", a.mem);
    s += "exec";
    for (const auto& word : a.command) s += " " + shell_quote(word);
    s += " \"$SLURM_ARRAY_TASK_ID\"\n";
    return s;
}

}  // namespace xb
