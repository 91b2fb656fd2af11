// RUN: not flashgen-opt %s -flash-lower-kernels -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null 2>&1 | FileCheck %s
// A flash3 schedule the warpgroup kernel cannot take: tile_q != 16 warps.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0>

// CHECK: error: flash3 schedule {{.*}}: warps = 4 must be tile_q / 16 = 8 (consumer warpgroups) or 12 (and a producer warpgroup)
func.func @bad(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
