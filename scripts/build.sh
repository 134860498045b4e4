#!/usr/bin/env bash
# Configures and builds xformer-bench (Release) into build/. Extra arguments go to CMake's
# configure step, e.g. ./scripts/build.sh -DXB_NATIVE=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)"
