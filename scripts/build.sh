#!/usr/bin/env bash
# Configures and builds flashgen in build/ (ccache when present, -j2 by
# default: FLASHGEN_JOBS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
# Paths relative to the checkout, so clones share ccache entries.
export CCACHE_BASEDIR="$PWD"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@"
ninja -C build -j "${FLASHGEN_JOBS:-2}"
