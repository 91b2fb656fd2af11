// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// Algorithm "flash3": the same IR as flash2, printed on the sm_90a warpgroup
// path (codegen/device/matmul/wgmma.cuh, wgmma_pipe.cuh).

// Without a producer (tile_q = 16 warps): every thread loads, wgmma per
// warpgroup, 1 KiB of alignment slack in the shared-memory plan.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164864>

// CHECK-LABEL: // === kernel @causal_gqa_v0 grid(cdiv(N,128)*32*B, 1, 1) block(256) smem(164864)
// CHECK: #if !defined(FG_HAVE_WGMMA)
// CHECK-NEXT: #error "algorithm flash3 needs wgmma: compile for sm_90a"
// CHECK: constexpr int kGroupRows = 4 * kWarpRows;
// CHECK: constexpr int kPvN = 0;
// CHECK: using QTile = fg::wg_tile<Elem, kTileQ, kHeadDim>;
// CHECK: constexpr int kSmemBytes = kSmemV + VRing::kBytes + fg::wg::kSmemAlign;
// CHECK: extern "C" __global__ void __launch_bounds__(256, 1)
// CHECK: const int grow0 = (int(threadIdx.x) / 128) * kGroupRows;
// CHECK: const fg::u32 smem = fg::wg::smem_base();
// CHECK: fg::wg::load_async<kThreads>(sQ, q + (long long)(batch_id) * q_s0
// CHECK: fg::wg::wait_tiles<0>();
// CHECK-NEXT: fg::cta::sync();
// CHECK: fg::wg::mma_ABt(s_tile, sQ, grow0, sK.stage(
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale);
// CHECK: fg::warp::convert(p_tile, s_tile);
// CHECK-NEXT: fg::wg::mma_rAB<kPvN>(acc_o, p_tile, sV.stage(
// CHECK: fg::cta::wait<0>();
// CHECK-NEXT: fg::cta::sync();
// CHECK-NEXT: fg::warp::finalize(sm, acc_o);
// CHECK-NEXT: fg::wg::store_rows(o + (long long)(batch_id) * o_s0
func.func @causal_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

// With a producer warpgroup (warps = 4 + tile_q / 16), split by
// flash-warp-specialize: each op of FlashPipelineOps.td is one library call
// in the IR's order -- the producer's branch copies, the consumers' branch
// runs the turns; setmaxnreg budgets from the op; inner_kv = 64 splits P V by
// slab.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 64, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: // === kernel @softcap_ws_v0 grid(cdiv(N,128), 16, B) block(384) smem(115840)
// CHECK: constexpr int kConsumerWarps = kWarps - 4;
// CHECK: constexpr int kPvN = 64;
// CHECK: constexpr int kProducerRegs = 48;
// CHECK-NEXT: constexpr int kConsumerRegs = 224;
// CHECK: using QRing = fg::smem_ring<QTile, 1>;
// CHECK: using Pipe = fg::wg::pipe<kStages, kConsumerWarps, QRing::kStages>;
// CHECK: constexpr int kSmemBytes = kSmemBar + Pipe::kBytes + fg::wg::kSmemAlign;
// CHECK: extern "C" __global__ void __launch_bounds__(384, 1)
// CHECK: flashgen_softcap_ws_v0(
// CHECK-NEXT: const __grid_constant__ fg::tensor_map tm_q,
// CHECK-NEXT: const __grid_constant__ fg::tensor_map tm_k,
// CHECK-NEXT: const __grid_constant__ fg::tensor_map tm_v,
// CHECK-NEXT: const softcap_ws_v0_k::Elem* __restrict__ q,
// CHECK: const QRing sQs{smem + kSmemQ};
// CHECK: const bool fg_tma = fg::tensor_map_valid(tm_q);
// CHECK-NEXT: fg::wg::init(pipe, fg_tma);
// CHECK-NEXT: if (fg::wg::is_producer<kConsumerWarps>()) {
// CHECK-NEXT: fg::wg::producer_registers<kProducerRegs>();
// CHECK-NEXT: if (fg_tma) {
// CHECK-NEXT: if (fg::wg::producer_thread<kConsumerWarps>() == 0) {
// CHECK-NEXT: fg::ptx::prefetch_tensor_map(&tm_q);
// CHECK-NEXT: fg::ptx::prefetch_tensor_map(&tm_k);
// CHECK-NEXT: fg::ptx::prefetch_tensor_map(&tm_v);
// CHECK-NEXT: fg::wg::produce_tma<fg::wg::ring::q>(pipe, sQs, 0, &tm_q, (query_tile_id) * 128, head_id, batch_id);
// CHECK-NEXT: for (int [[TT:v[0-9]+]] = 0;
// CHECK-NEXT: fg::wg::produce_tma<fg::wg::ring::k>(pipe, sK, [[TT]], &tm_k, ([[TT]]) * 128, head_id, batch_id);
// CHECK-NEXT: fg::wg::produce_tma<fg::wg::ring::v>(pipe, sV, [[TT]], &tm_v, ([[TT]]) * 128, head_id, batch_id);
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: } else {
// CHECK-NEXT: fg::wg::producer_state ps;
// CHECK-NEXT: fg::wg::produce<fg::wg::ring::q>(pipe, sQs, 0, q + (long long)(batch_id) * q_s0
// CHECK-NEXT: for (int [[T:v[0-9]+]] = 0;
// CHECK-NEXT: fg::wg::produce<fg::wg::ring::k>(pipe, sK, [[T]], k + (long long)(batch_id) * k_s0 + (long long)(head_id) * k_s1 + (long long)(([[T]]) * 128) * k_s2, k_s2, dim_N - ([[T]]) * 128, ps);
// CHECK-NEXT: fg::wg::produce<fg::wg::ring::v>(pipe, sV, [[T]],
// CHECK-NEXT: }
// CHECK-NEXT: fg::wg::producer_drain(ps);
// CHECK-NEXT: }
// CHECK-NEXT: } else {
// CHECK-NEXT: fg::wg::consumer_registers<kConsumerRegs>();
// CHECK-NEXT: fg::a_tile<Elem, kWarpRows, kTileK> p_tile;
// CHECK-NEXT: fg::wg::turns_start<kGroups>();
// CHECK-NEXT: fg::warp::zero(acc_o);
// CHECK-NEXT: fg::warp::init(sm);
// CHECK-NEXT: fg::wg::wait_full<fg::wg::ring::q>(pipe, 0);
// CHECK-NEXT: const QTile sQ = sQs.stage((0) % QRing::kStages);
// CHECK: fg::wg::wait_full<fg::wg::ring::k>(pipe, [[IT:v[0-9]+]]);
// CHECK: fg::wg::turn_begin<kGroups>();
// CHECK-NEXT: if ([[PREV:v[0-9]+]]) {
// CHECK: fg::wg::issue_rAB<kPvN>(acc_o, p_tile, sV.stage(
// CHECK-NEXT: }
// CHECK-NEXT: fg::acc_tile<kWarpRows, kTileK> s_tile;
// CHECK-NEXT: fg::wg::issue_ABt(s_tile, sQ, grow0, sK.stage(
// CHECK-NEXT: fg::wg::turn_end<kGroups>(false);
// CHECK-NEXT: fg::wg::mma_wait<0>(s_tile, acc_o);
// CHECK-NEXT: fg::wg::release_slot<fg::wg::ring::k>(pipe, [[IT]]);
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: fg::tanh_fast(
// The tanh loads the MUFU: one in every 3 exponentials of the softmax runs
// on the FMA pipe (schedule::fmaExp2Every).
// CHECK: fg::warp::online_softmax<3>(sm, s_tile, acc_o, kSoftmaxScale);
// CHECK-NEXT: fg::warp::convert(p_tile, s_tile);
// CHECK: fg::wg::turn_end<kGroups>(true);
// CHECK-NEXT: fg::wg::mma_wait<0>(acc_o);
// CHECK-NEXT: fg::warp::finalize(sm, acc_o);
// CHECK-NEXT: fg::wg::store_rows(
func.func @softcap_ws(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}


// -----

// persistent = 1: flash.tile_rounds prints the CTA's loop over its query
// tiles (one CTA per SM), Q in two slots picked by the round, the ring
// counter carried across rounds, the final turn only in the last round.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0, persistent = 1>

// CHECK-LABEL: // === kernel @rounds_v0 grid(min((cdiv(N,128))*(16)*(B),num_sms), 1, 1) block(384)
// CHECK: using QRing = fg::smem_ring<QTile, 2>;
// CHECK: if (fg::wg::is_producer<kConsumerWarps>()) {
// CHECK: int fg_tile_it = 0;
// CHECK-NEXT: const int fg_tiles = (fg::ceildiv(dim_N,128)) * (16) * (dim_B);
// CHECK-NEXT: for (int fg_tile = int(blockIdx.x), fg_round = 0; fg_tile < fg_tiles; fg_tile += int(gridDim.x), ++fg_round) {
// CHECK-NEXT: const int query_tile_id = (fg_tile / (1)) % (fg::ceildiv(dim_N,128));
// CHECK: fg::wg::produce<fg::wg::ring::q>(pipe, sQs, fg_round,
// CHECK: fg_tile_it = v{{[0-9]+}};
// CHECK: fg::wg::producer_drain(ps);
// CHECK: } else {
// CHECK: const bool fg_last_round = fg_tile + int(gridDim.x) >= fg_tiles;
// CHECK: fg::wg::wait_full<fg::wg::ring::q>(pipe, fg_round);
// CHECK-NEXT: const QTile sQ = sQs.stage((fg_round) % QRing::kStages);
// CHECK: fg::wg::turn_end<kGroups>(fg_last_round);
// CHECK: fg::wg::store_rows(
// CHECK-NEXT: if (lse != nullptr)
// CHECK-NEXT: fg::warp::store_lse(lse + (long long)(batch_id) * lse_s0 + (long long)(head_id) * lse_s1 + (long long)((query_tile_id) * kTileQ + wrow0) * lse_s2, lse_s2, dim_N - ((query_tile_id) * kTileQ + wrow0), sm, kSoftmaxScale);
// CHECK-NEXT: fg::wg::release_slot<fg::wg::ring::q>(pipe, fg_round);
func.func @rounds(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}

// -----

// persistent = 1 under a causal mask: the tiles cost different amounts, so
// the rounds claim them (round 0 blockIdx.x, then a counter in the
// tile_claims scratch word); the producer hands each round's tile to the
// consumers.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0, persistent = 1>

// CHECK-LABEL: // === kernel @claimed_v0 grid(min((cdiv(N,128)*16*B),num_sms), 1, 1) block(384)
// CHECK: int* __restrict__ tile_claims,
// CHECK-NEXT: long long tile_claims_s0,
// CHECK: if (fg::wg::is_producer<kConsumerWarps>()) {
// TMA: the producer's first thread claims alone.
// CHECK: for (int fg_round = 0, fg_tile = fg::wg::claim_next(pipe, 0, tile_claims, false); fg_tile < fg_tiles; ++fg_round, fg_tile = fg::wg::claim_next(pipe, fg_round, tile_claims, false)) {
// CHECK: const int tile_id = (fg_tile / (1)) % (fg::ceildiv(dim_N,128)*16*dim_B);
// CHECK: produce_tma<fg::wg::ring::q>(pipe, sQs, fg_round,
// cp.async: every producer thread reads the claim back.
// CHECK: for (int fg_round = 0, fg_tile = fg::wg::claim_next(pipe, 0, tile_claims, true); fg_tile < fg_tiles; ++fg_round, fg_tile = fg::wg::claim_next(pipe, fg_round, tile_claims, true)) {
// CHECK: } else {
// CHECK: for (int fg_round = 0, fg_tile = fg::wg::claim_take(pipe, 0); fg_tile < fg_tiles; ++fg_round, fg_tile = fg::wg::claim_take(pipe, fg_round)) {
// Every turn passes on (the last round is not known while it runs) and
// warpgroup 0 takes the final pass after the rounds.
// CHECK-NOT: const bool fg_last_round
// CHECK: fg::wg::turn_end<kGroups>(false);
// CHECK: fg::wg::release_slot<fg::wg::ring::q>(pipe, fg_round);
// CHECK: fg::wg::turns_close<kGroups>();
func.func @claimed(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}

// -----

// inner_q = 1: the deferred softmax and its rescale after P V's wait.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: // === kernel @overlap_v0
// CHECK: fg::wg::issue_ABt(s_tile, sQ, grow0, sK.stage(
// CHECK-NEXT: if (
// CHECK: fg::wg::issue_rAB<kPvN>(acc_o, p_tile, sV.stage(
// CHECK-NEXT: } else {
// CHECK-NEXT: fg::ptx::wgmma_commit();
// CHECK: fg::wg::mma_wait<1>(s_tile);
// CHECK: fg::softmax_rescale<kWarpRows> rescale;
// CHECK-NEXT: fg::warp::online_softmax_deferred(sm, s_tile, kSoftmaxScale, rescale);
// CHECK-NEXT: fg::wg::mma_wait<0>(acc_o);
// CHECK: fg::warp::apply_rescale(acc_o, rescale);
// CHECK-NEXT: fg::warp::convert(p_tile, s_tile);
func.func @overlap(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}
