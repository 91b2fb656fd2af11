// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels | FileCheck %s
// flash-lower-kernels on flash.attention_grad: each schedule becomes three
// kernels in launch order (prep, kv, convert for flash2_grad; prep, kv, dq
// for flash2_grad_deterministic); the kv kernel runs one CTA per key tile
// over the group's query heads, with the query-tile range of the mask, and
// adds dQ with atomics only under flash2_grad; score_grad is cloned into
// flash.grad_scores, the raw scores saved for it.

#atomic = #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>
#det = #flash.schedule<algorithm = flash2_grad_deterministic, tile_q = 64, tile_kv = 32, tile_d = 64, stages = 3, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: func @causal_backward
// CHECK: flash.kernels = [@causal_backward_v0_prep, @causal_backward_v0_kv, @causal_backward_v0_convert, @causal_backward_v1_prep, @causal_backward_v1_kv, @causal_backward_v1_dq]
func.func @causal_backward(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>,
                           %o: tensor<?x8x?x64xbf16>, %do: tensor<?x8x?x64xbf16>, %lse: tensor<?x8x?xf32>)
    -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask causal dims ["B", "N", "N"]
      {flash.schedule = #atomic, flash.candidates = [#atomic, #det]}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
      -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}
// CHECK-LABEL: flash.kernel @causal_backward_v0_prep family attention_grad_prep
// CHECK: flash.grid_map ["query_tile", "head", "batch"] extents ["cdiv(N,64)", "8", "B"]
// CHECK: flash.row_delta
// CHECK: flash.accum_clear
// CHECK-LABEL: flash.kernel @causal_backward_v0_kv family attention_grad_kv
// CHECK: flash.grid_map ["key_tile", "kv_head", "batch"] extents ["cdiv(N,64)", "2", "B"]
// CHECK: flash.tile_load k
// CHECK: flash.tile_load v
// CHECK: flash.grad_init
// One step per (query head of the group of 4, visible query tile).
// CHECK: arith.constant 4 : index
// CHECK: flash.tile_load q
// CHECK: flash.tile_load dout
// CHECK: scf.for
// CHECK: flash.grad_rows
// CHECK: flash.tile_wait 0
// CHECK: flash.tile_mma qk
// CHECK: scf.if
// CHECK: flash.score_map
// CHECK: } else {
// CHECK: flash.score_map
// CHECK: flash.grad_probabilities
// CHECK: flash.tile_mma dov
// CHECK: flash.tile_mma ptdo
// CHECK: flash.grad_scores
// CHECK: flash.tile_mma dstq
// CHECK: flash.scores_stage
// CHECK: flash.barrier
// CHECK: flash.tile_mma dsk
// CHECK: flash.accum_add dq_accum
// CHECK: flash.grad_store dk{{.*}}scale 1.250000e-01
// CHECK: flash.grad_store dv{{.*}}scale 1.000000e+00
// CHECK-LABEL: flash.kernel @causal_backward_v0_convert family attention_grad_convert
// CHECK: flash.accum_convert{{.*}} scale 1.250000e-01
// CHECK-LABEL: flash.kernel @causal_backward_v1_prep family attention_grad_prep
// CHECK-NOT: flash.accum_clear
// CHECK-LABEL: flash.kernel @causal_backward_v1_kv family attention_grad_kv
// CHECK-NOT: flash.accum_add
// CHECK: flash.grad_store dk
// CHECK-LABEL: flash.kernel @causal_backward_v1_dq family attention_grad_dq
// CHECK: flash.grid_map ["query_tile", "head", "batch"]
// CHECK: flash.tile_load q
// CHECK: flash.tile_load dout
// CHECK: flash.grad_rows
// CHECK: flash.tile_mma qk
// CHECK: flash.tile_mma dov
// CHECK: flash.tile_mma dsk
// CHECK: flash.grad_store dq

// -----

#det = #flash.schedule<algorithm = flash2_grad_deterministic, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// score_grad, d tanh(s/30)*30 / ds, is cloned into grad_scores and reads the
// saved raw scores.
// CHECK-LABEL: flash.kernel @softcap_backward_v0_kv
// CHECK: flash.tile_mma qk
// CHECK-NEXT: flash.score_save
// CHECK: flash.grad_scores
// CHECK: math.tanh
// CHECK: flash.score_yield
func.func @softcap_backward(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>,
                            %o: tensor<?x2x?x64xbf16>, %do: tensor<?x2x?x64xbf16>, %lse: tensor<?x2x?xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse dims ["B", "N", "N"]
      score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 30.0 : f32
    %x = arith.divf %s, %c : f32
    %t = math.tanh %x : f32
    %y = arith.mulf %t, %c : f32
    flash.yield %y : f32
  } score_grad {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 30.0 : f32
    %one = arith.constant 1.0 : f32
    %x = arith.divf %s, %c : f32
    %t = math.tanh %x : f32
    %t2 = arith.mulf %t, %t : f32
    %g = arith.subf %one, %t2 : f32
    flash.yield %g : f32
  } {flash.schedule = #det}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}
