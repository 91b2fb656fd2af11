#!/usr/bin/env bash
# Compiles every example spec into two bundles, one scheduled for sm_80
# (mma.sync kernels) and one for sm_90 (where flash3's wgmma kernels compete),
# the scheduler's top 4 variants each, with the gradient kernels of every
# attention (`--backward`: flash2_grad and flash3_grad families) and of the
# recurrences (chunk_grad: every gate kind), and has
# NVRTC compile every variant for its architecture (sm_80, sm_90a):
# flashgen-nvrtc fails on any error, warning or spill. No GPU needed. The
# decoding examples (decode_*) are also planned for one query token, where
# the scheduler takes flash_decode (its split and merge kernels). Examples
# with a paged cache, packed (varlen) sequences, an output_mod or a
# feature_map compile without --backward, which refuses them.
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
    # A paged cache serves decoding and prefill and has no backward
    # (docs/semantics.md §2.8), nor do packed attention sequences (§2.9),
    # output modifiers (§2.11, §3.6) and feature maps (§3.7) yet: their
    # examples compile forward only (packed recurrences, §3.5, have one).
    backward=(--backward)
    if grep -qE "flash\.paged_view|output_mod|feature_map" "$spec"; then backward=(); fi
    if grep -q "flash\.varlen_view" "$spec" && grep -q "flash\.attention " "$spec"; then backward=(); fi
    # Under a block mask the mma.sync gradient kernels at D 128 have no
    # register fit for GQA groups of 4 or more (schedule/AttentionGrad.cpp,
    # kGradBlockListRegistersPerExtraHead): the block-sparse example's
    # backward is sm_90's.
    if [ "$target" = sm_80 ] && grep -q "flash\.block_mask" "$spec"; then backward=(); fi
    if ! "$bin/flashgen" compile "$spec" "${backward[@]}" -o "$out" --target "$target" > "$out.log" 2>&1; then
      echo "FAIL: flashgen compile $name --target $target"; cat "$out.log"; status=1; continue
    fi
    outs=("$out")
    case "$name" in
      decode_*)
        if ! "$bin/flashgen" compile "$spec" --dim N=1 --dim M=32768 -o "$out-n1" \
               --target "$target" > "$out-n1.log" 2>&1; then
          echo "FAIL: flashgen compile $name --target $target --dim N=1"; cat "$out-n1.log"; status=1
        else
          outs+=("$out-n1")
        fi ;;
    esac
    for bundle in "${outs[@]}"; do
      label="$name${bundle#$out}"
      if "$bin/flashgen-nvrtc" "$bundle" --arch "$arch" > "$bundle.nvrtc" 2>&1; then
        echo "ok: $label for $arch ($(grep -c 'registers' "$bundle.nvrtc") kernel compiles, no spill, no warning)"
      else
        echo "FAIL: $label for $arch"; grep -E "FAILED|error|warning|spill" "$bundle.nvrtc" | head -10; status=1
      fi
    done
  done
done
exit $status
