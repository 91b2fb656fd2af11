#!/usr/bin/env bash
# Prepares the GPU correctness cases on a machine with the compiler built:
# compiles each example into a bundle and draws reference data with
# flashgen-ref at ragged sizes (not tile multiples, batch > 1), then writes
# build/gpu-cases/cases.json. Carry build/gpu-cases to the GPU machine and run
# flashgen-gpu-tests there with FLASHGEN_GPU_CASES pointing at it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/gpu-cases}
bin=${FLASHGEN_BIN:-build/bin}
# FLASHGEN_SPECS: a folder of specs to use instead of examples/ (e.g. specs
# carrying hand-written schedules); FLASHGEN_COMPILE_FLAGS: extra flags.
specs=${FLASHGEN_SPECS:-}
compile_flags=${FLASHGEN_COMPILE_FLAGS:-}
rm -rf "$out"
mkdir -p "$out/bundles" "$out/ref"
cases=()

# add_case LABEL SPEC KERNEL SEED DIM...
add_case() {
  local label=$1 spec=$2 kernel=$3 seed=$4
  shift 4
  local dims=()
  for d in "$@"; do dims+=(--dim "$d"); done
  local bundle="bundles/$kernel"
  local spec_path="examples/$spec"
  if [ -n "$specs" ] && [ -f "$specs/$spec" ]; then spec_path="$specs/$spec"; fi
  if [ ! -f "$out/$bundle/manifest.json" ]; then
    # shellcheck disable=SC2086
    "$bin/flashgen" compile "$spec_path" -o "$out/$bundle" $compile_flags > /dev/null
  fi
  local refdir="ref/$label"
  "$bin/flashgen-ref" "examples/$spec" "${dims[@]}" --seed "$seed" -o "$out/$refdir" > /dev/null
  cases+=("{\"label\": \"$label\", \"bundle\": \"$bundle\", \"kernel\": \"$kernel\", \"reference\": \"$refdir/$kernel\"}")
}

# Sizes keep the whole set under ~45 MB (the GPU machine's carry limit is
# 64 MiB) while covering ragged tails, batch > 1, GQA and N != M.
add_case causal_gqa_b2_n100   causal_gqa.mlir      causal_gqa      1 B=2 N=100
add_case causal_gqa_b1_n257   causal_gqa.mlir      causal_gqa      2 B=1 N=257
add_case softcap_b1_n300      softcap.mlir         softcap         3 B=1 N=300
add_case window_b1_n400       sliding_window.mlir  sliding_window  4 B=1 N=400
add_case alibi_b1_n300        alibi_causal.mlir    alibi_causal    5 B=1 N=300
add_case d64_b2_n150          attention_d64.mlir   attention_d64   6 B=2 N=150
add_case prefix_lm_b1_n300    prefix_lm.mlir       prefix_lm       7 B=1 N=300
add_case kv_cache_n37_m901    kv_cache_causal.mlir kv_cache_causal 8 B=2 N=37 M=901
add_case kv_cache_n128_m128   kv_cache_causal.mlir kv_cache_causal 9 B=1 N=128 M=128

{
  echo '{"cases": ['
  for ((i = 0; i < ${#cases[@]}; i++)); do
    sep=","; [ $i -eq $((${#cases[@]} - 1)) ] && sep=""
    echo "  ${cases[$i]}$sep"
  done
  echo ']}'
} > "$out/cases.json"
echo "prepared ${#cases[@]} GPU cases in $out ($(du -sh "$out" | cut -f1))"
