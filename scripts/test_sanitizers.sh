#!/usr/bin/env bash
# The checked build (build-check/): clang with AddressSanitizer and UndefinedBehaviorSanitizer,
# every finding fatal (-fno-sanitize-recover=all), plus libFuzzer coverage. Runs the whole unit
# suite once on the CPU's best SIMD target with the instrumented library and the instrumented
# CLI binary (so the CLI tests and the bad-input table run under the sanitizers too), then a
# short run of every fuzz target (scripts/fuzz.sh). Part of scripts/test.sh.
#
#   scripts/test_sanitizers.sh [--build-only] [--fuzz-seconds N]   (default 30)
set -euo pipefail
build_only=0
fuzz_seconds=30
while [[ $# -gt 0 ]]; do
    case "$1" in
        --build-only) build_only=1; shift ;;
        --fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
        *) echo "unknown argument '$1'" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
cmake -S . -B build-check -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DXB_SANITIZE=address,undefined -DXB_FUZZ=ON -DXB_CTEST=OFF \
    >/dev/null
cmake --build build-check -j "$(nproc)"
[[ $build_only -eq 1 ]] && exit 0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit suite under ASan + UBSan"
XB_BINARY=$PWD/build-check/xformer-bench XB_SOURCE_DIR=$PWD ./build-check/xbench_tests
echo "== fuzzing, $fuzz_seconds s per target"
./scripts/fuzz.sh --seconds "$fuzz_seconds"
