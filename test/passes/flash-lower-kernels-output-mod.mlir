// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=2,T=4096 top-k=1" -flash-lower-kernels | FileCheck %s
// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=64,T=1 top-k=1" -flash-lower-kernels | FileCheck %s --check-prefix=STEP
// A recurrence's output_mod (docs/semantics.md §3.6) cloned into every
// store of o: the extra is a kernel argument (flash.extra, with the dims of
// its dynamic sizes) fetched once per CTA before the state is set up, the
// per-element ops (the extract at (b, t, h, d), the silu, the product) in
// the store's region with the CTA's batch and head.

// CHECK: flash.kernel @gated_recurrence_v0 family linear_fused
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// CHECK: %[[B:.*]] = flash.dim "B"
// CHECK-NEXT: %[[T:.*]] = flash.dim "T"
// CHECK-NEXT: %[[GATE:.*]] = flash.extra "gate"(%[[B]], %[[T]]) : tensor<?x?x8x128xf32>
// CHECK: flash.state_init zero
// CHECK: flash.chunk_store o[{{.*}}] extent {{.*}} gate mlstm_sig output_mod {
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %[[ROW:.*]]: index, %[[COL:.*]]: index):
// CHECK-NEXT: %{{.*}} = tensor.extract %[[GATE]][%[[IDS]]#2, %[[ROW]], %[[IDS]]#1, %[[COL]]] : tensor<?x?x8x128xf32>
// CHECK: arith.mulf %[[X]],
// CHECK: flash.yield

// STEP: flash.kernel @gated_recurrence_v0 family recurrent_step
// STEP: flash.extra "gate"
// STEP: flash.state_init zero
// STEP: flash.step_store o[{{.*}}] gate mlstm_sig output_mod {
// STEP: tensor.extract
// STEP: flash.yield
