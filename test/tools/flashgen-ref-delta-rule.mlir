// flashgen-ref's delta-rule case: the files it writes (inputs in the op's
// element types, a float64 o, the f32 final state), and its expected
// outputs recomputed by a second, independent implementation of
// docs/semantics.md §7.1 in plain Python.
// RUN: rm -rf %t && flashgen-ref %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 --dim T=23 --seed 5 -o %t | FileCheck %s --check-prefix=RUNOUT
// RUN: FileCheck %s --check-prefix=META < %t/gated_delta/meta.json
// RUN: python3 %S/Inputs/delta-rule/check_delta_rule.py %t/gated_delta | FileCheck %s --check-prefix=CHECK-PY
// RUN: not flashgen-ref %S/Inputs/delta-rule/gated_delta.mlir --dim B=2 -o %t/unbound 2>&1 | FileCheck %s --check-prefix=UNBOUND

// RUNOUT: wrote reference data for 1 op(s)

// META: "gated": true
// META: "l2norm_qk": true
// META: "op": "delta_rule"
// META: "name": "beta"
// META: "name": "g"
// META: "name": "c0"
// META: "name": "o"
// META-NEXT: "role": "output"
// META: "name": "cf"
// META: "tolerance": 0.01

// CHECK-PY: delta rule: worst error {{.*}} over 23 steps of 4 heads

// UNBOUND: dimension T (sequence length of flash.delta_rule at {{.*}}gated_delta.mlir{{.*}}) is not bound: pass --dim T=VALUE
