#!/usr/bin/env bash
# Compiles the benchmark specs into bundles (on a machine with the compiler
# built), planned for the benchmark's sizes. Carry the output folder to the
# GPU machine and run bench/attention/bench.py --bundles there.
#
# FLASHGEN_BACKWARD=1: compile the attention specs bench/attention/bench_backward.py
# times (bench/attention/specs/mha_d64*, mha_d128*, gqa48_d128_causal, softcap, alibi_causal) with
# `flashgen compile --backward`, so that each bundle also holds <spec>_backward,
# into their own folder (default build/bench-bundles-backward). A spec that does
# not compile is reported and the others still are; the exit status is then 1.
# scripts/device-run.sh runs the backward bench on CARRY_DIR/bench-bundles-backward.
#
# Also the decode bundle (examples/decode_gqa.mlir, --top-k 4) into
# OUT/../bench-decode for bench/attention/bench_decode.py.
#
# Each bundle also gets explain.json: `flashgen explain --json` at the sizes
# the bundle was planned for (the same --dim values, the compile flags'
# --target and --deterministic), i.e. the modeled HBM bytes and the lower
# bound of the schedule its variant 0 runs (bench/traffic/check_explain.py
# checks that the schedules agree). bench/traffic/measure.py measures each
# kernel at those sizes on the GPU and puts the three side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${FLASHGEN_BACKWARD:-}" in
  1|[Tt][Rr][Uu][Ee]|[Oo][Nn]|[Yy][Ee][Ss]) backward=1 ;;
  *) backward= ;;
esac
if [ -n "$backward" ]; then
  out=${1:-build/bench-bundles-backward}
else
  out=${1:-build/bench-bundles}
fi
bin=${FLASHGEN_BIN:-build/bin}
# FLASHGEN_SPECS: a folder of specs to use instead of examples/ (e.g. specs
# carrying hand-written schedules); FLASHGEN_COMPILE_FLAGS: extra flags.
specs=${FLASHGEN_SPECS:-}
compile_flags=${FLASHGEN_COMPILE_FLAGS:-}
mkdir -p "$out"
# The compile flags that also change what explain reports.
explain_flags=()
set -- $compile_flags
while [ $# -gt 0 ]; do
  case "$1" in
    --target=* | --deterministic) explain_flags+=("$1") ;;
    --target) explain_flags+=("$1" "${2:-}"); shift ;;
  esac
  shift
done
# explain BUNDLE SPEC FLAG...: BUNDLE/explain.json, checked against the bundle.
explain() {
  local bundle=$1 spec=$2; shift 2
  "$bin/flashgen" explain "$spec" --json "$@" "${explain_flags[@]}" \
    > "$bundle/explain.json"
  python3 bench/traffic/check_explain.py "$bundle"
}
if [ -n "$backward" ]; then
  failed=()
  # The gradient kernels take head dims up to 256 (past 128 the kv kernel
  # is split in two, schedule/AttentionGrad.h's gradSplitsKv; d = 512 has no
  # backward: flashgen compile --backward says so). At 256 the deterministic
  # form's dq kernel does not fit its registers: --deterministic skips it.
  for spec in bench/attention/specs/mha_d64*.mlir bench/attention/specs/mha_d128*.mlir \
              bench/attention/specs/mha_d256*.mlir bench/attention/specs/mla_192_128_causal.mlir \
              bench/attention/specs/gqa48_d128_causal.mlir \
              examples/softcap.mlir examples/alibi_causal.mlir; do
    name=$(basename "$spec" .mlir)
    case "$name:$compile_flags" in mha_d256*:*--deterministic*) continue ;; esac
    if [ -n "$specs" ] && [ -f "$specs/$name.mlir" ]; then spec="$specs/$name.mlir"; fi
    # shellcheck disable=SC2086
    if "$bin/flashgen" compile "$spec" -o "$out/$name" --backward --dim B=2 --dim N=8192 \
         $compile_flags > "$out/$name.log" 2>&1 &&
       explain "$out/$name" "$spec" --backward --dim B=2 --dim N=8192 >> "$out/$name.log" 2>&1; then
      rm -f "$out/$name.log"
      echo "bundle $out/$name (with ${name}_backward)"
    else
      echo "FAILED: flashgen compile --backward $spec (log: $out/$name.log)" >&2
      tail -5 "$out/$name.log" >&2
      failed+=("$name")
    fi
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "compile --backward failed for: ${failed[*]}" >&2
    exit 1
  fi
  exit 0
fi
for spec in bench/attention/specs/*.mlir examples/softcap.mlir examples/alibi_causal.mlir \
            bench/linear/specs/*.mlir; do
  name=$(basename "$spec" .mlir)
  if [ -n "$specs" ] && [ -f "$specs/$name.mlir" ]; then spec="$specs/$name.mlir"; fi
  # shellcheck disable=SC2086
  case "$spec" in
    */linear/*_h32_*) plan=(--dim B=32 --dim T=2048) ;;  # 65,536 tokens (bench_delta.py's 32-head T)
    */linear/*) plan=(--dim B=4 --dim T=16384) ;;   # 65,536 tokens
    *) plan=(--dim B=2 --dim N=8192) ;;             # 16,384 tokens
  esac
  "$bin/flashgen" compile "$spec" -o "$out/$name" "${plan[@]}" $compile_flags > /dev/null
  explain "$out/$name" "$spec" "${plan[@]}"
  echo "bundle $out/$name"
done
# The decode bundle (bench/attention/bench_decode.py) beside the others, in
# its own folder (OUT/../bench-decode, scripts/device-run.sh reads
# CARRY_DIR/bench-decode): examples/decode_gqa.mlir planned for single-token
# decode at B=8 over M=32768 cached keys, the compiler's first choice and 3
# ranked candidates (its sizes stay run-time: the bench runs N=1..16, M up to
# 131072 from it).
decode_out=$(dirname "$out")/bench-decode
spec=examples/decode_gqa.mlir
if [ -n "$specs" ] && [ -f "$specs/decode_gqa.mlir" ]; then spec="$specs/decode_gqa.mlir"; fi
mkdir -p "$decode_out"
# shellcheck disable=SC2086
if "$bin/flashgen" compile "$spec" -o "$decode_out/decode_gqa" --dim B=8 --dim N=1 \
     --dim M=32768 --top-k 4 $compile_flags > "$decode_out/decode_gqa.log" 2>&1; then
  rm -f "$decode_out/decode_gqa.log"
  echo "bundle $decode_out/decode_gqa"
else
  echo "FAILED: flashgen compile $spec (log: $decode_out/decode_gqa.log)" >&2
  tail -5 "$decode_out/decode_gqa.log" >&2
  exit 1
fi
# The paged-cache bundles (bench/attention/bench_paged.py) in
# OUT/../bench-paged: the contiguous decode step with per-sequence lengths
# (examples/decode_ragged.mlir), the paged one (examples/decode_paged.mlir,
# pages of 16 keys) and that spec with pages of 256 keys, each planned as
# the decode bundle is.
paged_out=$(dirname "$out")/bench-paged
mkdir -p "$paged_out"
sed 's/x16x8x128xbf16/x256x8x128xbf16/g; s/@decode_paged(/@decode_paged_p256(/' \
  examples/decode_paged.mlir > "$paged_out/decode_paged_p256.mlir"
for spec in examples/decode_ragged.mlir examples/decode_paged.mlir "$paged_out/decode_paged_p256.mlir"; do
  name=$(basename "$spec" .mlir)
  # shellcheck disable=SC2086
  "$bin/flashgen" compile "$spec" -o "$paged_out/$name" --dim B=8 --dim N=1 --dim M=32768 \
    $compile_flags > /dev/null
  echo "bundle $paged_out/$name"
done
# The varlen prefill bundles (bench/attention/bench_varlen.py) in
# OUT/../bench-varlen: the packed batch (examples/varlen_prefill.mlir) and
# the same attention on [B, H, N, D] batches (examples/causal_gqa.mlir),
# both planned at B=8, N=M=4096.
varlen_out=$(dirname "$out")/bench-varlen
mkdir -p "$varlen_out"
for spec in examples/varlen_prefill.mlir examples/causal_gqa.mlir; do
  name=$(basename "$spec" .mlir)
  # shellcheck disable=SC2086
  "$bin/flashgen" compile "$spec" -o "$varlen_out/$name" --dim B=8 --dim N=4096 --dim M=4096 \
    $compile_flags > /dev/null
  echo "bundle $varlen_out/$name"
done
# The recurrences' step bundles (bench/linear/bench_step.py) in
# OUT/../bench-step: bench/linear/step-specs planned for one token of 64
# sequences (recurrent_step schedules), the first choice and 3 ranked
# candidates; the bench runs B = 64 and 256 from them.
step_out=$(dirname "$out")/bench-step
mkdir -p "$step_out"
for spec in bench/linear/step-specs/*.mlir; do
  name=$(basename "$spec" .mlir)
  # shellcheck disable=SC2086
  "$bin/flashgen" compile "$spec" -o "$step_out/$name" --dim B=64 --dim T=1 --top-k 4 \
    $compile_flags > /dev/null
  explain "$step_out/$name" "$spec" --dim B=64 --dim T=1
  echo "bundle $step_out/$name"
done
# And examples/gated_delta_rule.mlir's, for the C++ decode loop
# (examples/host/recurrent_decode_loop.cpp).
# shellcheck disable=SC2086
"$bin/flashgen" compile examples/gated_delta_rule.mlir -o "$step_out/gated_delta_rule" \
  --dim B=64 --dim T=1 $compile_flags > /dev/null
echo "bundle $step_out/gated_delta_rule"
# The block-sparse bundles (bench/attention/bench_sparse.py) in
# OUT/../bench-sparse: bench/attention/prepare-sparse.sh's specs.
bash bench/attention/prepare-sparse.sh "$(dirname "$out")/bench-sparse"
# The packed-documents bundles (bench/attention/bench_document.py: with and
# without the mask_lists pre-passes) in OUT/../bench-document.
FLASHGEN_BIN="$bin" bash bench/attention/prepare-document.sh "$(dirname "$out")/bench-document"
