#!/usr/bin/env bash
# Fuzzes the readers of untrusted input with libFuzzer (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer): the config reader with --set overrides, every data loader (ListOps
# TSV, aclImdb folders, AAN TSV, CIFAR binary, Pathfinder metadata and PNG) and the report reader
# of `compare`. Seed corpora are the files `xformer-bench data --out` and a tiny `run`/`speed`
# write, plus the shipped configs. Each target runs for --seconds; a crash stops the script with
# the reproducer's path (build-check/fuzz/TARGET/crash-*). Once fixed, the reproducer goes to
# tests/fuzz/regressions/TARGET/ (run first by every later fuzz run) and the case it shows into
# a test (tests/app/bad_inputs.txt for the CLI).
#
#   scripts/fuzz.sh                        # every target, 60 s each (what scripts/test.sh runs)
#   scripts/fuzz.sh --seconds 3600 fuzz_png fuzz_config     # long runs of some targets
#
# Needs the checked build of scripts/test_sanitizers.sh (it builds it when missing).
set -euo pipefail
seconds=60
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
cd "$(dirname "$0")/.."
build=build-check
[[ -x $build/xformer-bench && -x $build/fuzz_config ]] || ./scripts/test_sanitizers.sh --build-only
all=$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')
[[ ${#targets[@]} -gt 0 ]] || read -ra targets <<<"$(echo $all)"
for t in "${targets[@]}"; do
    grep -qxF -- "$t" <<<"$all" || { echo "unknown target '$t' (valid: $(echo $all))" >&2; exit 2; }
done

# Seed corpora, from what the tool itself writes.
seeds=$build/fuzz/seeds
if [[ ! -d $seeds ]]; then
    tmp=$(mktemp -d)
    bin=$build/xformer-bench
    small=(--set task.n_train=8 --set task.n_val=2 --set task.n_test=2)
    for task in listops text retrieval; do
        "$bin" data "$task" --config "configs/quick/$task.json" --out "$tmp/$task" "${small[@]}" >/dev/null
    done
    "$bin" data image --out "$tmp/image" --set task.n_train=9 --set task.n_val=1 --set task.n_test=2 >/dev/null
    "$bin" data pathfinder --config configs/quick/pathfinder.json --out "$tmp/pathfinder" \
        --set task.n_train=8 --set task.n_val=1 --set task.n_test=1 >/dev/null
    "$bin" run --config configs/quick/listops.json --set train.steps=2 --set train.eval_every=1 \
        --set task.n_train=16 --set task.n_val=8 --set task.n_test=8 --out "$tmp/reports" -q >/dev/null
    "$bin" speed --config configs/speed/core.json --variants full,linear --lengths 64 --steps 1 \
        --out "$tmp/reports" >/dev/null
    mkdir -p "$seeds"/{fuzz_config,fuzz_listops_tsv,fuzz_aan_tsv,fuzz_cifar_bin,fuzz_png,fuzz_pathfinder_metadata,fuzz_imdb_dir,fuzz_reports,fuzz_checkpoint}
    cp configs/quick/*.json "$seeds/fuzz_config/"
    printf '{}\0model.dim=64\noptim.schedule=cosine\n' >"$seeds/fuzz_config/overrides"
    cp "$tmp"/listops/*.tsv "$seeds/fuzz_listops_tsv/"
    cp "$tmp"/retrieval/*.tsv "$seeds/fuzz_aan_tsv/"
    head -c $((3073 * 2)) "$tmp/image/cifar-10-batches-bin/test_batch.bin" >"$seeds/fuzz_cifar_bin/two_records.bin"
    cp "$tmp"/pathfinder/imgs/0/sample_[0-3].png "$seeds/fuzz_png/"
    cp "$tmp"/pathfinder/metadata/0.npy "$seeds/fuzz_pathfinder_metadata/"
    for f in "$tmp"/text/aclImdb/train/*/*.txt; do
        printf '%s\t%s\n' "$(basename "$f")" "$(tr '\n\t' '  ' <"$f")"
    done >"$seeds/fuzz_imdb_dir/train_split"
    cp "$tmp"/reports/*.json "$seeds/fuzz_reports/"
    cp "$tmp"/reports/*.ckpt "$seeds/fuzz_checkpoint/"
    rm -rf "$tmp"
fi

for t in "${targets[@]}"; do
    corpus=$build/fuzz/$t
    mkdir -p "$corpus"
    # Inputs that once crashed a target (tests/fuzz/regressions/TARGET/) run first, every time.
    extra=()
    [[ -d tests/fuzz/regressions/$t ]] && extra=("$PWD/tests/fuzz/regressions/$t")
    echo "== $t: $seconds s"
    # -rss_limit_mb: an input that makes a reader hold over 2 GB is a finding too.
    # XB_MAX_MEMORY: the tracked pool refuses tensors beyond 1 GB (std::bad_alloc, exit 2 in
    # the CLI), so a config asking for a huge model is a clean error, not an out-of-memory kill.
    (cd "$corpus" && XB_MAX_MEMORY=1e9 "../../$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 . "../seeds/$t" "${extra[@]}" 2>"../$t.log") || {
        tail -40 "$build/fuzz/$t.log"
        echo "fuzz: $t found a problem; reproducer: $(ls "$corpus"/crash-* "$corpus"/leak-* "$corpus"/oom-* "$corpus"/timeout-* 2>/dev/null | head -1)" >&2
        exit 1
    }
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz/$t.log" | tr '\n' ' '
    echo "corpus $(ls "$corpus" | wc -l) files"
done
