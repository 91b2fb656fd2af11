// RUN: not flashgen-opt %s -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null 2>&1 | FileCheck %s
// A producer schedule printed without flash-warp-specialize: the emitter
// does not make up the producer / consumer structure itself.
#sched = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0>

// CHECK: error: flash3 schedule {{.*}} has a producer warpgroup but the kernel was not split: run flash-warp-specialize before flash-print-cuda
func.func @unsplit(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
