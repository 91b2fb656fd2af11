// RUN: flashgen-opt %S/../../examples/feature_map_linear.mlir -flash-schedule="dims=B=2,T=4096 top-k=1 algorithm=chunk_fused" -flash-lower-kernels | FileCheck %s
// RUN: flashgen-opt %S/../../examples/feature_map_linear.mlir -flash-schedule="dims=B=2,T=4096 top-k=1 algorithm=chunk_two_pass" -flash-lower-kernels | FileCheck %s --check-prefix=TWO
// RUN: flashgen-opt %S/../../examples/feature_map_linear.mlir -flash-schedule="dims=B=64,T=1 top-k=1" -flash-lower-kernels | FileCheck %s --check-prefix=STEP
// A recurrence's feature_map (docs/semantics.md §3.7) cloned into a
// flash.chunk_feature_map per staged q and k tile: once the chunk has
// landed (flash.tile_wait), before any product reads it, then a barrier;
// the extra fetched once per CTA before the state is set up, the per-element
// ops (the extract at (h, d), the elu) in the map's region with the CTA's
// head.

// CHECK: flash.kernel @feature_map_linear_v0 family linear_fused
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// CHECK: %[[W:.*]] = flash.extra "w" : tensor<8x128xf32>
// CHECK: flash.state_init zero
// CHECK: scf.for %[[C:.*]] = %{{.*}} to
// CHECK: flash.tile_wait 0
// CHECK-NOT: flash.chunk_scores
// CHECK: flash.chunk_feature_map q[%[[IDS]]#2, %[[IDS]]#1, %[[C]]] extent %{{.*}} stage %[[S:[^ ]*]] {
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %[[D:.*]]: index):
// CHECK-NEXT: %{{.*}} = tensor.extract %[[W]][%[[IDS]]#1, %[[D]]] : tensor<8x128xf32>
// CHECK: math.exp
// CHECK: arith.select
// CHECK: flash.yield
// CHECK: flash.chunk_feature_map k[%[[IDS]]#2, %[[IDS]]#1, %[[C]]] extent %{{.*}} stage %[[S]] {
// CHECK: flash.barrier
// CHECK: flash.chunk_scores

// The two-pass form: the states kernel stages and maps k alone; the
// outputs kernel maps both.
// TWO: flash.kernel @feature_map_linear_v0_states family linear_states
// TWO: flash.extra "w"
// TWO-NOT: flash.chunk_feature_map q
// TWO: flash.chunk_feature_map k
// TWO-NOT: flash.chunk_feature_map
// TWO: flash.kernel @feature_map_linear_v0_outputs family linear_outputs
// TWO: flash.tile_wait 0
// TWO-NEXT: flash.chunk_feature_map q
// TWO: flash.chunk_feature_map k
// TWO: flash.barrier
// TWO: flash.chunk_inter

// The step kernel maps q and k as it stores them.
// STEP: flash.kernel @feature_map_linear_v0 family recurrent_step
// STEP: flash.extra "w"
// STEP: flash.state_init zero
// STEP: flash.step_load[{{.*}}] extent {{.*}} gate decay feature_map {
// STEP: tensor.extract
// STEP: flash.yield
// STEP: flash.step_gates
