// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// The emitted CUDA follows the IR: tile sizes and stages from the schedule,
// GQA head mapping, causal tile skipping, boundary masks, the inlined
// score_mod.

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// CHECK-LABEL: // === kernel @causal_gqa_v0 grid(cdiv(N,128)*32*B, 1, 1) block(256) smem(131072)
// CHECK: #include "flashgen/device/flashgen_device.cuh"
// CHECK: constexpr int kTileQ = 128;
// CHECK: constexpr int kTileK = 64;
// CHECK: constexpr int kStages = 3;
// CHECK: constexpr int kWarps = 8;
// No score_mod: the scale folds into the exp2 argument.
// CHECK: constexpr float kSoftmaxScale = 0.127517
// 256 threads of 232 registers leave room for one CTA per SM.
// CHECK: extern "C" __global__ void __launch_bounds__(256, 1)
// CHECK-NEXT: flashgen_causal_gqa_v0(
// CHECK: int dim_B,
// CHECK-NEXT: int dim_N)
// GQA: the key/value head is the query head divided by 4.
// Causal: one grid dimension, the heaviest query tiles first.
// CHECK: const int tile_id = int(blockIdx.x);
// CHECK: const int head_id = ({{v[0-9]+}} % 32);
// CHECK: const int [[KVH:v[0-9]+]] = int((unsigned)(head_id) / (unsigned)(4));
// Causal: the last key tile is the one holding the tile's last row's diagonal.
// CHECK: fg::floordiv(
// CHECK: fg::cta::load_async<kThreads>(sQ, q + (long long)(batch_id) * q_s0 + (long long)(head_id) * q_s1
// CHECK: fg::cta::load_async<kThreads>(sK.stage(0), k + (long long)(batch_id) * k_s0 + (long long)([[KVH]]) * k_s1
// Masked tiles compare key and query positions and the key bound.
// CHECK: fg::cta::wait<1>();
// CHECK: fg::warp::mma_ABt(s_tile, sQ, wrow0
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: (j < dim_N)
// CHECK: (j <= v{{[0-9]+}})
// CHECK: x = v{{[0-9]+}} ? x : fg::neg_inf();
// Interior tiles skip masking altogether.
// CHECK: // interior tile: no score_mod, no mask
// CHECK: fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale);
// CHECK: fg::warp::store_rows(o + (long long)(batch_id) * o_s0
func.func @causal_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 32, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 49152>

// CHECK-LABEL: // === kernel @softcap_v0 grid(cdiv(N,64), 16, B) block(128) smem(49152)
// CHECK: constexpr int kTileQ = 64;
// CHECK: constexpr int kTileK = 32;
// A score_mod sees the scaled score. Its leading division by 30 folds into
// that scale (0.0883883 / 30) and its trailing multiplication by 30 into the
// softmax's (30 log2(e)): per element only the tanh is left
// (passes/ScoreScaling.h).
// CHECK: constexpr float kScoreScale = 0.00294627
// CHECK: constexpr float kSoftmaxScale = 43.28085
// The user's tanh, inlined per score element, in every tile.
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: const float [[T:v[0-9]+]] = fg::tanh_fast((x * kScoreScale));
// CHECK: x = v{{[0-9]+}} ? [[T]] : fg::neg_inf();
// CHECK: fg::warp::for_each_at(s_tile
// CHECK: const float [[T2:v[0-9]+]] = fg::tanh_fast((x * kScoreScale));
// CHECK-NEXT: x = [[T2]];
// The tanh loads the MUFU: one in every 3 of the softmax's exponentials on
// the FMA pipe (flash.softmax_update fma_exp2_every 3).
// CHECK: fg::warp::online_softmax<3>(sm, s_tile, acc_o, kSoftmaxScale);
func.func @softcap(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 32, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 49152>

// A score_mod that adds to the score a bias affine in the positions
// (ALiBi's slope * (j - i), here h * float(3 * (j - i) + h);
// codegen/attention/PositionBias.h): the scores stay in the units of q k^T
// (no kScoreScale, the bias scaled by kBiasScale = 1 / scale instead), the
// lane's bias at its first element is handed to the softmax, and each
// element pays one FFMA by its compile-time offset -3 * di + 3 * dj, masked
// before it; the sum and the product are not printed. A conversion of
// something else (the head) stays as it is.
// CHECK-LABEL: // === kernel @relative_bias_v0
// CHECK-NOT: kScoreScale
// CHECK: constexpr float kBiasScale = 11.3137
// CHECK: constexpr float kSoftmaxScale = 0.127517
// CHECK: const float [[HF:v[0-9]+]] = (float)(v{{[0-9]+}});
// CHECK: float [[LB:v[0-9]+]] = 0.0f;
// CHECK-NEXT: fg::warp::for_each_at(s_tile, {{.*}}, [&](int i, int j, int di, int dj, float& x) {
// CHECK: const int [[LANE:v[0-9]+]] = (v{{[0-9]+}} + v{{[0-9]+}});
// CHECK-NOT: (float)
// CHECK: const float [[F:v[0-9]+]] = [[HF]] * kBiasScale;
// CHECK-NEXT: [[LB]] = [[F]] * (float)([[LANE]] - (-3 * di + 3 * dj));
// CHECK-NEXT: x = fmaf([[F]], (float)(-3 * di + 3 * dj), (v{{[0-9]+}} ? x : fg::neg_inf()));
// CHECK-NEXT: });
// CHECK-NEXT: fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale, [[LB]]);
func.func @relative_bias(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %hi = arith.index_cast %h : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ji, %ii : i32
    %three = arith.constant 3 : i32
    %d3 = arith.muli %d, %three : i32
    %p = arith.addi %d3, %hi : i32
    %pf = arith.sitofp %p : i32 to f32
    %bias = arith.mulf %pf, %hf : f32
    %r = arith.addf %s, %bias : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 32, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 49152>

// The same bias added to a softcapped score: the score is read by the tanh,
// not the sum, so the bias stays per element, its product distributed over
// the split conversion (the lane's product once per tile, one FFMA per
// offset), and the softmax takes no lane bias.
// CHECK-LABEL: // === kernel @softcap_bias_v0
// CHECK: constexpr float kScoreScale
// CHECK-NOT: kBiasScale
// CHECK: const float [[HF:v[0-9]+]] = (float)(v{{[0-9]+}});
// CHECK: fg::warp::for_each_at(s_tile, {{.*}}, [&](int i, int j, int di, int dj, float& x) {
// CHECK: const int [[LANE:v[0-9]+]] = (v{{[0-9]+}} + v{{[0-9]+}});
// CHECK-NOT: + (float)(-3 * di + 3 * dj)
// CHECK-NEXT: = fmaf([[HF]], (float)(-3 * di + 3 * dj), [[HF]] * (float)([[LANE]] - (-3 * di + 3 * dj)));
// CHECK: fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale);
func.func @softcap_bias(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %c = arith.mulf %t, %cap : f32
    %hi = arith.index_cast %h : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ji, %ii : i32
    %three = arith.constant 3 : i32
    %d3 = arith.muli %d, %three : i32
    %p = arith.addi %d3, %hi : i32
    %pf = arith.sitofp %p : i32 to f32
    %bias = arith.mulf %pf, %hf : f32
    %r = arith.addf %c, %bias : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 32, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 49152>

// A negative trailing factor would turn the row max into a min: it stays in
// the per-element code, and so does a leading factor on a score used twice.
// CHECK-LABEL: // === kernel @negated_square_v0
// CHECK: constexpr float kScoreScale = 0.0883883
// CHECK: constexpr float kSoftmaxScale = 1.44269
// CHECK: const float [[Q:v[0-9]+]] = ((x * kScoreScale) * (x * kScoreScale));
// CHECK-NEXT: const float [[H:v[0-9]+]] = ([[Q]] * 0.5f);
// CHECK-NEXT: const float [[N:v[0-9]+]] = ([[H]] * -1.0f);
// CHECK: x = v{{[0-9]+}} ? [[N]] : fg::neg_inf();
func.func @negated_square(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %half = arith.constant 0.5 : f32
    %neg = arith.constant -1.0 : f32
    %sq = arith.mulf %s, %s : f32
    %x = arith.mulf %sq, %half : f32
    %r = arith.mulf %x, %neg : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
