#!/usr/bin/env bash
# Set-up, build, the whole test suite through CTest (with the HTML report in a real browser), the
# install and the Debian package, the cluster and the checked build. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
# Every doctest case is its own CTest test (labels unit, integration; the kernel-level cases once
# per SIMD target), plus the HTML report rendered in headless Chromium (label browser).
(cd build && ctest --output-on-failure -j2)
# `cmake --install` into a temporary prefix and the Debian package, each run once from there.
./scripts/test_install.sh build
# Slurm job-array sweeps and MPI data-parallel training, on a one-node cluster it starts and stops.
./scripts/test_cluster.sh ./build/xformer-bench
# The unit suite under ASan + UBSan, and a short run of every fuzz target (clang build).
./scripts/test_sanitizers.sh
