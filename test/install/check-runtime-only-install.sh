#!/usr/bin/env bash
# ctest `install-runtime-only` (nightly): configures and builds the runtime
# half alone (-DFLASHGEN_RUNTIME_ONLY=ON, as GPU machines without LLVM do) in
# a temporary folder, then runs check-install.sh on it.
#   check-runtime-only-install.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
gen=()
if command -v ninja > /dev/null; then gen=(-G Ninja); fi
cmake -S "$src" -B "$work/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DFLASHGEN_RUNTIME_ONLY=ON -DFLASHGEN_BUILD_TESTS=OFF "${launcher[@]}" > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; echo "FAIL: runtime-only configure"; exit 1; }
cmake --build "$work/build" -j "${FLASHGEN_JOBS:-2}" > "$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; echo "FAIL: runtime-only build"; exit 1; }
"$(dirname "$0")/check-install.sh" "$work/build" "$src"
