#!/usr/bin/env bash
# Set-up, build, and the whole test suite through CTest. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
# The unit binary uses both cores through OpenMP; CTest runs it once.
(cd build && ctest --output-on-failure)
