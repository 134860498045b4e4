#!/usr/bin/env bash
# Throughput under load (issue 12, item 5): the median step time of the speed model
# (configs/speed/core.json, `full`, T = 1024, batch 8, 2 threads) alone, then while one copy of
# the same measurement runs beside it on the same cores. The target is a ratio <= 2.5 (a fair
# share of the cores alone explains 2). Meaningful only on an otherwise idle machine.
#   scripts/load_test.sh                          # the binary's default wait policy
#   GOMP_SPINCOUNT=300000 scripts/load_test.sh    # libgomp's own default, for comparison
#   OMP_WAIT_POLICY=passive scripts/load_test.sh  # any policy the user sets is kept
# Environment: BIN (./build/xformer-bench), LENGTH (1024), THREADS (2), STEPS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-./build/xformer-bench}
length=${LENGTH:-1024}
threads=${THREADS:-2}
steps=${STEPS:-5}
work=$(mktemp -d)
loader=
cleanup() {  # the copy ends after its current measurement
    touch "$work/stop"
    if [[ -n $loader ]]; then wait "$loader" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# One speed measurement into directory $1; prints its median step time in seconds.
measure() {
    "$bin" speed --config configs/speed/core.json --variants full --lengths "$length" \
        --threads "$threads" --steps "$steps" --warmup 1 --out "$1" >/dev/null
    grep -ho '"median_step_s": *[0-9.eE+-]*' "$1"/speed_*.json | head -n 1 | sed 's/.*: *//'
}

# The spin count libgomp took (the last display: the binary may have restarted itself with its
# default); passive is 0, active 30000000000.
policy=$(OMP_DISPLAY_ENV=verbose "$bin" list variants 2>&1 >/dev/null | grep GOMP_SPINCOUNT |
    tail -n 1 | tr -s ' ')
echo "wait policy:${policy}"
alone=$(measure "$work/alone")
echo "alone:            median step ${alone} s"

# The co-running copy repeats the same measurement until the measured one has finished.
(
    n=0
    while [[ ! -e $work/stop ]]; do
        n=$((n + 1))
        measure "$work/load$n" >/dev/null
    done
) &
loader=$!
loaded=$(measure "$work/loaded")
echo "with one copy:    median step ${loaded} s"
awk -v a="$alone" -v b="$loaded" 'BEGIN { printf "ratio:            %.2f (target <= 2.5)\n", b / a }'
