#!/usr/bin/env bash
# Checks the installed program, from an already-built build directory (no rebuild):
#  1. `cmake --install` into a temporary prefix; the installed binary lists its variants and
#     trains a tiny model from an installed config.
#  2. `cpack -G DEB`; as root, the package is installed with apt-get, run once, and removed again
#     so the machine is left as it was (skipped with a note when not root or when xformer-bench
#     is already installed as a package, which this script would otherwise remove).
# Usage: scripts/test_install.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "test_install: FAILED: $*" >&2
    exit 1
}

# A tiny run of the installed program with an installed config: listops, a few steps.
tiny_run() {  # binary config_root
    "$1" run --quiet --config "$2/configs/quick/listops.json" --report "$tmp/run.json" \
        --threads 1 --set train.steps=2 --set train.eval_every=2 --set task.n_train=32 \
        --set task.n_val=8 --set task.n_test=8 --set model.layers=1 --set model.dim=16 \
        --set model.heads=2 --set model.ffn_dim=32 --set train.batch_size=8 >"$tmp/run.out"
    grep -q '"status": *"completed"' "$tmp/run.json" || fail "$1: the tiny run did not complete"
}

echo "== cmake --install into $tmp/prefix"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
bin=$tmp/prefix/bin/xformer-bench
share=$tmp/prefix/share/xformer-bench
[ -x "$bin" ] || fail "no bin/xformer-bench in the prefix"
[ -f "$tmp/prefix/share/doc/xformer-bench/README.md" ] || fail "no README in share/doc"
"$bin" list variants | grep -q '^  full ' || fail "installed 'list variants' does not list full"
tiny_run "$bin" "$share"
echo "installed binary: list and a tiny run from $share/configs: ok"

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$tmp/package" >/dev/null)
deb=$(ls "$tmp"/package/xformer-bench_*.deb)
dpkg-deb --field "$deb" Depends | grep -q libdnnl || fail "$deb: no library dependencies"
if [ "$(id -u)" -ne 0 ]; then
    echo "test_install: not root; the package was built but not installed"
    exit 0
fi
if dpkg-query -W -f='${Status}' xformer-bench 2>/dev/null | grep -q "install ok installed"; then
    echo "test_install: xformer-bench is already installed as a package; not touching it"
    exit 0
fi
cleanup_package() {
    DEBIAN_FRONTEND=noninteractive apt-get remove -y xformer-bench >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup_package EXIT
(cd "$tmp/package" && DEBIAN_FRONTEND=noninteractive apt-get install -y ./xformer-bench_*.deb \
    >"$tmp/apt.log" 2>&1) || { cat "$tmp/apt.log" >&2; fail "apt-get install of $deb"; }
[ "$(command -v xformer-bench)" = /usr/bin/xformer-bench ] || fail "not installed as /usr/bin/xformer-bench"
xformer-bench --version
tiny_run /usr/bin/xformer-bench /usr/share/xformer-bench
DEBIAN_FRONTEND=noninteractive apt-get remove -y xformer-bench >/dev/null
[ ! -e /usr/bin/xformer-bench ] || fail "apt-get remove left /usr/bin/xformer-bench"
echo "Debian package $(basename "$deb"): installed, ran, removed: ok"
