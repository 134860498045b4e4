// sbatch scripts for sweep job arrays: array index ranges, shell quoting, the #SBATCH lines.
#include <doctest/doctest.h>

#include "sweep/slurm_script.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

TEST_CASE("slurm script: cells become index ranges with the parallel limit") {
    CHECK(slurm_array_spec({0, 1, 2, 3}, 0) == "0-3");
    CHECK(slurm_array_spec({0, 2, 3, 7}, 0) == "0,2-3,7");
    CHECK(slurm_array_spec({5}, 4) == "5%4");
}

TEST_CASE("slurm script: words are quoted for the shell only where needed") {
    CHECK(shell_quote("/a/b-c_d.json") == "/a/b-c_d.json");
    CHECK(shell_quote("model.dim=16") == "model.dim=16");
    CHECK(shell_quote("task.name=\"listops\"") == "'task.name=\"listops\"'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("") == "''");
}

TEST_CASE("slurm script: #SBATCH lines, then the cell command with the array index") {
    SlurmArray a;
    a.job_name = "xb-lra";
    a.cells = {1, 3};
    a.cpus_per_task = 2;
    a.mem = "4G";
    a.log_pattern = "/out/logs/slurm-%A_%a.out";
    a.command = {"/bin/xformer-bench", "sweep", "/s.json", "--cell"};
    const std::string s = slurm_array_script(a);
    CHECK(s.rfind("#!/bin/bash\n", 0) == 0);
    CHECK(s.find("#SBATCH --array=1,3\n#SBATCH --cpus-per-task=2\n") != std::string::npos);
    CHECK(s.find("#SBATCH --mem=4G\n") != std::string::npos);
    CHECK(s.find("--partition") == std::string::npos);  // the cluster's default
    CHECK(s.find("\nexec /bin/xformer-bench sweep /s.json --cell \"$SLURM_ARRAY_TASK_ID\"\n") !=
          std::string::npos);
}

TEST_SUITE_END();
