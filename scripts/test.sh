#!/usr/bin/env bash
# Set-up, build, the whole test suite through CTest, then the HTML report in a real browser. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
# The unit binary uses both cores through OpenMP; CTest runs it once.
(cd build && ctest --output-on-failure)
# Slurm job-array sweeps and MPI data-parallel training, on a one-node cluster it starts and stops.
./scripts/test_cluster.sh ./build/xformer-bench
# The HTML report, rendered in headless Chromium.
./scripts/check_html.sh ./build/xformer-bench
# The unit suite under ASan + UBSan, and a short run of every fuzz target (clang build).
./scripts/test_sanitizers.sh
