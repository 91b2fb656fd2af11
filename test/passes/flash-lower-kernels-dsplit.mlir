// RUN: flashgen-opt %s -flash-lower-kernels -canonicalize -cse | FileCheck %s
// RUN: flashgen-opt %s -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// flash-lower-kernels on a flash2_dsplit schedule (the small-cache kernel):
// MLA's shape, q and k 576 wide (nine 64-column chunks), v 512 wide (two
// 256-column slices), one key/value head for 16 query heads, causal.

#sched = #flash.schedule<algorithm = flash2_dsplit, tile_q = 128, tile_kv = 64, tile_d = 64, stages = 3, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 139264>

// One CTA per (query tile, value slice): x enumerates both, slice fastest.
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["query_slice", "head", "batch"] extents ["cdiv(N,128)*2", "16", "B"]
// CHECK-DAG: %[[TILE:.*]] = arith.floordivsi %[[IDS]]#0, %c2
// CHECK-DAG: %[[SLICE:.*]] = arith.remsi %[[IDS]]#0, %c2
// GQA: every query head reads key/value head 0.
// CHECK: flash.output_init
// The ring's first stages - 1 = 2 chunks are issued before the loops, one
// commit group each; the first brings key tile 0's V slice too.
// CHECK: scf.if
// CHECK: flash.tile_load q[{{.*}}] rows 128 extent %{{.*}} cols 64 at %c0 stage %c0 async
// CHECK: flash.tile_load k[{{.*}}] rows 64 extent %{{.*}} cols 64 at %c0 stage %c0 async
// CHECK: flash.tile_load v[{{.*}}] rows 64 extent %{{.*}} cols 256 at %[[SLICE]] stage %c0 async
// CHECK: flash.tile_commit
// CHECK: flash.tile_load q[{{.*}} cols 64 at %c1 stage %c1 async
// CHECK: flash.tile_commit
// Each key tile: S cleared, then nine chunk steps (wait, prefetch two ahead,
// accumulate), the score map, the softmax and P V on the tile's V buffer.
// CHECK: scf.for
// CHECK: flash.score_clear
// CHECK: scf.for %{{.*}} = %c0 to %c9 step %c1
// CHECK: flash.tile_wait 1
// CHECK: %[[AHEAD:.*]] = arith.addi %{{.*}}, %c2
// CHECK: scf.if
// CHECK: flash.tile_load q
// CHECK: flash.tile_load k
// CHECK: arith.cmpi eq
// CHECK: scf.if
// CHECK: flash.tile_load v{{.*}} cols 256 at %[[SLICE]]
// CHECK: flash.tile_commit
// CHECK: flash.tile_mma qk stage %{{.*}} accumulate
// CHECK: flash.score_map
// CHECK: flash.softmax_update masked
// CHECK: flash.tile_mma pv stage
// CHECK: flash.output_store o[{{.*}}] extent %{{.*}} slice %[[SLICE]]

// The printed kernel: rings of chunks, an O slice, lse written by slice 0.
// CUDA: constexpr int kTileD = 64;
// CUDA: constexpr int kTileDv = 256;
// CUDA: constexpr int kValueSlices = 2;
// CUDA: constexpr int kChunks = 9;
// CUDA: static_assert(kSmemBytes == 139264
// CUDA: const QRing sQ{smem + kSmemQ};
// CUDA: fg::acc_tile<kWarpRows, kTileDv> acc_o;
// CUDA: fg::warp::mma_ABt(s_tile, sQ.stage(
// CUDA: fg::warp::store_rows(o + {{.*}} * kTileDv, o_s2
// CUDA: if (lse != nullptr && {{.*}} == 0)
func.func @mla(%q: tensor<?x16x?x576xbf16>, %k: tensor<?x1x?x576xbf16>,
    %v: tensor<?x1x?x512xbf16>) -> tensor<?x16x?x512xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #sched}
      : tensor<?x16x?x576xbf16>, tensor<?x1x?x576xbf16>, tensor<?x1x?x512xbf16>
      -> tensor<?x16x?x512xbf16>
  return %o : tensor<?x16x?x512xbf16>
}
