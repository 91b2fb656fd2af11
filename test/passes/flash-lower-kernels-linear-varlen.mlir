// RUN: flashgen-opt %s -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels -canonicalize -cse | FileCheck %s --check-prefix=LOWER
// RUN: flashgen-opt %s -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: not flashgen-opt %s -flash-schedule="dims=B=8,T=4096 algorithm=chunk_two_pass" 2>&1 | FileCheck %s --check-prefix=TWOPASS
// RUN: flashgen-opt %s -flash-derive-backward | FileCheck %s --check-prefix=BACKWARD
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels -canonicalize -cse | FileCheck %s --check-prefix=GRAD

// A recurrence over packed sequences (docs/semantics.md §3.5): the fused
// chunk kernel, whose batch index is a sequence: flash.sequence reads its
// length from cu_seqlens and re-addresses every row tensor (q, k, v, the
// gates, o) at its first packed row; the states stay [B, H, Dk, Dv]; no
// common length T is a kernel argument.

// LOWER: flash.kernel @packed_decay_v0 family linear_fused
// LOWER-SAME: dims = ["B"]
// LOWER: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// LOWER-NEXT: %[[T:.*]], %{{.*}} = flash.sequence[%[[IDS]]#2] queries "T" packed keys "T"
// LOWER-NOT: flash.dim "T"
// LOWER: flash.state_init initial

// CUDA: packed_decay_v0_k::Elem* __restrict__ q_packed,
// CUDA-NOT: int dim_T,
// CUDA: const float* __restrict__ g_packed,
// CUDA-NEXT: long long g_packed_s0,
// CUDA-NEXT: long long g_packed_s1,
// CUDA: const int* __restrict__ cu_seqlens_q,
// CUDA: int dim_T_total,
// CUDA-NEXT: int dim_B) {
// CUDA: const float* __restrict__ g = g_packed + (long long)({{v[0-9]+}}) * g_packed_s0;
// CUDA-NEXT: {{\[\[maybe_unused\]\]}} const long long g_s0 = 0, g_s1 = g_packed_s1, g_s2 = g_packed_s0;

// TWOPASS: packed (varlen) sequences take the fused chunk kernel only (chunk_fused), not 'chunk_two_pass'
// The backward takes the packed rows and cu_seqlens after dO, views them
// with it, and packs the row gradients back (the initial state's gradient
// stays one per sequence).
// BACKWARD-LABEL: func.func @packed_decay_backward(
// BACKWARD-SAME: %[[Q:.*]]: tensor<?x2x64xbf16>, %{{.*}}: tensor<?x2x64xbf16>, %{{.*}}: tensor<?x2x64xbf16>, %{{.*}}: tensor<?x2xf32>, %[[DO:.*]]: tensor<?x2x64xbf16>, %[[CU:.*]]: tensor<?xi32>, %{{.*}}: tensor<?x2x64x64xf32>, %{{.*}}: tensor<?x2x64x64xf32>)
// BACKWARD-SAME: -> (tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2x64xbf16>, tensor<?x2xf32>, tensor<?x2x64x64xf32>)
// BACKWARD: flash.varlen_view %[[Q]][%[[CU]]]
// BACKWARD: %[[DOV:.*]] = flash.varlen_view %[[DO]][%[[CU]]]
// BACKWARD: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]], %[[DG:.*]], %[[DC0:.*]] = flash.linear_attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %[[DOV]] gate decay
// BACKWARD: flash.varlen_pack %[[DQ]][%[[CU]]]
// BACKWARD: flash.varlen_pack %[[DG]][%[[CU]]] : tensor<?x2x?xf32>, tensor<?xi32> -> tensor<?x2xf32>
// BACKWARD: return {{.*}}, %[[DC0]]

// The packed gradient's kernels: the state passes' batch index is a
// sequence (flash.sequence, as the fused forward); the chunk kernel's grid
// covers the longest sequence's chunks and each CTA past its own
// sequence's last chunk does nothing.
// GRAD-LABEL: flash.kernel @packed_decay_backward_v0_states family linear_states
// GRAD-SAME: dims = ["B"]
// GRAD: flash.sequence
// GRAD-LABEL: flash.kernel @packed_decay_backward_v0_grad_states family linear_grad_states
// GRAD: flash.sequence
// GRAD-LABEL: flash.kernel @packed_decay_backward_v0_grad_chunk family linear_grad_chunk
// GRAD: %[[IDS:.*]]:3 = flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,
// GRAD-NEXT: %[[T:.*]], %{{.*}} = flash.sequence[%[[IDS]]#2] queries "T" packed
// GRAD: scf.if
// GRAD: flash.chunk_grad
func.func @packed_decay(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                        %vp: tensor<?x2x64xbf16>, %gp: tensor<?x2xf32>,
                        %cu: tensor<?xi32>, %c0: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %o, %cf = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      initial(%c0 : tensor<?x2x64x64xf32>) return_final_state dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out, %cf : tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>
}
