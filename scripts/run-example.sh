#!/usr/bin/env bash
# The main job: compile an example spec through the pipeline and show what the
# compiler made of it: the IO lower bound, the schedule it chose and why
# (modeled traffic and time, ranked candidates), the bundle it wrote, and
# what NVRTC made of every kernel (registers, spills, compile time); then,
# where a GPU is present, run the bundle's first kernel on random inputs
# against the float64 reference (flashgen-ref, flashgen-run) and print its
# time and TFLOP/s. Without a GPU step 4 says it is skipped and why. The
# whole GPU suite and the benchmarks are scripts/device-run.sh's job.
#   scripts/run-example.sh [SPEC] [--dim NAME=VALUE]...
# The --dims are the sizes the schedule is chosen for; step 4 draws its
# reference data at modest ragged sizes of its own (below).
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
ref=${FLASHGEN_OUT:-build/examples-out}/$name.ref
# Attention: one batch, N=900 queries over M=1000 keys (N=900 where both are
# one size), within flashgen-ref's float64 budget for 32 heads of d=128;
# recurrences: B=2, T=1000. Sizes no tile divides, so edges are exercised.
bindings=(B=1 N=900 M=1000)
grep -q "flash.linear_attention" "$spec" && bindings=(B=2 T=1000)
run_dims=()
for binding in "${bindings[@]}"; do
  grep -q "\"${binding%%=*}\"" "$spec" && run_dims+=(--dim "$binding")
done
gpus= why="no nvidia-smi on the PATH"
if command -v nvidia-smi > /dev/null; then
  gpus=$(nvidia-smi -L 2>&1) || { why="nvidia-smi -L: ${gpus%%$'\n'*}"; gpus=; }
  [ -n "$gpus" ] || why=${why/#no nvidia-smi on the PATH/nvidia-smi -L lists no GPU}
fi
if [ -z "$gpus" ]; then
  echo "== 4. skipped: no GPU here ($why); on a GPU machine this step"
  echo "   draws reference data (flashgen-ref ${run_dims[*]}) and runs the bundle's first kernel"
  echo "   against it, timed (flashgen-run); the GPU suite itself is scripts/device-run.sh"
else
  kernel=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["kernels"][0]["name"])' \
           "$out/manifest.json")
  echo "== 4. on ${gpus%%$'\n'*}: reference data at ${run_dims[*]} (flashgen-ref -o $ref), then"
  echo "   $kernel on it: outputs against the float64 reference, median time, TFLOP/s (flashgen-run)"
  rm -rf "$ref"
  build/bin/flashgen-ref "$spec" "${run_dims[@]}" -o "$ref"
  FLASHGEN_CACHE_DIR=${FLASHGEN_CACHE_DIR:-build/cache} \
    build/bin/flashgen-run "$out" "$kernel" --reference "$ref/$kernel"
fi
echo
echo "== done: load $out with flashgen.load() (python/), runtime.h or runtime_c.h on a GPU machine"
