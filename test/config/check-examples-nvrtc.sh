#!/usr/bin/env bash
# Compiles every example spec into two bundles, one scheduled for sm_80
# (mma.sync kernels) and one for sm_90 (where flash3's wgmma kernels compete),
# the scheduler's top 4 variants each, with the gradient kernels of every
# attention (`--backward`: flash2_grad and flash3_grad families), and has
# NVRTC compile every variant for its architecture (sm_80, sm_90a):
# flashgen-nvrtc fails on any error, warning or spill. No GPU needed.
set -u
bin=$1
examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLASHGEN_CACHE_DIR="$work/cache"
status=0
for spec in "$examples"/*.mlir; do
  name=$(basename "$spec" .mlir)
  for pair in sm_80:sm_80 sm_90:sm_90a; do
    target=${pair%%:*} arch=${pair##*:}
    out="$work/$name-$target"
    if ! "$bin/flashgen" compile "$spec" --backward -o "$out" --target "$target" > "$out.log" 2>&1; then
      echo "FAIL: flashgen compile $name --target $target"; cat "$out.log"; status=1; continue
    fi
    if "$bin/flashgen-nvrtc" "$out" --arch "$arch" > "$out.nvrtc" 2>&1; then
      echo "ok: $name for $arch ($(grep -c 'registers' "$out.nvrtc") kernel compiles, no spill, no warning)"
    else
      echo "FAIL: $name for $arch"; grep -E "FAILED|error|warning|spill" "$out.nvrtc" | head -10; status=1
    fi
  done
done
exit $status
