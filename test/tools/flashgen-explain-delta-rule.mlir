// flashgen explain on a flash.delta_rule: the IO lower bound (it holds for
// any schedule) and the scheduler's error (no kernel family yet), exit 1.
// The bound by hand, per (b, h) of B=2 x H=2, T=23, Dk=8, Dv=5:
//   q, k, v read and o written (bf16): 23 * (8 + 8 + 5 + 5) * 2 = 1196
//   beta and g (f32 each) per step:    23 * (4 + 4)             =  184
//   S_0 read and S_T written (f32):    2 * 8 * 5 * 4            =  320
//   1700 B per (b, h), 6800 B in all; the 160 B state fits on chip.
// RUN: not flashgen explain %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 --dim T=23 2>&1 | FileCheck %s
// RUN: not flashgen explain %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 --dim T=23 --json 2>/dev/null | FileCheck %s --check-prefix=JSON

// CHECK: @gated_delta  flash.delta_rule  B=2 H=2 T=23 Dk=8 Dv=5 gated bf16
// CHECK-NEXT: lower bound   on chip 6.64 KiB (6800 B), HBM 6.64 KiB
// CHECK-NEXT: error         'flash.delta_rule' op has no kernel family yet

// JSON: "hbm_lower_bound_bytes": 6800,
// JSON: "lower_bound_bytes": 6800,
// JSON: "form": "gated"
