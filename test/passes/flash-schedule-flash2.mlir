// RUN: flashgen-opt %s -flash-schedule="target=sm_90 dims=B=4,N=8192 top-k=2 algorithm=flash2" | FileCheck %s
// flash-schedule restricted to flash2 (mma.sync) on sm_90 (the `algorithm`
// option); by default flash3 competes and wins (flash-schedule.mlir).

// Causal GQA, B = 4, Hq = 32, Hkv = 8, N = 8192, d = 128.
// sm_90 picks 256 x 16 tiles, 2 stages, 8 warps (32 query rows per warp):
//   smem (256 x 128 + 2 x 16 x (128 + 128)) x 2 = 81920.
//   Per query head: query tile i (rows 256i..256i+255) reads key tiles
//   0..16i+15, i.e. 256 (i + 1) rows: over 32 tiles 256 x 528 = 135168
//   rows x 256 + Q and O (2 x 8192 x 128) = 36700160 elements; x 2 bytes x
//   128 query heads = 9395240960.
//   Bound: Q, O 128 x 8192 x 256 x 2 = 536870912, K, V 32 x 8192 x 256 x 2
//   = 134217728: 671088640 (the segment term, 56 MiB, is smaller).
//   Ratio 9395240960 / 671088640 = 14.0. Every KV head's K/V (4 MiB) stays
//   in L2 while its query tiles run: HBM sees the bound, ratio 1.
// CHECK-LABEL: func @causal_gqa
// CHECK: flash.attention
// CHECK-SAME: flash.binding = "math"
// CHECK-SAME: flash.candidates = [#flash.schedule<algorithm = flash2, tile_q = 256, tile_kv = 16, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<{{[^>]*}}>]
// CHECK-SAME: flash.hbm_lower_bound = 671088640 : i64, flash.hbm_ratio = 1.000000e+00 : f64
// CHECK-SAME: flash.io_lower_bound = 671088640 : i64, flash.io_ratio = 1.400000e+01 : f64
// CHECK-SAME: flash.modeled_hbm = 671088640 : i64, flash.modeled_io = 9395240960 : i64
// CHECK-SAME: flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 256, tile_kv = 16, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>
func.func @causal_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
