// Every gradient kernel family the scheduler can return goes through
// flash-schedule, flash-lower-kernels and flash-print-cuda: a schedule the
// back end cannot lower is never returned. One RUN line per family (the
// `algorithm` option restricts the search) at a head dim it takes, and the
// default, which ranks all four together on sm_90.
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash3_grad" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH3
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash3_grad_deterministic" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH3DET
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash2_grad" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH2
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=sm_90 dims=B=2,N=4096 top-k=3 algorithm=flash2_grad_deterministic" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH2DET
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=h200 dims=B=2,N=4096 top-k=3" -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DEFAULT
// RUN: not flashgen-opt %s -flash-derive-backward -flash-schedule="target=sm_80 dims=B=2,N=4096 algorithm=flash3_grad" 2>&1 | FileCheck %s --check-prefix=NOWGMMA

// The wgmma kernels: the query tile's lse and D come through the ring with
// its Q and dO and are read from shared memory; S^T and dP^T from two
// shared tiles, issued together; dV and dK with P^T and dS^T from
// registers, in flight while the next steps run; the kv kernel's dQ = dS K
// on wgmma from the staged dS^T (read M-major), added by the copy
// engine's bulk reductions, all waited for before the kernel ends; every
// product waited for before the step ends.
// FLASH3: algorithm flash3_grad needs wgmma
// FLASH3: constexpr int kDqCols = kDqWgCols < 64 ? kDqWgCols : 64;
// FLASH3: using DSTile = fg::wg_tile<Elem, kTileK, kTileQ>;
// FLASH3: constexpr int kSmemArrivals = kSmemDQ + kWarps * kDqStageBytes;
// FLASH3-NEXT: constexpr int kSmemBytes = kSmemArrivals + 2 * kStages * 8;
// The ring's Q and dO on TMA (tensor maps first; cp.async where they are
// zero), lse and D on cp.async.
// FLASH3: const __grid_constant__ fg::tensor_map tm_q,
// FLASH3-NEXT: const __grid_constant__ fg::tensor_map tm_dout,
// FLASH3: const bool fg_tma = fg::tensor_map_valid(tm_q);
// FLASH3-NEXT: const fg::ring_arrivals<kStages> arrivals{smem + kSmemArrivals};
// FLASH3-NEXT: fg::init(arrivals, fg_tma);
// FLASH3: if (fg_tma) {
// FLASH3-NEXT: if (threadIdx.x == 0) fg::copy_tile_tma(sQ.stage(0), &tm_q, {{.*}}, arrivals.bar(0, 0));
// FLASH3-NEXT: } else {
// FLASH3-NEXT: fg::wg::load_async<kThreads>(sQ.stage(0), q +
// FLASH3: fg::copy_tile_tma(sdO.stage(0), &tm_dout, {{.*}}, arrivals.bar(1, 0));
// FLASH3: fg::cta::load_cols_async<kThreads, kTileQ>(smem + kSmemRows + (0) * kRowsBytes, lse +
// FLASH3: for (int [[ROUND:v[0-9]+]] =
// FLASH3: const fg::warp::smem_cols<kTileQ> lse_v{
// FLASH3-NEXT: const fg::warp::smem_cols<kTileQ> delta_v{lse_v.p + kTileQ};
// FLASH3-NEXT: fg::wg::wait_tiles<{{[0-9]}}>();
// FLASH3-NEXT: fg::cta::sync();
// FLASH3: fg::copy_tile_tma(sQ.stage(
// FLASH3: fg::cta::load_cols_async<kThreads, kTileQ>(smem + kSmemRows + (
// FLASH3: if (fg_tma) fg::wait_landed(arrivals, 0, [[ROUND]]);
// FLASH3-NEXT: if (fg_tma) fg::wait_landed(arrivals, 1, [[ROUND]]);
// FLASH3: fg::wg::issue_ABt(s_tile, sK, wgrow0, sQ.stage(
// FLASH3: fg::wg::issue_ABt(dp_tile, sV, wgrow0, sdO.stage(
// FLASH3-NEXT: fg::ptx::wgmma_wait<1>();
// FLASH3-NEXT: fg::wg::reg_fence(s_tile);
// FLASH3: fg::wg::issue_rAB(acc_dv, pt_a, sdO.stage(
// FLASH3-NEXT: fg::ptx::wgmma_wait<1>();
// FLASH3-NEXT: fg::wg::reg_fence(dp_tile);
// FLASH3: fg::wg::issue_rAB(acc_dk, dst_a, sQ.stage(
// FLASH3-NEXT: fg::wg::store_acc(sdS, wrow0, dp_tile);
// FLASH3-NEXT: fg::cta::sync();
// FLASH3: fg::wg::issue_AtB(dq_tile, sdS, dq_a0, sK, dq_c);
// FLASH3-NEXT: fg::wg::mma_wait<0>(dq_tile);
// FLASH3-NEXT: fg::warp::reduce_add_block(dq_accum +
// FLASH3: fg::ptx::wgmma_wait<0>();
// FLASH3-NEXT: fg::wg::reg_fence(acc_dk);
// FLASH3-NEXT: fg::wg::reg_fence(acc_dv);
// FLASH3: fg::ptx::bulk_wait<0>();
// FLASH3-NEXT: fg::warp::mul(acc_dk,
// FLASH3-NOT: atomic_add_rows
// The deterministic dq kernel: S and dP of its 64 query rows, dQ += dS K.
// FLASH3DET: flashgen_family_backward_v0_kv
// FLASH3DET-NOT: atomic_add_rows
// FLASH3DET: fg::copy_tile_tma(sdO.stage(
// FLASH3DET: fg::wait_landed(arrivals, 1,
// FLASH3DET-NOT: atomic_add_rows
// FLASH3DET: flashgen_family_backward_v0_dq
// FLASH3DET: const __grid_constant__ fg::tensor_map tm_k,
// FLASH3DET-NEXT: const __grid_constant__ fg::tensor_map tm_v,
// FLASH3DET: fg::copy_tile_tma(sK.stage(
// FLASH3DET: fg::wait_landed(arrivals, 1,
// FLASH3DET: fg::wg::issue_ABt(s_tile, sQ, wgrow0, sK.stage(
// FLASH3DET: fg::wg::issue_rAB(acc_dq, ds_a, sK.stage(
// FLASH3DET: fg::ptx::wgmma_wait<0>();
// FLASH3DET-NEXT: fg::wg::reg_fence(acc_dq);
// (The forward's kernels come first; the mma.sync gradients use no wgmma.)
// FLASH2: === kernel @family_backward_v0_prep
// FLASH2-NOT: fg::wg::
// FLASH2: flashgen_family_backward_v0_convert
// FLASH2DET: === kernel @family_backward_v0_prep
// FLASH2DET-NOT: fg::wg::
// FLASH2DET: flashgen_family_backward_v0_dq
// Ranked together at D = 64, the deterministic warpgroup kernels come first
// (two 64-row blocks of 128 query rows fit them; flash3_grad's 64-key
// tiles add twice the dQ blocks, bound by the L2's bulk reductions).
// DEFAULT: Schedule: #flash.schedule<algorithm = flash3_grad_deterministic, tile_q = 128, tile_kv = 128,
// NOWGMMA: flash3_grad is built on wgmma, which sm_80 does not have
func.func @family(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>,
    %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>
      -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}
