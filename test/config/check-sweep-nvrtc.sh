#!/usr/bin/env bash
# The promise of issue #20: a spec `flashgen compile` accepts yields a bundle
# whose every variant NVRTC compiles for its target; a spec it cannot build
# is refused at compile time (exit 1, a diagnostic naming the op).
#
# Generates attention specs over head dims (512: the small-cache kernels),
# head counts (MHA, GQA, MQA),
# dtypes and masks, and recurrence specs over gate kinds, key/value dims and
# dtypes; compiles each (--top-k 2) and has flashgen-nvrtc compile every
# variant (no error or warning; register spills are reported, not failed:
# they cost speed, not correctness). Head dims the kernels cannot take must
# be refused with the supported list. No GPU needed.
#
# usage: check-sweep-nvrtc.sh BIN_DIR [--full]
#   default: one spec per head dim and per gate kind, the other axes varied
#            along with it (a few minutes on 2 cores);
#   --full:  the cross product, both targets, --top-k 4 (ctest label nightly).
set -u
bin=$1
full=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLASHGEN_CACHE_DIR="$work/cache"
status=0
topk=2
[ "$full" = --full ] && topk=4

# attention NAME D HQ HKV DTYPE MASK: writes $work/NAME.mlir
attention() {
  local name=$1 d=$2 hq=$3 hkv=$4 dt=$5 mask=$6 maskText
  case $mask in
    sliding) maskText="mask sliding_window window 256" ;;
    *) maskText="mask $mask" ;;
  esac
  local q="tensor<?x${hq}x?x${d}x${dt}>" kv="tensor<?x${hkv}x?x${d}x${dt}>"
  cat > "$work/$name.mlir" <<EOF
func.func @$name(%q: $q, %k: $kv, %v: $kv) -> $q {
  %o = flash.attention %q, %k, %v $maskText dims ["B", "N", "N"]
      : $q, $kv, $kv -> $q
  return %o : $q
}
EOF
}

# linear NAME GATE DK DV H DTYPE: writes $work/NAME.mlir
linear() {
  local name=$1 gate=$2 dk=$3 dv=$4 h=$5 dt=$6
  local q="tensor<?x${h}x?x${dk}x${dt}>" v="tensor<?x${h}x?x${dv}x${dt}>"
  local s="tensor<?x${h}x?xf32>" g="" gargs="" gtypes=""
  case $gate in
    none) ;;
    decay) gargs="%g"; gtypes="$s" ;;
    vector) gargs="%g"; gtypes="tensor<?x${h}x?x${dk}xf32>" ;;
    mlstm_exp|mlstm_sig) gargs="%i, %f"; gtypes="$s, $s" ;;
  esac
  local params="%q: $q, %k: $q, %v: $v"
  case $gate in
    decay|vector) params="$params, %g: $gtypes" ;;
    mlstm_exp|mlstm_sig) params="$params, %i: $s, %f: $s" ;;
  esac
  [ -n "$gargs" ] && g="gate $gate gates($gargs : $gtypes)"
  cat > "$work/$name.mlir" <<EOF
func.func @$name($params) -> $v {
  %o = flash.linear_attention %q, %k, %v $g dims ["B", "T"]
      : $q, $q, $v -> $v
  return %o : $v
}
EOF
}

# build NAME TARGET ARCH: compile + NVRTC every variant
build() {
  local name=$1 target=$2 arch=$3 out="$work/$1-$2"
  if ! "$bin/flashgen" compile "$work/$name.mlir" -o "$out" --target "$target" \
       --top-k $topk > "$out.log" 2>&1; then
    echo "FAIL: flashgen compile $name --target $target"; cat "$out.log"; status=1; return
  fi
  if "$bin/flashgen-nvrtc" "$out" --arch "$arch" --allow-spills > "$out.nvrtc" 2>&1; then
    local spills
    spills=$(grep -E 'spill [0-9]+/[0-9]+' "$out.nvrtc" | grep -vc 'spill 0/0')
    echo "ok: $name for $arch ($(grep -c 'registers' "$out.nvrtc") kernels$(
      [ "$spills" != 0 ] && echo ", $spills spilling registers"))"
  else
    echo "FAIL: $name for $arch"; grep -E "FAILED|error|warning|spill" "$out.nvrtc" | head -10
    status=1
  fi
}

# build_backward SPEC LABEL TARGET ARCH: compile SPEC with --backward and
# have NVRTC compile every kernel, spills failing (the gradient kernels'
# register split is the scheduler's promise, schedule/AttentionGrad.cpp).
build_backward() {
  local spec=$1 label=$2 target=$3 arch=$4 out="$work/$2-$3-backward"
  if ! "$bin/flashgen" compile "$spec" --backward -o "$out" --target "$target" \
       --top-k $topk > "$out.log" 2>&1; then
    echo "FAIL: flashgen compile --backward $label --target $target"; cat "$out.log"; status=1; return
  fi
  if "$bin/flashgen-nvrtc" "$out" --arch "$arch" > "$out.nvrtc" 2>&1; then
    echo "ok: $label --backward for $arch ($(grep -c 'registers' "$out.nvrtc") kernels, no spill)"
  else
    echo "FAIL: $label --backward for $arch"; grep -E "FAILED|error|warning|spill" "$out.nvrtc" | head -10
    status=1
  fi
}

# refuse NAME TARGET: compile must fail and list the supported head dims
refuse() {
  local name=$1 target=$2 out="$work/$1-$2"
  if "$bin/flashgen" compile "$work/$name.mlir" -o "$out" --target "$target" > "$out.log" 2>&1; then
    echo "FAIL: flashgen compile accepted $name for $target"; status=1
  elif grep -q "'flash.attention' op .*16, 32, 64, 128 or 256" "$out.log"; then
    echo "ok: $name refused for $target"
  else
    echo "FAIL: $name for $target refused without the supported list:"; cat "$out.log"; status=1
  fi
}

targets="sm_80:sm_80 sm_90:sm_90a"
if [ "$full" = --full ]; then
  for d in 16 32 64 128 256 512; do
    for heads in 8:8 8:2 8:1; do
      for dt in bf16 f16; do
        for mask in none causal sliding; do
          name="att_d${d}_h${heads/:/_}_${dt}_${mask}"
          attention "$name" "$d" "${heads%%:*}" "${heads##*:}" "$dt" "$mask"
          for pair in $targets; do build "$name" "${pair%%:*}" "${pair##*:}"; done
        done
      done
    done
  done
  for gate in none decay vector mlstm_exp mlstm_sig; do
    for dims in 64:64 128:128 64:128 256:512; do
      for dt in bf16 f16; do
        name="lin_${gate}_${dims/:/_}_${dt}"
        linear "$name" "$gate" "${dims%%:*}" "${dims##*:}" 4 "$dt"
        for pair in $targets; do build "$name" "${pair%%:*}" "${pair##*:}"; done
      done
    done
  done
else
  # One spec per head dim and per gate kind; heads, dtype, mask, dims and
  # target rotate with it so that every value of every axis appears.
  attention att_d16 16 4 4 bf16 none;      build att_d16 sm_80 sm_80
  attention att_d32 32 8 2 f16 causal;     build att_d32 sm_90 sm_90a
  attention att_d64 64 8 1 bf16 sliding;   build att_d64 sm_90 sm_90a
  attention att_d128 128 4 4 f16 causal;   build att_d128 sm_80 sm_80
  attention att_d256 256 16 4 bf16 none;   build att_d256 sm_90 sm_90a
  # Past head dim 128 the backward splits its kv kernel in two (kv_dv,
  # kv_dk): at 256 with GQA 16/4, and MLA's 192 / 128.
  build_backward "$work/att_d256.mlir" att_d256 sm_90 sm_90a
  build_backward "$(dirname "$0")/../../bench/attention/specs/mla_192_128_causal.mlir" mla_192_128 sm_90 sm_90a
  # M < d^2: the small-cache kernels (flash3_dsplit on sm_90, flash2_dsplit).
  attention att_d512 512 8 2 f16 sliding;  build att_d512 sm_90 sm_90a
  attention att_d512m 512 8 1 bf16 causal; build att_d512m sm_80 sm_80
  linear lin_none none 64 64 4 bf16;             build lin_none sm_80 sm_80
  linear lin_decay decay 128 128 4 f16;          build lin_decay sm_90 sm_90
  linear lin_vector vector 64 128 4 bf16;        build lin_vector sm_80 sm_80
  linear lin_mlstm_exp mlstm_exp 128 128 2 f16;  build lin_mlstm_exp sm_90 sm_90
  linear lin_mlstm_sig mlstm_sig 64 64 4 bf16;   build lin_mlstm_sig sm_80 sm_80
fi
# Head dims no kernel takes: refused on both targets, with the list.
for d in 8 24 40 48 72 96 160 192; do
  attention "att_bad_d$d" "$d" 4 4 bf16 causal
  for target in sm_80 sm_90; do refuse "att_bad_d$d" "$target"; done
done
exit $status
