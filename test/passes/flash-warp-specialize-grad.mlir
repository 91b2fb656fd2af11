// RUN: flashgen-opt %s -split-input-file -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=1 algorithm=flash3_grad" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=1 algorithm=flash3_grad_deterministic" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=DET
// RUN: flashgen-opt %s -split-input-file -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=1 algorithm=flash3_grad" -flash-lower-kernels -flash-warp-specialize=grad-copies=cp_async -canonicalize -cse | FileCheck %s --check-prefix=CPASYNC
// RUN: not flashgen-opt %s -flash-warp-specialize=grad-copies=dma 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: flashgen-opt %examples/sliding_window.mlir -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=1 algorithm=flash3_grad_deterministic" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=SWA
// RUN: flashgen-opt %examples/rope_attention.mlir -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=1 algorithm=flash3_grad" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=NOTMA
// RUN: flashgen-opt %s -split-input-file -flash-derive-backward -flash-schedule="target=sm_80 dims=B=2,N=4096 top-k=1" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=NOTMA

// flash-warp-specialize on the backward (passes/GradTmaCopies.h): the
// warpgroup kv kernel's ring copies Q and dO with TMA, every ring load
// marked `tma` (the prologue's rounds and the loop's) and each step
// waiting for its round's tiles before its first product; K and V (loaded
// once) and the lse and D rows stay on cp.async. grad-copies=cp_async,
// the mma.sync kernels (sm_80) and the rotary backward (whose kv kernel
// reads rotated scratch copies of q) keep every copy on cp.async.

// CHECK-LABEL: flash.kernel @causal_backward_v0_kv family attention_grad_kv
// CHECK: flash.tile_load k[{{.*}} async
// CHECK-NOT: async tma
// CHECK: flash.tile_load q[{{.*}}] rows 64 extent %{{.*}} stage %c0 async tma
// CHECK-NEXT: flash.tile_load dout[{{.*}}] rows 64 extent %{{.*}} stage %c0 async tma
// CHECK: scf.for %[[ROUND:.*]] = %c0 to
// CHECK: flash.grad_rows_staged stage
// CHECK-NEXT: flash.tile_wait {{[0-9]}}
// CHECK: flash.tile_load q[{{.*}} async tma
// CHECK-NEXT: flash.tile_load dout[{{.*}} async tma
// CHECK-NEXT: flash.grad_rows[
// CHECK: flash.tile_landed q round %[[ROUND]]
// CHECK-NEXT: flash.tile_landed dout round %[[ROUND]]
// CHECK-NEXT: flash.tile_mma qk
// CHECK-LABEL: flash.kernel @causal_backward_v0_convert
// CHECK-NOT: async tma

// The deterministic dq kernel streams K and V (Q and dO loaded once stay
// on cp.async); its rounds are the key loops' steps from the first one's
// start, which the sliding window's SWA run below makes non-zero.
// DET-LABEL: flash.kernel @causal_backward_v0_kv family attention_grad_kv
// DET: flash.tile_load q[{{.*}} async tma
// DET: flash.tile_landed dout round
// DET-LABEL: flash.kernel @causal_backward_v0_dq family attention_grad_dq
// DET: flash.tile_load q[{{.*}}] rows {{[0-9]+}} extent %{{.*}} stage %c0 async{{$}}
// DET: flash.tile_load k[{{.*}} async tma
// DET: scf.for %[[IV:.*]] = %c0 to
// DET: flash.tile_load v[{{.*}} async tma
// DET: flash.tile_landed k round %[[IV]]
// DET-NEXT: flash.tile_landed v round %[[IV]]
// DET-NEXT: flash.tile_mma qk

// SWA-LABEL: flash.kernel @sliding_window_backward_v0_dq family attention_grad_dq
// SWA: scf.for %[[IV:.*]] = %[[LO:.*]] to
// SWA: %[[R:.*]] = arith.subi %[[IV]], %[[LO]]
// SWA: flash.tile_landed k round %[[R]]
// SWA-NEXT: flash.tile_landed v round %[[R]]

// BAD: flash-warp-specialize: grad-copies=dma is not tma or cp_async

// CPASYNC-NOT: async tma
// CPASYNC-NOT: tile_landed

// NOTMA-NOT: async tma
// NOTMA-NOT: tile_landed
func.func @causal(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                  %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
