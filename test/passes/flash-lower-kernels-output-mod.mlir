// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels | FileCheck %s
// RUN: flashgen-opt %S/../../examples/gated_recurrence.mlir -flash-schedule="dims=B=64,T=1 top-k=1" -flash-lower-kernels | FileCheck %s --check-prefix=STEP
// A recurrence's output_mod (docs/semantics.md §3.6) cloned into every
// store of o: the extra is a kernel argument (flash.extra, with the dims of
// its dynamic sizes) fetched once per CTA before the state is set up, the
// per-element ops (the read at (b, t, h, d), the silu, the product) in the
// store's region with the CTA's batch and head; the step kernel loads the
// gate element by element.
// B = 8: the 64 sequences take the fused kernel (at B = 2 the model picks
// the two-pass form).

// CHECK: flash.kernel @gated_recurrence_v0 family linear_fused
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// CHECK: %[[B:.*]] = flash.dim "B"
// CHECK-NEXT: %[[T:.*]] = flash.dim "T"
// CHECK-NEXT: %[[GATE:.*]] = flash.extra "gate"(%[[B]], %[[T]]) : tensor<?x?x8x128xf32>
// CHECK: flash.state_init zero
// The gate is read at the output's own (t, d): its tile is copied with each
// chunk (passes/StagedExtras.h) and the store reads it there.
// CHECK: flash.chunk_load v[
// CHECK-NEXT: flash.chunk_extra_load %[[GATE]][%[[IDS]]#2, %[[IDS]]#1] slot 0 rows {{[0-9]+}} at 1 cols {{[0-9]+}} at 3
// CHECK: flash.chunk_store o[{{.*}}] extent {{.*}} gate mlstm_sig output_mod {
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %[[ROW:.*]]: index, %[[COL:.*]]: index):
// CHECK-NEXT: %{{.*}} = flash.chunk_extra_read 0[%[[ROW]], %[[COL]]]
// CHECK: arith.mulf %[[X]],
// CHECK: flash.yield

// STEP: flash.kernel @gated_recurrence_v0 family recurrent_step
// STEP: flash.extra "gate"
// STEP: flash.state_init zero
// STEP: flash.step_store o[{{.*}}] gate mlstm_sig output_mod {
// STEP: tensor.extract
// STEP: flash.yield
