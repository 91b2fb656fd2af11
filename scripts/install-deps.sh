#!/usr/bin/env bash
# Installs what the compiler half needs on Debian 12 (run as root or with sudo).
# The CUDA toolkit (NVRTC, cuda.h) is expected at /usr/local/cuda.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
packages=(cmake ninja-build g++ ccache python3 libgtest-dev pkg-config
          python3-pip python3-setuptools python3-wheel  # pip install ./python
          llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
          libz3-dev
          clang-22 libclang-rt-22-dev)  # clang + libFuzzer: scripts/fuzz.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
# Optional: torch for the flashgen.distributed tests (test/unit/distributed,
# which skip without it). Not installed by default: python3-torch is 177
# packages, a 148 MB download and 637 MB on disk, and took 162 s to install
# on a busy 2-core machine (with 100 MB of it already in the apt cache).
source "$(dirname "$0")/flag.sh"
if [ "$(flashgen_flag FLASHGEN_WITH_TORCH 0)" = 1 ] &&
   ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch
fi
if [ ! -f /usr/local/cuda/include/nvrtc.h ]; then
  echo "flashgen: the CUDA toolkit was not found at /usr/local/cuda (NVRTC and cuda.h are needed)" >&2
  exit 1
fi
