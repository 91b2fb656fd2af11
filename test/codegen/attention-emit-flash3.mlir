// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// Algorithm "flash3": the same IR as flash2, printed on the sm_90a warpgroup
// path (codegen/device/matmul/wgmma.cuh, wgmma_pipe.cuh).

// Without a producer (tile_q = 16 warps): every thread loads, wgmma per
// warpgroup, 1 KiB of alignment slack in the shared-memory plan.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164864>

// CHECK-LABEL: // === kernel @causal_gqa_v0 grid(cdiv(N,128), 32, B) block(256) smem(164864)
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

// With a producer warpgroup (warps = 4 + tile_q / 16): mbarriers after the
// K and V rings, the producer's loop where the key loops begin, setmaxnreg
// in both branches, consumer turns; inner_kv = 64 splits P V by slab.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 64, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 64, tile_dv = 64, smem_bytes = 0>

// CHECK-LABEL: // === kernel @softcap_ws_v0 grid(cdiv(N,128), 16, B) block(384) smem(115840)
// CHECK: constexpr int kConsumerWarps = kWarps - 4;
// CHECK: constexpr int kPvN = 64;
// CHECK: using Pipe = fg::wg::pipe<kStages, kConsumerWarps>;
// CHECK: constexpr int kSmemBytes = kSmemBar + Pipe::kBytes + fg::wg::kSmemAlign;
// CHECK: extern "C" __global__ void __launch_bounds__(384, 1)
// CHECK: fg::wg::init(pipe);
// CHECK: if (fg::wg::is_producer<kConsumerWarps>()) {
// CHECK-NEXT: fg::wg::producer_registers<kProducerRegs>();
// CHECK-NEXT: fg::wg::producer_q<kConsumerWarps>(sQ,
// CHECK: fg::wg::producer_k(pipe, sK, it,
// CHECK-NEXT: fg::wg::producer_v(pipe, sV, it,
// CHECK: fg::wg::producer_flush(pipe,
// CHECK-NEXT: } else {
// CHECK-NEXT: fg::wg::consumer_registers<kConsumerRegs>();
// CHECK-NEXT: fg::wg::wait_q(pipe);
// CHECK-NEXT: fg::wg::turns_start<kGroups>();
// CHECK: fg::wg::consumer_turn<kGroups, kPvN>(s_tile, acc_o, p_tile, sQ, grow0, sK, sV, pipe, tile_it);
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: fg::tanh_fast(
// CHECK: fg::warp::convert(p_tile, s_tile);
// CHECK-NEXT: ++tile_it;
// CHECK: fg::wg::consumer_last_turn<kGroups, kPvN>(acc_o, p_tile, sV, pipe, tile_it);
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

