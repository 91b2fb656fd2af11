#!/usr/bin/env bash
# Compiles examples/document_mask.mlir (causal within packed documents, 16
# heads, d = 128) for bench/attention/bench_document.py, planned at B=2,
# N=8192 for the H200 (the kernels take every size at run time), twice:
#
#   OUTDIR/lists/document_mask     `flashgen compile --backward`: the
#                                  compiler's own schedules, forward and
#                                  gradient, with their mask_lists pre-passes;
#   OUTDIR/no-lists/document_mask  the same first-choice schedules with
#                                  mask_lists taken out (flashgen-opt's
#                                  derive-backward, io-bounds and schedule
#                                  passes, then `flashgen compile
#                                  --spec-schedules`): every tile the causal
#                                  mask leaves is visited and masked element
#                                  by element, what the lists save.
#
#   bench/attention/prepare-document.sh [OUTDIR]   (default build/bench-document)
#
# FLASHGEN_BIN (default build/bin) holds flashgen and flashgen-opt.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/bench-document}
bin=${FLASHGEN_BIN:-build/bin}
spec=examples/document_mask.mlir
dims="B=2,N=8192"
rm -rf "$out/lists" "$out/no-lists"
mkdir -p "$out/lists" "$out/no-lists"
"$bin/flashgen" compile "$spec" --backward --target h200 --dim B=2 --dim N=8192 \
  -o "$out/lists/document_mask" > /dev/null
"$bin/flashgen-opt" "$spec" --flash-derive-backward \
  --flash-io-bounds="target=h200 dims=$dims" \
  --flash-schedule="target=h200 dims=$dims top-k=1" |
  sed 's/, mask_lists = 1//g' > "$out/no-lists/document_mask.mlir"
if grep -q "mask_lists" "$out/no-lists/document_mask.mlir"; then
  echo "prepare-document.sh: mask_lists left in $out/no-lists/document_mask.mlir" >&2
  exit 1
fi
"$bin/flashgen" compile "$out/no-lists/document_mask.mlir" --spec-schedules \
  --target h200 --dim B=2 --dim N=8192 -o "$out/no-lists/document_mask" > /dev/null
echo "prepare-document.sh: wrote $out/lists and $out/no-lists"
