// RUN: flashgen-opt %s -split-input-file -flash-schedule="target=sm_90 dims=B=4,N=8192,T=16384 top-k=2" | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-schedule="target=sm_80 dims=B=4,N=8192,T=16384 top-k=2" | FileCheck %s --check-prefix=SM80
// RUN: flashgen-opt %s -split-input-file -flash-schedule="target=sm_90 dims=B=4,N=8192,T=16384 top-k=1" | FileCheck %s --check-prefix=TOP1
// flash-schedule: the tiles are the cost model's choice (Z3 finds the
// model's minimum; the unit tests check it against brute force); every
// number recorded with them follows from the tiles by hand, as worked out
// in the comments. flash.modeled_io counts what CTAs load and store (L2
// hits included), flash.modeled_hbm what reaches HBM after the L2 model.

// Causal GQA, B = 4, Hq = 32, Hkv = 8, N = 8192, d = 128 (flash2's choice on
// sm_90, worked out by hand: flash-schedule-flash2.mlir).
// flash3 on sm_90 picks 128 x 160 tiles (2 consumer warpgroups and a
//   producer, 2 stages) on a persistent grid (its causal rounds claim
//   tiles): query tile i reads key tiles 0..ceil(128 (i + 1) / 160) - 1,
//   160 rows each but the last key tile's 32 (8192 = 51 x 160 + 32), over
//   64 query tiles 270272 rows x 256 + Q and O 2097152 = 71286784 elements
//   x 2 x 128 query heads = 18249416704; ratio 18249416704 / 671088640 =
//   27.19375. smem (2 x 128 x 128 + 2 x 160 x 256) x 2 + 256 (12 mbarriers
//   and the claims' 6 words) + 1024 = 230656.
// CHECK-LABEL: func @causal_gqa
// CHECK: flash.io_ratio = 27.19375{{[0-9]*}} : f64
// CHECK-SAME: flash.modeled_io = 18249416704 : i64
// CHECK-SAME: flash.schedule = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 160, tile_d = 128, stages = 2, warps = 12, {{.*}}, smem_bytes = 230656, persistent = 1>
// sm_80 picks 64 x 64 tiles over 4 warps (16 rows each): query tile i reads
//   key tiles 0..i, 64 (i + 1) rows, over 128 tiles 64 x 8256 = 528384 rows
//   x 256 + 2097152 = 137363456 elements x 2 x 128 = 35165044736; ratio
//   52.4. smem (64 x 128 + 2 x 64 x 256) x 2 = 81920.
// SM80-LABEL: func @causal_gqa
// SM80: flash.io_ratio = 5.240000e+01 : f64
// SM80-SAME: flash.modeled_io = 35165044736 : i64
// SM80-SAME: flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, {{.*}}, smem_bytes = 81920>
// TOP1-LABEL: func @causal_gqa
// TOP1: flash.candidates = [#flash.schedule<{{[^>]*}}>]
func.func @causal_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

// d = 512: 247296 elements on chip < 512^2, so the small-cache schedule,
// on sm_90 its warpgroup form flash3_dsplit: 128 x 32 tiles, the Q tile
// resident (its two 256-column chunks copied once), K in 256-column chunks
// through a 4-stage ring (the products in flight a step), V and O in two
// 256-column slices, 8 warps (two warpgroups of 64 rows).
//   smem (128 x 512 + 4 x 32 x 256 + 2 x 32 x 256) x 2 = 229376, plus 1024
//   bytes in which the swizzled tiles align: 230400.
//   Per head (64 query tiles, 256 key tiles, 2 slices): Q once per CTA
//   2 x 64 x 128 x 512 = 8388608, K per query tile and slice 2 x 64 x 8192
//   x 512 = 536870912, V 64 x 8192 x 512 = 268435456, O 8192 x 512 =
//   4194304: 817889280 elements x 2 x 8 heads = 13086228480.
//   Bound: 8 x 8192 x 4 x 512 x 2 = 268435456 (the segment term,
//   69853971 elements, is smaller); ratio 48.75.
// sm_90: a head's 128 CTAs (64 query tiles x 2 slices) straddle the
//   waves of 132 resident ones and its K/V (16 MiB, twice that with the
//   next head's, over half the 50 MiB L2) do not stay in L2 between them:
//   K/V come from HBM twice, 268435456 + 134217728 = 402653184.
// sm_80 (no wgmma: flash2_dsplit): one KV head's K/V (16 MiB) and its neighbour's do not fit in
//   half the 40 MiB L2, and the 128 CTAs of a head exceed the 108 resident
//   ones: K/V come from HBM twice, 268435456 + 134217728 = 402653184,
//   ratio 1.5.
// CHECK-LABEL: func @d512
// CHECK: flash.io_lower_bound = 268435456 : i64, flash.io_ratio = 4.875000e+01 : f64
// CHECK-SAME: flash.modeled_hbm = 402653184 : i64, flash.modeled_io = 13086228480 : i64
// CHECK-SAME: flash.schedule = #flash.schedule<algorithm = flash3_dsplit, tile_q = 128, tile_kv = 32, tile_d = 256, stages = 4, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 230400>
// SM80-LABEL: func @d512
// SM80: flash.hbm_ratio = 1.500000e+00 : f64
// SM80-SAME: flash.modeled_hbm = 402653184 : i64
// SM80-SAME: algorithm = flash2_dsplit
func.func @d512(%q: tensor<2x4x8192x512xbf16>) -> tensor<2x4x8192x512xbf16> {
  %o = flash.attention %q, %q, %q : tensor<2x4x8192x512xbf16>, tensor<2x4x8192x512xbf16>, tensor<2x4x8192x512xbf16> -> tensor<2x4x8192x512xbf16>
  return %o : tensor<2x4x8192x512xbf16>
}

// -----

// Decay (simple GLA), B = 4, H = 16, T = 16384, Dk = Dv = 128, f32 gates.
// sm_90 picks chunk_fused, chunks of 128, inner tiles 128 x 64, tile_dv =
// 64 (2 slices, 128 CTAs), 2 stages, 8 warps: each CTA runs its chunks in
// order, so 128 chunks of a wider step beat 256 of 64 rows (measured on an
// H100: 0.784 against 0.801 ms, schedule/calibration/h100-linear.tsv).
// Shared memory (ChunkLayout.h): q, k 2 x 128 x 128 x 2 each (131072), v
// 2 x 128 x 64 x 2 (32768), the 16-bit state 128 x 64 x 2 (16384), two
// gate buffers of (4 x 128 + 4) x 4 bytes rounded to 2176: 184576.
//   Per head: q, k and gates for each slice 2 x 16384 x (512 + 4) =
//   16908288, v in and o out 2 x 16384 x 256 = 8388608: 25296896 x 64 =
//   1619001344. Bound (the state fits): 16384 x (768 + 256 + 4) x 64 =
//   1077936128. Ratio 1.50194...; the two slices of a head run together,
//   HBM sees the bound.
// CHECK-LABEL: func @decay
// CHECK: flash.io_lower_bound = 1077936128 : i64, flash.io_ratio = 1.50194{{[0-9]*}} : f64
// CHECK-SAME: flash.modeled_hbm = 1077936128 : i64, flash.modeled_io = 1619001344 : i64
// CHECK-SAME: flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 8, chunk = 128, inner_q = 128, inner_kv = 64, tile_dv = 64, smem_bytes = 184576>
func.func @decay(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x16x?xf32>) dims ["B", "T"] : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

// mLSTM, Dk = 256, Dv = 512: C (512 KiB) exceeds the 483 KiB on chip, the
// bound counts k read twice: per head 16384 x (1024 x 2 + 512 x 2 + 8) +
// 16384 x 256 x 2 = 58851328, x 32 = 1883242496. The chosen schedule keeps
// a 256 x 16 state slice per CTA (32 slices; wider slices overflow the
// registers with Dk = 256), chunks of 32, one stage, 2 warps:
//   q, k, gates per slice 32 x 16384 x (1024 + 8) = 541065216, v and o
//   2 x 16384 x 1024 = 33554432: 574619648 x 32 = 18387828736, ratio
//   9.7639...; smem q 32 x 256 x 2 + k 16384 + v 32 x 16 x 2 + the 16-bit
//   state 256 x 16 x 2 + n 256 x 4 + two gate buffers of 640 = 44288.
// CHECK-LABEL: func @mlstm
// CHECK: flash.io_lower_bound = 1883242496 : i64, flash.io_ratio = 9.7639{{[0-9]*}} : f64
// CHECK-SAME: flash.modeled_io = 18387828736 : i64
// CHECK-SAME: flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 2, chunk = 32, inner_q = 32, inner_kv = 16, tile_dv = 16, smem_bytes = 44288>
func.func @mlstm(%q: tensor<?x8x?x256xbf16>, %k: tensor<?x8x?x256xbf16>, %v: tensor<?x8x?x512xbf16>, %i: tensor<?x8x?xf32>, %f: tensor<?x8x?xf32>) -> tensor<?x8x?x512xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"] : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x512xbf16> -> tensor<?x8x?x512xbf16>
  return %o : tensor<?x8x?x512xbf16>
}

// -----

// No flash op: nothing changes.
// CHECK-LABEL: func @no_flash_ops
// CHECK-NOT: flash.schedule
func.func @no_flash_ops(%x: f32) -> f32 {
  return %x : f32
}
