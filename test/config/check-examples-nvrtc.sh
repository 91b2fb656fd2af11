#!/usr/bin/env bash
# Compiles every example spec into a bundle (the scheduler's top 4 variants)
# and has NVRTC compile every variant for sm_80 and sm_90a: flashgen-nvrtc
# fails on any error, warning or spill. No GPU needed.
set -u
bin=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLASHGEN_CACHE_DIR="$work/cache"
status=0
for spec in "$examples"/*.mlir; do
  name=$(basename "$spec" .mlir)
  if ! "$bin/flashgen" compile "$spec" -o "$work/$name" > "$work/$name.log" 2>&1; then
    echo "FAIL: flashgen compile $name"; cat "$work/$name.log"; status=1; continue
  fi
  if "$bin/flashgen-nvrtc" "$work/$name" --arch sm_80 --arch sm_90a > "$work/$name.nvrtc" 2>&1; then
    echo "ok: $name ($(grep -c 'registers' "$work/$name.nvrtc") kernel compiles, no spill, no warning)"
  else
    echo "FAIL: $name"; grep -E "FAILED|error|warning|spill" "$work/$name.nvrtc" | head -10; status=1
  fi
done
exit $status
