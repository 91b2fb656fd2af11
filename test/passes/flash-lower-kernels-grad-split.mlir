// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels | FileCheck %s
// Past head dim 128 (schedule/AttentionGrad.h, gradSplitsKv) the kv kernel
// is two: kv_dv computes S, P and dV += P^T dO (no V, no dP, no dS, no dQ)
// and stores dV alone; kv_dk computes S, dP, dS and dK += dS^T Q, adds
// flash3_grad's dQ and stores dK alone. Launch order: prep, kv_dv, kv_dk,
// then convert (or dq for the deterministic schedule).

#g = #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 64, tile_d = 256, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 0>

// CHECK-LABEL: func @d256_backward
// CHECK: flash.kernels = [@d256_backward_v0_prep, @d256_backward_v0_kv_dv, @d256_backward_v0_kv_dk, @d256_backward_v0_convert]
func.func @d256_backward(%q: tensor<?x4x?x256xbf16>, %k: tensor<?x2x?x256xbf16>, %v: tensor<?x2x?x256xbf16>,
                         %o: tensor<?x4x?x256xbf16>, %do: tensor<?x4x?x256xbf16>, %lse: tensor<?x4x?xf32>)
    -> (tensor<?x4x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask causal dims ["B", "N", "N"]
      {flash.schedule = #g, flash.candidates = [#g]}
      : tensor<?x4x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x4x?x256xbf16>, tensor<?x4x?x256xbf16>, tensor<?x4x?xf32>
      -> tensor<?x4x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>
  return %dq, %dk, %dv : tensor<?x4x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>
}
// CHECK-LABEL: flash.kernel @d256_backward_v0_kv_dv family attention_grad_kv
// CHECK: flash.tile_load k
// CHECK-NOT: flash.tile_load v
// CHECK: flash.tile_mma qk
// CHECK-NOT: flash.tile_mma dov
// CHECK: flash.tile_mma ptdo
// CHECK-NOT: flash.grad_scores
// CHECK-NOT: flash.tile_mma dstq
// CHECK-NOT: flash.accum_add
// CHECK-NOT: flash.grad_store dk
// CHECK: flash.grad_store dv
// CHECK-LABEL: flash.kernel @d256_backward_v0_kv_dk family attention_grad_kv
// CHECK: flash.tile_load k
// CHECK: flash.tile_load v
// CHECK: flash.tile_mma qk
// CHECK: flash.tile_mma dov
// CHECK-NOT: flash.tile_mma ptdo
// CHECK: flash.grad_scores
// CHECK: flash.tile_mma dstq
// CHECK: flash.accum_add dq_accum
// CHECK: flash.grad_store dk
// CHECK-NOT: flash.grad_store dv
// CHECK-LABEL: flash.kernel @d256_backward_v0_convert family attention_grad_convert
