#!/usr/bin/env bash
# Compiles the benchmark specs into bundles (on a machine with the compiler
# built), planned for the benchmark's sizes. Carry the output folder to the
# GPU machine and run bench/attention/bench.py --bundles there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-bundles}
bin=${FLASHGEN_BIN:-build/bin}
# FLASHGEN_SPECS: a folder of specs to use instead of examples/ (e.g. specs
# carrying hand-written schedules); FLASHGEN_COMPILE_FLAGS: extra flags.
specs=${FLASHGEN_SPECS:-}
compile_flags=${FLASHGEN_COMPILE_FLAGS:-}
mkdir -p "$out"
for spec in bench/attention/specs/*.mlir examples/softcap.mlir examples/alibi_causal.mlir \
            bench/linear/specs/*.mlir; do
  name=$(basename "$spec" .mlir)
  if [ -n "$specs" ] && [ -f "$specs/$name.mlir" ]; then spec="$specs/$name.mlir"; fi
  # shellcheck disable=SC2086
  case "$spec" in
    */linear/*) plan=(--dim B=4 --dim T=16384) ;;   # 65,536 tokens
    *) plan=(--dim B=2 --dim N=8192) ;;             # 16,384 tokens
  esac
  "$bin/flashgen" compile "$spec" -o "$out/$name" "${plan[@]}" $compile_flags > /dev/null
  echo "bundle $out/$name"
done
