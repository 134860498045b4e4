// Resources of the machine: a configuration whose estimated memory exceeds --max-memory is
// refused before anything is written; an allocation refused later by the pool (XB_MAX_MEMORY)
// names the estimate; and the binary sets libgomp's bounded spin unless the user chose a policy.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/run_binary.h"

using namespace xb::test;

// ListOps of 64 tokens, one training step.
const std::string kSmallTask =
    " --set train.steps=1 --set task.n_train=8 --set task.n_val=4 --set task.n_test=4 "
    "--set task.max_len=64 --set 'task.options={\"min_length\": 10, \"max_length\": 60}'";

TEST_SUITE_BEGIN("integration");

TEST_CASE("cli: --max-memory refuses a configuration whose estimate exceeds it") {
    const std::string dir = temp_dir("maxmem");
    const std::string small = " --set train.batch_size=4" + kSmallTask;
    // The same configuration passes with a limit above its estimate and is refused below it.
    CommandResult ok =
        run_xformer_bench("run" + small + " --max-memory 10G --quiet --out " + dir + "/ok");
    CAPTURE(ok.err);
    CHECK(ok.exit_code == 0);
    CommandResult r =
        run_xformer_bench("run" + small + " --max-memory 100k --quiet --out " + dir + "/results");
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find("exceeds --max-memory 100.0 kB") != std::string::npos);
    CHECK(r.err.find("train.batch_size=4, task.max_len=64, model.dim=128") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/results"));

    CommandResult s = run_xformer_bench(
        "speed --variants full,s4d --lengths 64,100000 --batch 2 "
        "--max-memory 1G --out " +
        dir + "/speed");
    CHECK(s.exit_code == 2);
    CHECK(s.err.find("--batch=2, --lengths=100000") != std::string::npos);
    CHECK(s.out.empty());  // refused before the first measurement
    CHECK_FALSE(std::filesystem::exists(dir + "/speed"));
}

TEST_CASE("cli: an allocation the pool refuses names the estimate") {
    const std::string dir = temp_dir("poolmem");
    // A batch no larger than the training split: no warning line beside the error.
    CommandResult r = run_xformer_bench(
        "run --set train.batch_size=8" + kSmallTask + " --quiet --out " + dir + "/results",
        "XB_MAX_MEMORY=100000");
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CAPTURE(r.err);
    CHECK(r.err.find("error: out of memory (") == 0);
    CHECK(r.err.find("); estimated peak tensor memory") != std::string::npos);
    CHECK(r.err.find("task.max_len=64") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/results/listops__full__seed1.json"));
}

TEST_CASE("cli: libgomp gets a bounded spin unless the user set a wait policy") {
    const std::string clean = "-u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose";
    CommandResult d = run_xformer_bench("list variants", clean);
    CHECK(d.exit_code == 0);
    // The policy is libgomp's (GCC builds). A clang build runs on LLVM's libomp and is not
    // restarted (apps/openmp_wait.cpp); libomp's own display of GOMP_SPINCOUNT is not ours.
#if defined(__clang__)
    return;
#endif
    if (d.err.find("GOMP_SPINCOUNT") == std::string::npos) return;
    CHECK(d.err.find("GOMP_SPINCOUNT = '10000'") != std::string::npos);
    CommandResult own = run_xformer_bench("list variants", clean + " GOMP_SPINCOUNT=777");
    CHECK(own.err.find("GOMP_SPINCOUNT = '777'") != std::string::npos);
    // A policy of the user's is kept: passive waits spin 0 times, active ones (almost) forever.
    CommandResult passive = run_xformer_bench("list variants", clean + " OMP_WAIT_POLICY=passive");
    CHECK(passive.err.find("GOMP_SPINCOUNT = '0'") != std::string::npos);
    CHECK(passive.err.find("GOMP_SPINCOUNT = '10000'") == std::string::npos);
    CommandResult active = run_xformer_bench("list variants", clean + " OMP_WAIT_POLICY=active");
    CHECK(active.err.find("GOMP_SPINCOUNT = '30000000000'") != std::string::npos);
    CHECK(active.err.find("GOMP_SPINCOUNT = '10000'") == std::string::npos);
}

TEST_SUITE_END();
