// flashgen explain on a flash.delta_rule: the IO lower bound (it holds for
// any schedule) and, at Dk = 8, the scheduler's error (the chunk kernels
// need Dk a power of two of at least 16), exit 1; at the example's sizes
// the bound, the fused chunk schedule it picked and its modeled traffic.
// The bound by hand, per (b, h) of B=2 x H=2, T=23, Dk=8, Dv=5:
//   q, k, v read and o written (bf16): 23 * (8 + 8 + 5 + 5) * 2 = 1196
//   beta and g (f32 each) per step:    23 * (4 + 4)             =  184
//   S_0 read and S_T written (f32):    2 * 8 * 5 * 4            =  320
//   1700 B per (b, h), 6800 B in all; the 160 B state fits on chip.
// RUN: not flashgen explain %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 --dim T=23 2>&1 | FileCheck %s
// RUN: not flashgen explain %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 --dim T=23 --json 2>/dev/null | FileCheck %s --check-prefix=JSON
// RUN: flashgen explain %S/../../examples/gated_delta_rule.mlir --dim B=2 --dim T=4096 2>&1 | FileCheck %s --check-prefix=SCHED
// One token per sequence (decoding): the step kernel, whose HBM traffic is
// the bound (the state read and written once, the token's rows).
// RUN: flashgen explain %S/../../examples/gated_delta_rule.mlir --dim B=64 --dim T=1 2>&1 | FileCheck %s --check-prefix=STEP

// CHECK: @gated_delta  flash.delta_rule  B=2 H=2 T=23 Dk=8 Dv=5 gated bf16
// CHECK-NEXT: lower bound   on chip 6.64 KiB (6800 B), HBM 6.64 KiB
// CHECK-NEXT: error         'flash.delta_rule' op no chunkwise schedule on sm_90 for B=2 H=2 T=23 Dk=8 Dv=5 gate decay +initial +final, 2-byte elements: Dk = 8 must be a power of two of at least 16

// SCHED: @gated_delta_rule  flash.delta_rule  B=2 H=8 T=4096 Dk=128 Dv=256 gated bf16
// SCHED-NEXT: lower bound
// SCHED-NEXT: schedule      chunk_fused chunk=
// SCHED: modeled IO

// STEP: schedule      recurrent_step tile_dv=
// STEP-NEXT: copies        the state slice in 16-byte f32 loads straight into registers
// STEP: HBM {{.*}} = 1.00 x bound
// STEP-NEXT: modeled time {{.*}} bound by hbm

// JSON: "hbm_lower_bound_bytes": 6800,
// JSON: "lower_bound_bytes": 6800,
// JSON: "form": "gated"
