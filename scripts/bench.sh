#!/usr/bin/env bash
# Set-up, build, and the default benchmark: ListOps (quick preset) with `full` and `linear`
# attention, one JSON report each under results/, then a short speed table, then the accuracy
# and efficiency tables of what ran (`compare`). A few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
bin=./build/xformer-bench
for variant in full linear; do
    $bin run --config configs/quick/listops.json --variant "$variant" --out results
done
$bin speed --config configs/quick/listops.json --variants full,linear --lengths 512,1024,2048 \
    --batch 8 --steps 2 --out results/speed
# The tables of what ran: accuracy from the run reports, efficiency from the speed output.
echo
$bin compare results --table accuracy
echo
$bin compare results/speed --table efficiency --baseline full
