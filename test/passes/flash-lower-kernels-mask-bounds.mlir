// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -canonicalize -cse | FileCheck %s
// Key ranges a mask_mod proves (passes/MaskModBounds.h): comparisons of j
// with expressions that rise with the query row i (or do not depend on it),
// combined with and/or, bound the key tiles a query tile visits; the tiles
// past the bound of the tile's last row are never loaded. A bound that could
// fall as i grows, an unsigned comparison with a value that may be negative,
// or a data-dependent equality bounds nothing: every key tile is visited.

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// Prefix-LM with a run-time prefix: keys below max(prefix, last row + 1).
// CHECK-LABEL: flash.kernel @prefix_v0
// CHECK: {flash.name = "query_tile"}
// CHECK: %[[LAST:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: %[[P:.*]] = flash.extra "prefix" : tensor<i32>
// CHECK: %[[PV:.*]] = tensor.extract %[[P]][] : tensor<i32>
// CHECK: %[[PI:.*]] = arith.index_cast %[[PV]] : i32 to index
// CHECK: %[[NEXT:.*]] = arith.addi %[[LAST]], %{{.*}} : index
// CHECK: %[[B:.*]] = arith.maxsi %[[PI]], %[[NEXT]] : index
// CHECK: %[[BP:.*]] = arith.maxsi %[[B]], %{{.*}} : index
// CHECK: %[[T:.*]] = arith.ceildivsi %[[BP]], %{{.*}} : index
// CHECK: arith.minsi %{{.*}}, %[[T]] : index
// The region is exactly j < max(prefix, i + 1): the tiles below the first
// row's bound need no mask.
// CHECK: %[[FIRST:.*]] = arith.maxsi %[[PI]], %{{.*}} : index
// CHECK: %[[FP:.*]] = arith.maxsi %[[FIRST]], %{{.*}} : index
// CHECK: %[[F:.*]] = arith.floordivsi %[[FP]], %{{.*}} : index
// CHECK: arith.minsi %{{.*}}, %[[F]] : index
// CHECK: flash.tile_load q
func.func @prefix(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %p: tensor<i32>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v extras(%p : tensor<i32>) names ["prefix"] extra_dims [[]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %len: tensor<i32>):
    %l = tensor.extract %len[] : tensor<i32>
    %ji = arith.index_cast %j : index to i32
    %in = arith.cmpi slt, %ji, %l : i32
    %causal = arith.cmpi ule, %j, %i : index
    %keep = arith.ori %in, %causal : i1
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// A bound that falls as i grows (j <= 4096 - i), an unsigned comparison
// with a value that may be negative, and an equality of ids: no bound; the
// key tiles are cdiv(M, 64), and no bound is divided into tiles.
// CHECK-LABEL: flash.kernel @unbounded_v0
// CHECK: %[[M:.*]] = flash.dim "M"
// CHECK: {flash.name = "query_tile"}
// CHECK-NEXT: arith.ceildivsi %[[M]], %{{.*}} : index
// CHECK-NOT: arith.ceildivsi
// CHECK: flash.tile_load q
func.func @unbounded(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %doc: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %ids: tensor<?x?xi32>):
    %c = arith.constant 4096 : index
    %far = arith.subi %c, %i : index
    %a = arith.cmpi sle, %j, %far : index
    %m = arith.constant -5 : index
    %s = arith.addi %i, %m : index
    %u = arith.cmpi ult, %j, %s : index
    %di = tensor.extract %ids[%b, %i] : tensor<?x?xi32>
    %dj = tensor.extract %ids[%b, %j] : tensor<?x?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    %x = arith.ori %a, %u : i1
    %keep = arith.ori %x, %same : i1
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// A bound and a test that bounds nothing (i - j < 100 depends on j): the
// range ends at the bound, but no tile is known to be kept whole, so every
// tile is masked: the bound's ceildiv ends the range, and no floordiv
// counts whole tiles.
// CHECK-LABEL: flash.kernel @not_exact_v0
// CHECK: {flash.name = "query_tile"}
// CHECK-NOT: arith.floordivsi
// CHECK: %[[LAST:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: %[[NEXT:.*]] = arith.addi %[[LAST]], %{{.*}} : index
// CHECK: %[[NN:.*]] = arith.maxsi %[[NEXT]], %{{.*}} : index
// CHECK: arith.ceildivsi %[[NN]], %{{.*}} : index
// CHECK-NOT: arith.floordivsi
// CHECK: flash.tile_load q
func.func @not_exact(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %causal = arith.cmpi ule, %j, %i : index
    %d = arith.subi %i, %j : index
    %c = arith.constant 100 : index
    %near = arith.cmpi slt, %d, %c : index
    %keep = arith.andi %causal, %near : i1
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// j cast to 8 bits wraps (key 300 reads as 44): its comparison bounds
// nothing, and only the key length's ceildiv is built (after the grid's
// heaviest-first order, which reads M for its sections).
// CHECK-LABEL: flash.kernel @narrow_v0
// CHECK: %[[M:.*]] = flash.dim "M"
// CHECK: {flash.name = "query_tile"}
// CHECK-NEXT: arith.ceildivsi %[[M]], %{{.*}} : index
// CHECK-NOT: arith.ceildivsi
// CHECK: flash.tile_load q
func.func @narrow(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %j8 = arith.index_cast %j : index to i8
    %c = arith.constant 100 : i8
    %keep = arith.cmpi slt, %j8, %c : i8
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// A speculative tree's mask (examples/tree_verify.mlir): j < prefix, or a
// bit test that bounds nothing. No key is bounded (every tile up to M's is
// visited), but every row keeps the keys below the prefix: the tiles below
// floor(max(prefix, 0) / 64) are computed without the mask, and the loops
// are split there (a masked loop from there to the end).
// CHECK-LABEL: flash.kernel @tree_v0
// CHECK: %[[M:.*]] = flash.dim "M"
// CHECK: {flash.name = "query_tile"}
// CHECK: %[[TILES:.*]] = arith.ceildivsi %[[M]], %{{.*}} : index
// CHECK-NOT: arith.ceildivsi
// CHECK: %[[P:.*]] = flash.extra "prefix"(%{{.*}}) : tensor<?xi32>
// CHECK: %[[PV:.*]] = tensor.extract %[[P]][%{{.*}}] : tensor<?xi32>
// CHECK: %[[PI:.*]] = arith.index_cast %[[PV]] : i32 to index
// CHECK: %[[PP:.*]] = arith.maxsi %[[PI]], %{{.*}} : index
// CHECK: %[[KEPT:.*]] = arith.floordivsi %[[PP]], %{{.*}} : index
// CHECK: %[[FULL:.*]] = arith.minsi %{{.*}}, %[[KEPT]] : index
// CHECK: flash.tile_load q
// The loops: masked up to the kept tiles (none below them: the range starts
// at 0), unmasked through them, masked after.
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[LO:.*]] step
// CHECK: flash.softmax_update masked
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[HI:.*]] step
// CHECK-NOT: flash.softmax_update masked
// CHECK: scf.for %{{.*}} = %[[HI]] to %[[TILES]] step
// CHECK: flash.softmax_update masked
func.func @tree(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %p: tensor<?xi32>, %bits: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"] extras(%p, %bits : tensor<?xi32>, tensor<?x?xi32>) names ["prefix", "bits"] extra_dims [["B"], ["B", "N"]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %len: tensor<?xi32>, %words: tensor<?x?xi32>):
    %l = tensor.extract %len[%b] : tensor<?xi32>
    %ji = arith.index_cast %j : index to i32
    %in = arith.cmpi slt, %ji, %l : i32
    %t = arith.subi %ji, %l : i32
    %word = tensor.extract %words[%b, %i] : tensor<?x?xi32>
    %shifted = arith.shrui %word, %t : i32
    %c1 = arith.constant 1 : i32
    %low = arith.andi %shifted, %c1 : i32
    %anc = arith.cmpi eq, %low, %c1 : i32
    %keep = arith.ori %in, %anc : i1
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// The same tests joined by `and`: the keys below the prefix are bounded,
// not kept (the bit test may hide them), so every visited tile is masked.
// CHECK-LABEL: flash.kernel @tree_and_v0
// CHECK: {flash.name = "query_tile"}
// CHECK: arith.ceildivsi
// CHECK-NOT: arith.floordivsi
// CHECK: flash.tile_load q
func.func @tree_and(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>, %p: tensor<?xi32>, %bits: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"] extras(%p, %bits : tensor<?xi32>, tensor<?x?xi32>) names ["prefix", "bits"] extra_dims [["B"], ["B", "N"]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %len: tensor<?xi32>, %words: tensor<?x?xi32>):
    %l = tensor.extract %len[%b] : tensor<?xi32>
    %ji = arith.index_cast %j : index to i32
    %in = arith.cmpi slt, %ji, %l : i32
    %word = tensor.extract %words[%b, %i] : tensor<?x?xi32>
    %shifted = arith.shrui %word, %ji : i32
    %c1 = arith.constant 1 : i32
    %low = arith.andi %shifted, %c1 : i32
    %anc = arith.cmpi eq, %low, %c1 : i32
    %keep = arith.andi %in, %anc : i1
    flash.yield %keep : i1
  } {flash.schedule = #sched} : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}
