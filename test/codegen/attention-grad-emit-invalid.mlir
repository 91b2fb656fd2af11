// RUN: not flashgen-opt %s -split-input-file -flash-print-cuda -o /dev/null 2>&1 | FileCheck %s

// The gradient printer's refusals of TMA rings it cannot print
// (flash-warp-specialize never builds these; hand-written kernel IR is
// stopped here instead of in NVRTC or, worse, at run time).

// A wait on TMA arrivals with no ring tile copied by TMA: no barriers.
// CHECK: error: waits for TMA arrivals (flash.tile_landed) but copies no ring tile with TMA (flash.tile_load ... tma)
flash.kernel @landed_without_tma family attention_grad_kv schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {dims = ["B", "N", "N"], element_type = bf16, head_dim = 64 : i64, kv_heads = 1 : i64, mask = "none", op = "t", q_heads = 1 : i64, score_scale = 1.250000e-01 : f64, softmax_scale = 1.000000e+00 : f64, value_dim = 64 : i64, variant = 0 : i64, window = 0 : i64} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "B"] : index, index, index
  %c0 = arith.constant 0 : index
  flash.tile_landed q round %c0
}

// -----

// TMA copies of q in a kernel that reads rotary embedding's rotated copy.
// CHECK: error: copies its ring with TMA (flash.tile_load ... tma) but reads rotated copies of q and k, which have no tensor maps; rotary embedding's gradient kernels copy with cp.async
flash.kernel @tma_rotated family attention_grad_kv schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {dims = ["B", "N", "N"], element_type = bf16, head_dim = 64 : i64, kv_heads = 1 : i64, mask = "none", op = "t", q_heads = 1 : i64, rotary_dims = 64 : i64, score_scale = 1.250000e-01 : f64, softmax_scale = 1.000000e+00 : f64, value_dim = 64 : i64, variant = 0 : i64, window = 0 : i64} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "B"] : index, index, index
  %c0 = arith.constant 0 : index
  %n = flash.dim "N"
  flash.tile_load q[%ids#2, %ids#1, %c0] rows 64 extent %n stage %c0 async tma
}
