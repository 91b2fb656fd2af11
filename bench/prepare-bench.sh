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
for spec in bench/attention/specs/*.mlir examples/softcap.mlir examples/alibi_causal.mlir; do
  name=$(basename "$spec" .mlir)
  if [ -n "$specs" ] && [ -f "$specs/$name.mlir" ]; then spec="$specs/$name.mlir"; fi
  # shellcheck disable=SC2086
  "$bin/flashgen" compile "$spec" -o "$out/$name" --dim B=2 --dim N=8192 $compile_flags > /dev/null
  echo "bundle $out/$name"
done
