#!/usr/bin/env bash
# Renders the HTML report in a real browser: builds a small report page from fixture reports with
# `xformer-bench compare --format html`, takes a headless Chromium screenshot, and checks that
# the page's DOM holds both tables and both figures and that the screenshot is far from blank
# (much larger than the PNG of an empty page of the same size). Usage: scripts/check_html.sh
# [BINARY] [OUT_DIR]; leaves the page and screenshot in OUT_DIR (default: a temporary directory,
# removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./build/xformer-bench}
if [ -n "${2:-}" ]; then
    out=$2
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/reports"
fail() {
    echo "check_html: FAILED: $*" >&2
    exit 1
}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || fail "chromium not found (scripts/setup.sh installs it)"

# Fixture reports: two variants on two tasks, two seeds, and a speed file.
write_run() {  # task variant seed accuracy step_s peak_bytes
    cat >"$out/reports/$1__$2__seed$3.json" <<JSON
{"schema": "xformer-bench/run/1", "status": "completed", "seed": $3,
 "task": {"name": "$1", "max_len": 1024}, "model": {"variant": "$2"},
 "metrics": {"test_accuracy": $4}, "time": {"step_mean_s": $5, "train_tokens_per_s": 1000},
 "memory": {"peak_tensor_bytes": $6, "peak_rss_bytes": $6},
 "environment": {"cpu": "check_html fixture", "threads": 2},
 "config": {"seed": $3, "task": {"name": "$1"}, "model": {"attention": {"variant": "$2"}}}}
JSON
}
write_run listops full 1 0.372 0.40 200000000
write_run listops full 2 0.365 0.41 200000000
write_run listops linear 1 0.181 0.12 60000000
write_run listops linear 2 0.190 0.12 60000000
write_run text full 1 0.641 0.45 210000000
write_run text linear 1 0.655 0.13 61000000
records=""
for len in 512 1024 2048 4096; do
    k=$((len / 512))
    records+="{\"variant\": \"full\", \"length\": $len, \"median_step_s\": $(awk "BEGIN{print 0.02*$k*$k}"),"
    records+=" \"peak_tensor_bytes\": $((1048576 * k * k))},"
    records+="{\"variant\": \"linear\", \"length\": $len, \"median_step_s\": $(awk "BEGIN{print 0.02*$k}"),"
    records+=" \"peak_tensor_bytes\": $((1048576 * k))},"
done
echo "{\"schema\": \"xformer-bench/speed/1\", \"baseline\": \"full\", \"records\": [${records%,}]}" \
    >"$out/reports/speed.json"

"$bin" compare "$out/reports" --format html --out "$out/report.html" 2>/dev/null ||
    fail "compare --format html failed"
echo '<!DOCTYPE html><html><body></body></html>' >"$out/empty.html"

render() {  # page.html screenshot.png
    "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --disable-dev-shm-usage \
        --user-data-dir="$(mktemp -d)" --window-size=1200,2000 --screenshot="$2" \
        "file://$(realpath "$1")" >/dev/null 2>&1 || fail "chromium could not render $1"
}
render "$out/report.html" "$out/report.png"
render "$out/empty.html" "$out/empty.png"
dom=$("$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$(mktemp -d)" --dump-dom "file://$(realpath "$out/report.html")" 2>/dev/null)

for part in '<table class="accuracy">' '<table class="efficiency">' 'class="mark"' \
    'class="series"' 'check_html fixture'; do
    grep -qF "$part" <<<"$dom" || fail "the rendered page lacks $part"
done
[ "$(grep -o '<svg ' <<<"$dom" | wc -l)" -eq 2 ] || fail "expected 2 SVG figures"
[ -s "$out/report.png" ] || fail "no screenshot"
[ "$(head -c 8 "$out/report.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "the screenshot is not a PNG"
size=$(stat -c %s "$out/report.png")
blank=$(stat -c %s "$out/empty.png")
[ "$size" -gt $((10 * blank)) ] && [ "$size" -gt 40000 ] ||
    fail "the screenshot looks blank ($size bytes; an empty page is $blank bytes)"
echo "check_html: ok ($out/report.png, $size bytes; empty page $blank bytes)"
