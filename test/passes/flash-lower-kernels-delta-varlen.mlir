// RUN: flashgen-opt %s -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels -canonicalize -cse | FileCheck %s --check-prefix=LOWER
// RUN: flashgen-opt %s -flash-schedule="dims=B=8,T=4096 top-k=1" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: not flashgen-opt %s -flash-schedule="dims=B=8,T=4096 algorithm=recurrent_step" 2>&1 | FileCheck %s --check-prefix=STEP

// Gated DeltaNet over packed sequences (docs/semantics.md §3.5, §7.4):
// delta_prepare's grid covers the longest sequence's chunks and a CTA past
// its own sequence's last chunk does nothing; delta_fused's batch index is
// a sequence. flash.sequence re-addresses the row tensors (q, k, v, beta,
// g, o) at the sequence's first packed row; the WY factors and row norms
// are whole chunks of rows in one packed scratch, each sequence's from its
// first chunk boundary (floor(cu[b] / L) + 2 b) on.

// LOWER-LABEL: flash.kernel @packed_gated_delta_v0_prepare family delta_prepare
// LOWER-SAME: dims = ["B"]
// LOWER: %[[IDS:.*]]:3 = flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,
// LOWER-NEXT: %[[T:.*]], %{{.*}} = flash.sequence[%[[IDS]]#2] queries "T" packed
// LOWER: scf.if
// LOWER: flash.chunk_wy
// LOWER-LABEL: flash.kernel @packed_gated_delta_v0 family delta_fused
// LOWER-SAME: dims = ["B"]
// LOWER: %[[FIDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// LOWER-NEXT: flash.sequence[%[[FIDS]]#2] queries "T" packed

// CUDA-LABEL: flashgen_packed_gated_delta_v0_prepare(
// CUDA: const fg::bf16* __restrict__ beta_packed,
// CUDA-NEXT: long long beta_packed_s0,
// CUDA-NEXT: long long beta_packed_s1,
// CUDA: const int* __restrict__ cu_seqlens_q,
// CUDA-NOT: int dim_T,
// CUDA: const fg::bf16* __restrict__ beta = beta_packed + (long long)({{v[0-9]+}}) * beta_packed_s0;
// CUDA: const long long seq_boundary0 = (long long)([[ROW0:v[0-9]+]] / kChunk) + 2LL * (long long)(batch_id);
// CUDA: (delta_w + (long long)(head_id) * delta_w_s1 + seq_boundary0 * kChunk * delta_w_s2)
// CUDA-LABEL: flashgen_packed_gated_delta_v0(
// CUDA-NOT: beta_packed
// CUDA-NOT: v_packed
// CUDA: const int* __restrict__ cu_seqlens_q,
// CUDA: const long long seq_boundary0 =
// CUDA: fg::cta::load_async<kThreads>(sW.stage(0), (delta_w + (long long)(head_id) * delta_w_s1 + seq_boundary0 * kChunk * delta_w_s2)

// STEP: packed (varlen) sequences take the fused chunk kernel only
func.func @packed_gated_delta(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                              %vp: tensor<?x2x64xbf16>, %bp: tensor<?x2xbf16>,
                              %gp: tensor<?x2xf32>, %cu: tensor<?xi32>,
                              %s0: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %b = flash.varlen_view %bp[%cu] : tensor<?x2xbf16>, tensor<?xi32> -> tensor<?x2x?xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %o, %s = flash.delta_rule %q, %k, %v, %b decay(%g : tensor<?x2x?xf32>)
      initial(%s0 : tensor<?x2x64x64xf32>) l2norm_qk return_final_state dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xbf16> -> tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out, %s : tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>
}
