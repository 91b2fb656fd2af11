#!/usr/bin/env bash
# The main job: compile an example spec through the pipeline and show what the
# compiler made of it: the IO lower bound, the schedule it chose and why
# (modeled traffic and time, ranked candidates), the bundle it wrote, and
# what NVRTC made of every kernel (registers, spills, compile time). Running
# the bundle on a GPU is scripts/device-run.sh's job (GPU tests, benchmark).
#   scripts/run-example.sh [SPEC] [--dim NAME=VALUE]...
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-examples/causal_gqa.mlir}
shift || true
dims=("$@")
[ ${#dims[@]} -eq 0 ] && dims=(--dim B=2 --dim N=8192 --dim T=16384)
name=$(basename "$spec" .mlir)
out=${FLASHGEN_OUT:-build/examples-out}/$name
# Only the dims the spec names (flashgen rejects bindings it does not use).
use=()
for ((i = 0; i < ${#dims[@]}; i += 2)); do
  dim=${dims[$((i + 1))]%%=*}
  grep -q "\"$dim\"" "$spec" && use+=("${dims[$i]}" "${dims[$((i + 1))]}")
done
echo "== 1. $spec: the IO lower bound and the schedule the compiler chooses (flashgen explain)"
build/bin/flashgen explain "$spec" "${use[@]}"
echo
echo "== 2. the bundle: one kernel per ranked schedule (flashgen compile -o $out)"
rm -rf "$out"
build/bin/flashgen compile "$spec" -o "$out" "${use[@]}"
echo
echo "== 3. NVRTC compiles every variant for the bundle's architecture, no GPU needed (flashgen-nvrtc)"
FLASHGEN_CACHE_DIR=${FLASHGEN_CACHE_DIR:-build/cache} build/bin/flashgen-nvrtc "$out"
echo
echo "== done: load $out with flashgen.load() (python/), runtime.h or runtime_c.h on a GPU machine"
