#!/usr/bin/env bash
# Compiles the block-sparse benchmark's specs (bench/attention/specs/sparse:
# block_sparse_gG[_causal] and their dense twins dense_gG[_causal], 32 query
# heads over 32/G key/value heads, G = 1, 2, 4, 8, d = 128) into bundles for
# bench/attention/bench_sparse.py, planned for its headline size (B=1,
# N=M=65,536; the kernels take every size at run time, --quick runs B=4,
# N=16,384 from the same bundles). Run it where the compiler is built,
# carry OUTDIR to the GPU machine and run there
#
#     python3 bench/attention/bench_sparse.py --bundles OUTDIR --out $OUT/attention-sparse
#
#   bench/attention/prepare-sparse.sh [OUTDIR]      (default build/bench-sparse)
#
# As bench/prepare-bench.sh: FLASHGEN_BIN (default build/bin) holds the
# flashgen tool, FLASHGEN_SPECS a folder of specs to use instead of
# bench/attention/specs/sparse (same names), FLASHGEN_COMPILE_FLAGS extra
# compile flags (default target h200 unless they name one); each bundle also
# gets explain.json (`flashgen explain --json` at the planned sizes, checked
# by bench/traffic/check_explain.py; a failure there is reported, the bundle
# kept). A spec that does not compile is reported (its log stays in
# OUTDIR/NAME.log) and the others still are; the exit status is then 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/bench-sparse}
bin=${FLASHGEN_BIN:-build/bin}
specs=${FLASHGEN_SPECS:-}
compile_flags=${FLASHGEN_COMPILE_FLAGS:-}
plan=(--dim B=1 --dim N=65536)
mkdir -p "$out"
# The compile flags that also change what explain reports; the target is
# h200 unless the flags name one.
explain_flags=()
target=(--target h200)
# shellcheck disable=SC2086
set -- $compile_flags
while [ $# -gt 0 ]; do
  case "$1" in
    --target=*) explain_flags+=("$1"); target=() ;;
    --deterministic) explain_flags+=("$1") ;;
    --target) explain_flags+=("$1" "${2:-}"); target=(); shift ;;
  esac
  shift
done
failed=()
for spec in bench/attention/specs/sparse/*.mlir; do
  name=$(basename "$spec" .mlir)
  if [ -n "$specs" ] && [ -f "$specs/$name.mlir" ]; then spec="$specs/$name.mlir"; fi
  # shellcheck disable=SC2086
  if "$bin/flashgen" compile "$spec" -o "$out/$name" "${plan[@]}" "${target[@]}" \
       $compile_flags > "$out/$name.log" 2>&1; then
    rm -f "$out/$name.log"
    if ! { "$bin/flashgen" explain "$spec" --json "${plan[@]}" "${target[@]}" \
             "${explain_flags[@]}" > "$out/$name/explain.json" 2> "$out/$name.explain.log" &&
           python3 bench/traffic/check_explain.py "$out/$name" >> "$out/$name.explain.log" 2>&1; }; then
      echo "warning: explain of $spec failed or disagrees (log: $out/$name.explain.log)" >&2
      tail -3 "$out/$name.explain.log" >&2
    else
      rm -f "$out/$name.explain.log"
    fi
    echo "bundle $out/$name"
  else
    echo "FAILED: flashgen compile $spec (log: $out/$name.log)" >&2
    tail -5 "$out/$name.log" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "compile failed for: ${failed[*]}" >&2
  exit 1
fi
