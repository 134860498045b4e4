#!/usr/bin/env bash
# Installs the Debian 12 packages xformer-bench needs to build and test. Safe to re-run: when every
# package is already installed it does nothing.
set -euo pipefail
# chromium: scripts/check_html.sh renders the HTML report in it (part of scripts/test.sh).
# clang, libclang-rt-14-dev, libomp-14-dev: the checked build of scripts/test_sanitizers.sh
# (ASan, UBSan, libFuzzer).
# libopenmpi-dev: data-parallel training (XB_MPI). slurm-wlm, munge, openmpi-bin, python3:
# scripts/test_cluster.sh runs a one-node Slurm cluster and mpirun (part of scripts/test.sh).
# libfftw3-dev: the FFTs of the fnet and s4d mixers; pkg-config finds fftw3f through it.
# dpkg-dev: dpkg-shlibdeps, with which `cpack -G DEB` lists the package's library dependencies.
packages=(g++ cmake ninja-build git pkg-config libcli11-dev nlohmann-json3-dev libfmt-dev
          doctest-dev libdnnl-dev libpng-dev zlib1g-dev libhwy-dev libfftw3-dev chromium libopenmpi-dev
          openmpi-bin slurm-wlm munge python3 clang libclang-rt-14-dev libomp-14-dev dpkg-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
