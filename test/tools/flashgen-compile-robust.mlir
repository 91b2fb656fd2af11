// Issue #20: `flashgen compile` never says success for a bundle that would
// fail, never writes outside -o and answers every input in seconds. One
// reproducer per case, from test/tools/Inputs/robust/.
// RUN: rm -rf %t && mkdir -p %t/a/b

// Head dims no kernel takes: a diagnostic naming the op, the value and the
// supported list (it was exit 0 and an NVRTC static_assert at load).
// RUN: not flashgen compile %S/Inputs/robust/head-dim-72.mlir -o %t/hd --target sm_80 2>&1 | FileCheck %s --check-prefix=HEADDIM
// RUN: not flashgen compile %S/Inputs/robust/head-dim-72.mlir -o %t/hd --target sm_90 2>&1 | FileCheck %s --check-prefix=HEADDIM
// HEADDIM: error: 'flash.attention' op no flash2 schedule on sm_{{[89]}}0 for {{.*}} D=72 {{.*}}: flash2's kernels take head dims 16, 32, 64, 128 or 256 (D = 72, Dv = 72 given; pad the head dim to the next supported one)

// A function name that is a path: refused before any file is written.
// RUN: not flashgen compile %S/Inputs/robust/bad-name.mlir -o %t/a/b/out --target sm_80 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: test ! -e %t/a/x_v0.cu && test ! -e %t/a/b/out/manifest.json
// NAME: error: function name "../../x" cannot name a bundle kernel: use a C identifier

// Two ops in one function: two kernels, <function>_0 and <function>_1
// (the runtime refused the bundle's duplicate names).
// RUN: flashgen compile %S/Inputs/robust/two-ops.mlir -o %t/two --target sm_80 --top-k 1 > /dev/null
// RUN: FileCheck %s --check-prefix=TWO < %t/two/manifest.json
// TWO: "name": "two_0"
// TWO: "name": "two_1"

// Static batch and sequence sizes: written as numbers, no unbound symbol
// (the runtime refused "symbol B is not a dimension of any param").
// RUN: flashgen compile %S/Inputs/robust/static-sizes.mlir -o %t/static --target sm_80 --top-k 1 > /dev/null
// RUN: FileCheck %s --check-prefix=STATIC < %t/static/manifest.json
// STATIC: "shape": [
// STATIC-NEXT: 2,
// STATIC-NEXT: 4,
// STATIC-NEXT: 200,
// STATIC: "symbols": []
// STATIC: "int": 2
// STATIC: "int": 200
// STATIC: "cdiv(200,64)*4*2"

// Hand schedules: warps = 0 was a SIGFPE, stages = 2^31 unbounded memory;
// a schedule in range that the kernels cannot run fails the checker.
// RUN: not flashgen compile %S/Inputs/robust/warps-zero.mlir -o %t/hs --spec-schedules 2>&1 | FileCheck %s --check-prefix=WARPS
// WARPS: error: #flash.schedule warps = 0 is outside [1, 32]
// RUN: not flashgen compile %S/Inputs/robust/stages-huge.mlir -o %t/hs --spec-schedules 2>&1 | FileCheck %s --check-prefix=STAGES
// STAGES: error: #flash.schedule stages = 2147483648 is outside [0, 16]
// RUN: not flashgen compile %S/Inputs/robust/tile-q-24.mlir -o %t/hs --spec-schedules --target sm_80 2>&1 | FileCheck %s --check-prefix=TILE
// TILE: error: 'flash.attention' op spec schedule {{.*}} cannot run on sm_80: tile_q = 24 must be a multiple of 16 x 4 = 64 (the warps that split its rows)

// --dim above 2^62 looped forever in nextPowerOfTwo; sizes are 32-bit.
// RUN: not flashgen compile %examples/causal_gqa.mlir -o %t/big --dim N=4611686018427387905 2>&1 | FileCheck %s --check-prefix=DIM
// DIM: dimension N = 4611686018427387905 exceeds 2147483647 (kernels take 32-bit sizes)
// RUN: not flashgen compile %examples/causal_gqa.mlir -o %t/big --top-k 100000 2>&1 | FileCheck %s --check-prefix=TOPK
// TOPK: --top-k takes 1 to 64
// N = 2^31 - 1 spent over a minute in visitTiles: it is refused at once,
// since the cost model's byte counts would overflow; N = 2^22 plans at once.
// RUN: not flashgen compile %examples/causal_gqa.mlir -o %t/big --dim N=2147483647 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: error: 'flash.attention' op B x Hq x N x M x D x element bytes = {{.*}} exceeds 2^60, the most the cost model counts in 64-bit integers
// RUN: flashgen compile %examples/causal_gqa.mlir -o %t/big --dim N=4194304 --top-k 1 | FileCheck %s --check-prefix=BIG
// BIG: wrote {{.*}}manifest.json

// The launch checks on a compiled attention bundle (python, no GPU).
// RUN: flashgen compile %examples/attention_d64.mlir -o %t/d64 --target sm_80 --top-k 1 > /dev/null
// RUN: %flashgen_python %S/Inputs/robust/validate-attention.py %t/d64 attention_d64 | FileCheck %s --check-prefix=LAUNCH
// LAUNCH: contiguous: ok
// LAUNCH-NEXT: row stride 129: InvalidArgument: q: stride 2 is 129, not a multiple of 8 elements
// LAUNCH-NEXT: BNHD view: ok
// LAUNCH-NEXT: output aliases q: InvalidArgument: o: output memory overlaps q
// LAUNCH-NEXT: empty (N = 0): ok

// flashgen-ref answers at once where the float64 reference would run for
// hours or exhaust memory.
// RUN: not flashgen-ref %examples/causal_gqa.mlir --dim B=2 --dim N=1000000 -o %t/ref 2>&1 | FileCheck %s --check-prefix=REF
// REF: sizes too large for the float64 reference
