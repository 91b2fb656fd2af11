#!/usr/bin/env bash
# Configures flashgen twice with MLIR made unfindable (package searches
# re-rooted under an empty folder): the full build must stop with the
# one-line message naming MLIR and its Debian packages, and the runtime-only
# build (what GPU machines without LLVM use) must configure.
set -u
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hide=(-DCMAKE_FIND_ROOT_PATH="$work/empty" -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY)
mkdir -p "$work/empty"

if cmake -S "$src" -B "$work/full" "${hide[@]}" > "$work/full.log" 2>&1; then
  echo "FAIL: the full build configured without MLIR"
  exit 1
fi
# CMake wraps long messages: compare with whitespace folded.
if ! tr -s ' \n' '  ' < "$work/full.log" | grep -q "flashgen: MLIR 22 (MLIRConfig.cmake) not found; install it with: apt-get install -y libmlir-22-dev"; then
  echo "FAIL: no one-line message naming MLIR:"
  cat "$work/full.log"
  exit 1
fi
echo "full build without MLIR: stops with the package message (ok)"

if ! cmake -S "$src" -B "$work/rt" "${hide[@]}" -DFLASHGEN_RUNTIME_ONLY=ON > "$work/rt.log" 2>&1; then
  echo "FAIL: the runtime-only build did not configure without MLIR:"
  cat "$work/rt.log"
  exit 1
fi
grep -q "flashgen: runtime-only build (no LLVM/MLIR/Z3)" "$work/rt.log" || { echo "FAIL: runtime-only message missing"; exit 1; }
echo "runtime-only build without MLIR: configures (ok)"
