#!/usr/bin/env bash
# xformer-bench against PyTorch eager on the same benchmark model: runs `xformer-bench speed`
# (configs/speed/core.json) and then scripts/pytorch_speed.py with the same variants, lengths,
# steps and threads, one after the other (never concurrently), each measurement in a process of
# its own, and prints one Markdown table: step time, speed-up, peak RSS and RSS ratio per
# (variant, T). JSON: DIR/ours/speed_*.json (the newest by its timestamped name is used) and
# DIR/pytorch.json. --table-from DIR prints the table of an earlier invocation again, from those
# files alone (scripts/docs_tables.py regenerates the documented tables that way).
# Environment variables pass through; XB_SIMD=avx2 (etc.) forces our SIMD target and the peer's
# (ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE) alike. Needs ./scripts/build.sh and python3-torch.
#
#   scripts/compare_pytorch.sh --variants full,longformer,bigbird --lengths 1024,2048 --steps 3
#   XB_SIMD=avx2 scripts/compare_pytorch.sh --variants linear --lengths 4096 --out /tmp/cmp
#   scripts/compare_pytorch.sh --table-from /tmp/cmp
#
# Options (defaults): --variants full,linear  --lengths 1024,2048,4096  --steps 3  --threads 2
#                     --out results/compare-pytorch
set -euo pipefail

usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

variants=full,linear
lengths=1024,2048,4096
steps=3
threads=2
out=results/compare-pytorch
table_from=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --variants | --lengths | --steps | --threads | --out)
            [[ $# -ge 2 ]] || { echo "$1: missing value" >&2; exit 2; }
            declare "${1#--}=$2"
            shift 2
            ;;
        --variants=* | --lengths=* | --steps=* | --threads=* | --out=*)
            opt=${1%%=*}
            declare "${opt#--}=${1#*=}"
            shift
            ;;
        --table-from)
            [[ $# -ge 2 ]] || { echo "$1: missing value" >&2; exit 2; }
            table_from=$2
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

# --out relative to the caller's directory; everything else from the repository root.
[[ $out == /* ]] || out=$PWD/$out
python=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
print_table() {
    "$python" "$here/speed_tables.py" pytorch "$1"
}
if [[ -n $table_from ]]; then
    [[ -d $table_from ]] || { echo "--table-from: '$table_from' is not a directory" >&2; exit 2; }
    print_table "$table_from"
    exit
fi
cd "$(dirname "$0")/.."
bin=./build/xformer-bench

if [[ ! -x $bin ]]; then
    echo "$bin not found: run ./scripts/build.sh first" >&2
    exit 2
fi
# Without PyTorch, pytorch_speed.py says which packages to install and exits 2 (set -e stops here).
known=$("$python" scripts/pytorch_speed.py --list)
IFS=, read -ra wanted <<<"$variants"
for v in "${wanted[@]}"; do
    if ! grep -qxF -- "$v" <<<"$known"; then
        echo "--variants: '$v' is not in scripts/pytorch_speed.py (valid: $(paste -sd, <<<"$known"))" >&2
        exit 2
    fi
done

echo "== xformer-bench speed"
"$bin" speed --config configs/speed/core.json --variants "$variants" --lengths "$lengths" \
    --steps "$steps" --threads "$threads" --out "$out/ours"
echo
echo "== PyTorch eager"
# A forced target (XB_SIMD) is applied to the peer too, so both run as a CPU of that kind would:
# PyTorch's own kernels through ATEN_CPU_CAPABILITY, OpenBLAS through OPENBLAS_CORETYPE.
case "${XB_SIMD:-}" in
    avx512) peer_env=(ATEN_CPU_CAPABILITY=avx512 OPENBLAS_CORETYPE=SkylakeX) ;;
    avx2) peer_env=(ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell) ;;
    sse4 | scalar) peer_env=(ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Nehalem) ;;
    *) peer_env=() ;;
esac
[[ ${#peer_env[@]} -eq 0 ]] || echo "peer forced to: ${peer_env[*]}"
env "${peer_env[@]}" "$python" scripts/pytorch_speed.py --variants "$variants" --lengths "$lengths" --steps "$steps" \
    --threads "$threads" --json "$out/pytorch.json"
echo

print_table "$out"
