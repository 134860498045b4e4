#!/usr/bin/env bash
# Set-up, build, and the default benchmark: ListOps (quick preset) with `full` and `linear`
# attention, one JSON report each under results/bench/, then a short speed table, then the accuracy
# and efficiency tables of what ran (`compare`). A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
bin=./build/xformer-bench
out=results/bench
# This benchmark's own speed file only, so the efficiency table is not mixed with other runs.
rm -f "$out"/speed/speed_*.json
for variant in full linear; do
    $bin run --config configs/quick/listops.json --variant "$variant" --out "$out"
done
$bin speed --config configs/quick/listops.json --variants full,linear --lengths 512,1024,2048 \
    --batch 8 --steps 2 --out "$out/speed"
# The tables of what ran: accuracy from the run reports, efficiency from the speed output.
echo
$bin compare "$out" --table accuracy
echo
$bin compare "$out/speed" --table efficiency --baseline full
