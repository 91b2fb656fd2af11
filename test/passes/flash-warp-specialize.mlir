// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -flash-warp-specialize=copies=cp_async -canonicalize -cse | FileCheck %s --check-prefix=CPASYNC
// RUN: not flashgen-opt %s -split-input-file -flash-lower-kernels -flash-warp-specialize=copies=dma 2>&1 | FileCheck %s --check-prefix=BADCOPIES

// flash-warp-specialize: a flash3 kernel with a producer warpgroup (warps =
// tile_q / 16 + 4) becomes a producer region that only copies and a
// consumer region whose turns issue P(it-1) V(it-1) and Q K(it)^T back to
// back; flash2 and producer-less flash3 kernels are left alone.

// The plain split (inner_q = 0): budgets from schedule/Flash3Layout.h's
// split (48 / 224 for two consumer warpgroups at tile_kv = 128).
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// copies=cp_async: the same split, no tensor maps.
// CPASYNC-LABEL: flash.kernel @plain_v0
// CPASYNC: flash.warp_specialize consumer_groups 2 producer_registers 48 consumer_registers 224 producer {
// BADCOPIES: flash-warp-specialize: copies=dma is not tma or cp_async

// CHECK-LABEL: flash.kernel @plain_v0
// CHECK: flash.grid_map
// CHECK: flash.warp_specialize consumer_groups 2 producer_registers 48 consumer_registers 224 tma producer {
// CHECK-NEXT: flash.pipe_produce q[{{.*}}] rows 128 extent %{{.*}} slot %c0
// CHECK-NEXT: scf.for %[[T:.*]] = %c0 to
// CHECK-NEXT: flash.pipe_produce k[{{.*}}, %[[T]]] rows 128 extent %{{.*}} slot %[[T]]
// CHECK-NEXT: flash.pipe_produce v[{{.*}}, %[[T]]] rows 128 extent %{{.*}} slot %[[T]]
// CHECK-NEXT: }
// CHECK-NEXT: flash.pipe_drain
// CHECK-NEXT: } consumers {
// CHECK-NEXT: flash.turn_open
// CHECK-NEXT: flash.output_init
// CHECK-NEXT: flash.pipe_wait q %c0
// CHECK: scf.for %[[IT:.*]] = %c0 to
// CHECK-NEXT: %[[PREV_EXISTS:.*]] = arith.cmpi sgt, %[[IT]], %c0
// CHECK-NEXT: %[[PREV:.*]] = arith.subi %[[IT]], %c1
// CHECK-NEXT: %[[STAGE:.*]] = arith.remsi %[[IT]], %c3
// CHECK-NEXT: flash.pipe_wait k %[[IT]]
// CHECK-NEXT: scf.if %[[PREV_EXISTS]] {
// CHECK-NEXT: flash.pipe_wait v %[[PREV]]
// CHECK-NEXT: }
// CHECK-NEXT: flash.turn_wait
// CHECK-NEXT: scf.if %[[PREV_EXISTS]] {
// CHECK-NEXT: arith.remsi %[[PREV]], %c3
// CHECK-NEXT: flash.tile_mma pv stage %{{.*}} async
// CHECK-NEXT: }
// CHECK-NEXT: flash.tile_mma qk stage %[[STAGE]] async
// CHECK-NEXT: flash.turn_pass final %false
// CHECK-NEXT: flash.mma_wait 0 score output
// CHECK-NEXT: flash.pipe_release k %[[IT]]
// CHECK-NEXT: scf.if %[[PREV_EXISTS]] {
// CHECK-NEXT: flash.pipe_release v %[[PREV]]
// CHECK-NEXT: }
// CHECK-NEXT: flash.score_map
// CHECK: flash.softmax_update masked
// CHECK-NEXT: flash.probabilities
// The last turn: P V of the last key tile, the CTA's final turn.
// CHECK: flash.turn_pass final %true
// CHECK-NEXT: flash.mma_wait 0 output
// CHECK-NEXT: flash.output_store o
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NOT: flash.tile_load
// CHECK-NOT: flash.tile_wait
func.func @plain(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}

// -----

// inner_q = 1: Q K^T first, waited alone (mma_wait 1); the softmax is
// deferred and its O rescale follows P V's wait. The first tile commits an
// empty group so that "all but the newest" still means S.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 3, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: flash.kernel @overlap_v0
// CHECK: flash.turn_wait
// CHECK-NEXT: flash.tile_mma qk stage %{{.*}} async
// CHECK-NEXT: scf.if
// CHECK-NEXT: arith.remsi
// CHECK-NEXT: flash.tile_mma pv stage %{{.*}} async
// CHECK-NEXT: } else {
// CHECK-NEXT: flash.mma_empty_group
// CHECK-NEXT: }
// CHECK-NEXT: flash.turn_pass final %false
// CHECK-NEXT: flash.mma_wait 1 score
// CHECK-NEXT: flash.pipe_release k
// CHECK-NEXT: flash.score_map
// CHECK: flash.softmax_update deferred
// CHECK-NEXT: flash.mma_wait 0 output
// CHECK-NEXT: scf.if
// CHECK-NEXT: flash.pipe_release v
// CHECK-NEXT: }
// CHECK-NEXT: flash.output_rescale
// CHECK-NEXT: flash.probabilities
func.func @overlap(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}

// -----

// persistent = 1: no grid map; each region loops over the CTA's query tiles
// (flash.tile_rounds), Q's slot is the round, key tiles are numbered from the
// carried count, the last turn is final only in the CTA's last round and
// releases V (the ring runs on), and Q's slot is released after the store.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0, persistent = 1>

// CHECK-LABEL: flash.kernel @rounds_v0
// CHECK-NOT: flash.grid_map
// CHECK: flash.warp_specialize consumer_groups 2 producer_registers 48 consumer_registers 224 tma producer {
// CHECK-NEXT: flash.tile_rounds ["query_tile", "head", "batch"] extents ["cdiv(N,128)", "16", "B"] carry %c0 {
// CHECK-NEXT: ^bb0(%[[QT:.*]]: index, %[[H:.*]]: index, %[[B:.*]]: index, %[[ROUND:.*]]: index, %{{.*}}: i1, %[[CARRY:.*]]: index):
// CHECK: flash.pipe_produce q[%[[B]], %[[H]], %[[QT]]] rows 128 extent %{{.*}} slot %[[ROUND]]
// CHECK: %[[SLOT:.*]] = arith.addi %[[CARRY]], %{{.*}}
// CHECK-NEXT: flash.pipe_produce k[{{.*}}] rows 128 extent %{{.*}} slot %[[SLOT]]
// CHECK: flash.rounds_yield
// CHECK-NEXT: }
// CHECK-NEXT: flash.pipe_drain
// CHECK-NEXT: } consumers {
// CHECK-NEXT: flash.turn_open
// CHECK-NEXT: flash.tile_rounds
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %[[CROUND:.*]]: index, %[[LAST:.*]]: i1, %{{.*}}: index):
// CHECK: flash.output_init
// CHECK-NEXT: flash.pipe_wait q %[[CROUND]]
// CHECK: flash.turn_pass final %[[LAST]]
// CHECK-NEXT: flash.mma_wait 0 output
// CHECK-NEXT: scf.if
// CHECK-NEXT: flash.pipe_release v
// CHECK-NEXT: }
// CHECK-NEXT: flash.output_store o
// CHECK-NEXT: flash.pipe_release q %[[CROUND]]
// CHECK: flash.rounds_yield
func.func @rounds(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}

// -----

// Without a producer (warps = tile_q / 16) and for flash2 nothing changes.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: flash.kernel @selfcopy_v0
// CHECK-NOT: flash.warp_specialize
// CHECK: flash.tile_load q
// CHECK: flash.tile_wait
// CHECK: flash.output_store
func.func @selfcopy(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}
