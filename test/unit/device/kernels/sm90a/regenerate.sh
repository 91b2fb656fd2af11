#!/bin/bash
# Regenerates the emitter's flash3 output for the hand-written specs in
# build/hand/ (each spec's schedule replaced by the flash3 schedules below;
# ws_*.cu: the warp-specialized form, a producer warpgroup):
#   test/unit/device/kernels/sm90a/regenerate.sh [BUILD_DIR]
# WgmmaCompileTest compiles these files for sm_90a; AttentionWgmmaTest runs
# them on the host emulator. Schedules: tile_q,tile_kv,stages,warps[,inner_kv[,inner_q]]
# (inner_kv = 64: one P V wgmma per 64-column slab instead of one per K step;
# inner_q = 1: softmax overlapping the warpgroup's own P V, producer form only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
build=${1:-$root/build}
opt=$build/bin/flashgen-opt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

emit() {  # [ws_]SPEC SCHED...: writes [ws_]SPEC.cu from build/hand/SPEC.mlir
  local out=$1
  local spec=${1#ws_}
  shift
  python3 - "$build/hand/$spec.mlir" "$tmp/$out.mlir" "$spec" "$out" "$@" <<'PY'
import re, sys
spec, out, name, new_name, scheds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
src = open(spec).read().replace('@' + name + '(', '@' + new_name + '(')
d = int(re.search(r'tensor<\?x\d+x\?x(\d+)x', src).group(1))
def attr(s):
    f = [int(x) for x in s.split(',')]
    tq, tk, st, w = f[:4]
    ikv = f[4] if len(f) > 4 else 0
    iq = f[5] if len(f) > 5 else 0
    producer = w % 4 == 0 and tq == 16 * (w - 4)
    smem = (tq * d + st * tk * 2 * d) * 2 + 1024 + (((1 + 4 * st) * 8 + 127) // 128 * 128 if producer else 0)
    return (f'#flash.schedule<algorithm = flash3, tile_q = {tq}, tile_kv = {tk}, tile_d = {d}, '
            f'stages = {st}, warps = {w}, chunk = 0, inner_q = {iq}, inner_kv = {ikv}, tile_dv = {d}, '
            f'smem_bytes = {smem}>')
attrs = [attr(s) for s in scheds]
new = '{flash.schedule = ' + attrs[0] + ', flash.candidates = [' + ', '.join(attrs) + ']}'
src, n = re.subn(r'\{flash\.schedule = .*?\]\}', new, src, flags=re.S)
assert n == 1
open(out, 'w').write(src)
PY
  {
    echo "// Emitted by flashgen-opt -flash-lower-kernels -canonicalize -cse -flash-print-cuda"
    echo "// from build/hand/$spec.mlir with flash3 schedules $*; regenerate.sh rewrites it."
    "$opt" "$tmp/$out.mlir" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null
  } > "$here/$out.cu"
  echo "wrote $here/$out.cu"
}

# flash3 without a producer: tile_q = 16 warps (every thread loads, CTA barriers)
emit mha_d128_causal 128,128,2,8 128,128,2,8,64 192,128,2,12 128,128,3,8
emit mha_d128 128,128,2,8 128,176,2,8
emit mha_d64 128,128,2,8 192,128,2,12 128,192,2,8
emit softcap 128,128,2,8
emit alibi_causal 128,128,2,8
emit sliding_window 128,128,2,8
emit prefix_lm 128,128,2,8
emit kv_cache_causal 128,128,2,8
emit causal_gqa 128,176,2,8,64
# flash3 with a producer warpgroup: tile_q = 16 (warps - 4), mbarriers, ping-pong turns
emit ws_mha_d128_causal 128,128,2,12 128,128,3,12,64 64,128,2,8 128,128,2,12,0,1
emit ws_mha_d128 128,128,2,12 128,176,2,12 128,176,2,12,0,1
emit ws_mha_d64 128,128,2,12 192,128,2,16 192,128,2,16,0,1
emit ws_softcap 128,128,2,12 128,128,2,12,0,1
emit ws_sliding_window 128,128,2,12 128,128,2,12,0,1
emit ws_kv_cache_causal 128,128,2,12 128,128,3,12,0,1
emit ws_causal_gqa 128,176,2,12,64 128,128,2,12,64,1
