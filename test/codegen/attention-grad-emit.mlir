// RUN: flashgen-opt %s -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// The gradient kernels' CUDA follows their IR: the kv kernel's transposed
// score tile (rows are keys: the score map's lambda takes j, i), lse and D
// per column, dV += P^T dO and dK += dS^T Q from registers, dS^T staged for
// dQ = dS K added with red.global.add; the deterministic dq kernel keeps dQ
// in registers; the scales land on dK and dQ only.

#atomic = #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>
#det = #flash.schedule<algorithm = flash2_grad_deterministic, tile_q = 64, tile_kv = 32, tile_d = 64, stages = 3, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

func.func @causal_backward(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>,
                           %o: tensor<?x8x?x64xbf16>, %do: tensor<?x8x?x64xbf16>, %lse: tensor<?x8x?xf32>)
    -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask causal dims ["B", "N", "N"]
      {flash.schedule = #atomic, flash.candidates = [#atomic, #det]}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
      -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}
// CHECK-LABEL: // === kernel @causal_backward_v0_prep grid(cdiv(N,64), 8, B) block(128) smem(0)
// CHECK: fg::warp::delta_rows<Elem, kValueDim>(
// CHECK: fg::warp::zero_rows<kHeadDim>(dq_accum
// CHECK-LABEL: // === kernel @causal_backward_v0_kv grid(cdiv(N,64), 2, B) block(128) smem(57344)
// CHECK: constexpr int kWarpRows = kTileK / kWarps;
// CHECK: static_assert(kSmemBytes == 57344
// CHECK: fg::col_vec<kTileQ> lse_v, delta_v;
// CHECK: fg::warp::load_cols(lse_v, {{.*}}, fg::pos_inf());
// CHECK: fg::warp::mma_ABt(s_tile, sK, wrow0, sQ.stage(
// CHECK: [&](int j, int i, int dj, int di, float& x)
// CHECK: fg::warp::grad_probabilities(s_tile, lse_v, kSoftmaxScale);
// CHECK: fg::warp::mma_ABt(dp_tile, sV, wrow0, sdO.stage(
// CHECK: fg::warp::mma_rAB(acc_dv, pt, sdO.stage(
// CHECK: fg::warp::score_grad(dp_tile, s_tile, delta_v);
// CHECK: fg::warp::mma_rAB(acc_dk, dst, sQ.stage(
// CHECK: fg::warp::store(sdS, wrow0, 0, dp_tile);
// CHECK-NEXT: fg::cta::sync();
// CHECK: for (int dq_c = wdq0; dq_c < wdq0 + kDqWarpCols; dq_c += kDqCols) {
// CHECK: fg::warp::mma_AtB<kTileK>(dq_tile, sdS, 0, wq0, sK, 0, dq_c);
// CHECK-NEXT: fg::warp::atomic_add_rows(dq_accum{{.*}} + dq_c, dq_accum_s2,
// CHECK-NEXT: }
// CHECK: fg::warp::mul(acc_dk, acc_dk, 0.125f);
// CHECK-NEXT: fg::warp::store_rows_direct(dk
// CHECK-NOT: fg::warp::mul(acc_dv
// CHECK: fg::warp::store_rows_direct(dv
// CHECK-LABEL: // === kernel @causal_backward_v0_convert
// CHECK: fg::warp::scale_rows_to<Elem, kHeadDim>(dq {{.*}}, 0.125f,
// CHECK-LABEL: // === kernel @causal_backward_v1_kv grid(cdiv(N,32), 2, B) block(64)
// CHECK-NOT: atomic_add_rows
// CHECK-LABEL: // === kernel @causal_backward_v1_dq grid(cdiv(N,64), 8, B) block(64) smem(40960)
// CHECK: fg::row_vec<kWarpRows> lse_v, delta_v;
// CHECK: fg::warp::load_rows(lse_v,
// CHECK: fg::warp::mma_ABt(s_tile, sQ, wrow0, sK.stage(
// CHECK: [&](int i, int j, int di, int dj, float& x)
// CHECK: fg::warp::mma_ABt(dp_tile, sdO, wrow0, sV.stage(
// CHECK: fg::warp::mma_rAB(acc_dq, ds, sK.stage(
// CHECK: fg::warp::mul(acc_dq, acc_dq, 0.125f);
// CHECK-NEXT: fg::warp::store_rows_direct(dq
