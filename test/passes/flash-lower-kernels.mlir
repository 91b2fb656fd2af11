// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels | FileCheck %s
// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -canonicalize -cse | FileCheck %s --check-prefix=CANON
// flash-lower-kernels: grid mapping, GQA head mapping, key-tile ranges of
// each mask kind, masked/unmasked loop split, pipeline and inlined regions.

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>

// CHECK-LABEL: func @causal_gqa
// CHECK: flash.attention {{.*}}flash.kernels = [@causal_gqa_v0]
// CHECK: flash.kernel @causal_gqa_v0 family attention schedule <algorithm = flash2, tile_q = 128, tile_kv = 64
// CHECK-SAME: kv_heads = 8 : i64, mask = "causal", op = "causal_gqa", q_heads = 32 : i64
// Causal: one grid dimension over query tiles x query heads x batch, the
// heaviest query tiles first within even sections of query heads whose
// keys and values fit in sm_90's 50 MiB L2: 52428800 bytes over 128 bytes
// per key row (256 bf16 per key/value row, shared by 4 query heads).
// CHECK: %[[T:.*]] = flash.grid_map ["tile"] extents ["cdiv(N,128)*32*B"] uneven : index
// CHECK: %[[TILES:.*]] = arith.ceildivsi
// CHECK: %[[HEADS:.*]] = arith.muli %c32, %{{.*}} : index
// CHECK: %[[ROWS:.*]] = arith.floordivsi %c409600, %{{.*}} : index
// CHECK: %[[WIDEST:.*]] = arith.minsi %{{.*}}, %[[HEADS]] : index
// CHECK: %[[COUNT:.*]] = arith.ceildivsi %[[HEADS]], %[[WIDEST]] : index
// CHECK: %[[SECTION:.*]] = arith.ceildivsi %[[HEADS]], %[[COUNT]] {flash.name = "section_heads"}
// CHECK: %[[SPAN:.*]] = arith.muli %[[SECTION]], %[[TILES]] : index
// CHECK: %[[INDEX:.*]] = arith.floordivsi %[[T]], %[[SPAN]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[INDEX]], %[[SECTION]] {flash.name = "section_first"}
// CHECK: %[[LEFT:.*]] = arith.subi %[[HEADS]], %[[FIRST]] : index
// CHECK: %[[WIDTH:.*]] = arith.minsi %[[SECTION]], %[[LEFT]] {flash.name = "section_width"}
// CHECK: %[[BEFORE:.*]] = arith.muli %[[FIRST]], %[[TILES]] : index
// CHECK: %[[WITHIN:.*]] = arith.subi %[[T]], %[[BEFORE]] : index
// CHECK: %[[COLUMN:.*]] = arith.remsi %[[WITHIN]], %[[WIDTH]] : index
// CHECK: %[[HEAD_OF_ALL:.*]] = arith.addi %[[FIRST]], %[[COLUMN]] : index
// CHECK: %[[RANK:.*]] = arith.floordivsi %[[WITHIN]], %[[WIDTH]] {flash.name = "query_rank"}
// CHECK: %[[HEAD:.*]] = arith.remsi %[[HEAD_OF_ALL]], %{{.*}} {flash.name = "head_id"}
// CHECK: arith.floordivsi %[[HEAD_OF_ALL]], %{{.*}} {flash.name = "batch_id"}
// The rank counts from the last query tile (most keys).
// CHECK: %[[LAST:.*]] = arith.subi %{{.*}}, %c1
// CHECK: arith.subi %[[LAST]], %[[RANK]] {flash.name = "query_tile"}
// GQA: 32 query heads read 8 key/value heads, h / 4.
// CHECK: arith.divui %[[HEAD]], %[[C4:.*]] : index
// The query tile and then stages - 1 = 2 key/value tiles are issued before the loops.
// CHECK: flash.tile_load q[
// CHECK-COUNT-2: flash.tile_commit
// Three loops: masked head, unmasked interior, masked tail.
// CHECK: scf.for
// CHECK: flash.tile_wait 1
// CHECK: flash.tile_mma qk stage
// CHECK: flash.score_map
// CHECK: arith.cmpi sle
// CHECK: flash.softmax_update masked
// CHECK: flash.tile_mma pv stage
// CHECK: scf.for
// CHECK: flash.score_map
// CHECK-NOT: arith.cmpi
// CHECK: flash.score_yield %{{.*}}, %true
// CHECK: flash.softmax_update{{$}}
// CHECK: scf.for
// CHECK: flash.softmax_update masked
// CHECK: flash.output_store o[
func.func @causal_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #sched} : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 32, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 24576>

// No mask and equal head counts: no head division, tiles are read in launch
// order, and the only masked tiles are the ragged end (j < M).
// CANON-LABEL: func @plain
// CANON: flash.kernel @plain_v0
// CANON-NOT: arith.divui
// CANON: flash.grid_map ["query_tile", "head", "batch"] extents ["cdiv(N,64)", "8", "B"]
// CANON: flash.tile_load q[%[[B:[a-z0-9#_]+]], %[[H:[a-z0-9#_]+]], %{{[a-z0-9#_]+}}] rows 64
// CANON: flash.tile_load k[%[[B]], %[[H]], %{{.*}}] rows 32
// CANON: flash.score_map
// CANON: arith.cmpi slt
// CANON-NEXT: flash.score_yield
func.func @plain(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = flash.attention %q, %k, %v {flash.schedule = #sched} : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>
#alt = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 65536>

// The user's score_mod is cloned into every score_map; candidates become
// further kernels.
// CHECK-LABEL: func @softcap
// CHECK: flash.kernels = [@softcap_v0, @softcap_v1]
// CHECK: flash.kernel @softcap_v0
// CHECK: flash.score_map
// CHECK: math.tanh
// CHECK: flash.kernel @softcap_v1 {{.*}}tile_q = 64
func.func @softcap(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } {flash.schedule = #sched, flash.candidates = [#sched, #alt]} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>

// A sliding window starts its tile range at the window's first key and masks
// the window's lower edge too.
// CANON-LABEL: func @window
// CANON: flash.kernel @window_v0
// CANON-DAG: %[[W:.*]] = arith.constant 256 : index
// CANON: flash.score_map
// CANON: arith.cmpi sle
// CANON: arith.subi
// CANON: arith.cmpi slt, %{{.*}}, %[[W]]
func.func @window(%q: tensor<?x4x?x128xbf16>, %k: tensor<?x4x?x128xbf16>, %v: tensor<?x4x?x128xbf16>) -> tensor<?x4x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask sliding_window window 256 {flash.schedule = #sched} : tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16> -> tensor<?x4x?x128xbf16>
  return %o : tensor<?x4x?x128xbf16>
}


// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>

// Region code that depends only on the batch and head (the ALiBi slope) is
// computed once per CTA before the key loops, not per score element.
// ALiBi's bias rises toward the diagonal (slope = exp2(..) > 0 times j - i),
// so the key loops run from the diagonal back (LowerAttention.cpp,
// walksKeysDiagonalFirst): they count positions from 0, the first ones the
// diagonal's masked tiles, and position p loads and masks key tile
// hi - 1 - p.
// CANON-LABEL: func @alibi
// CANON: flash.kernel @alibi_v0
// CANON: %[[SLOPE:.*]] = math.exp2
// CANON: flash.tile_load q[
// CANON: flash.tile_load k[%{{.*}}, %{{.*}}, %[[LAST:.*]]] rows 64
// CANON: scf.for %[[P:.*]] = %c0 to %{{.*}} step %c1 {
// CANON: %[[NEXT:.*]] = arith.addi %[[P]], %c1 : index
// CANON: arith.subi %[[LAST]], %[[NEXT]] : index
// CANON: %[[TILE:.*]] = arith.subi %[[LAST]], %[[P]] : index
// CANON: flash.score_map[%{{.*}}, %{{.*}}, %{{.*}}, %[[TILE]]]
// CANON-NOT: math.exp2
// CANON: arith.mulf %[[SLOPE]]
// CANON: arith.cmpi sle
// CANON: flash.softmax_update masked
func.func @alibi(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1 : index
    %hp1 = arith.addi %h, %one : index
    %hi = arith.index_cast %hp1 : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %neg_half = arith.constant -0.5 : f32
    %e = arith.mulf %hf, %neg_half : f32
    %slope = math.exp2 %e : f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ji, %ii : i32
    %df = arith.sitofp %d : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %bias : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

#sched = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>

// The same bias mirrored (slope * (i - j)) falls toward the diagonal: the
// first key tile holds the row maxima, and the loops run forward, the key
// tile their induction variable.
// CANON-LABEL: func @alibi_mirrored
// CANON: flash.kernel @alibi_mirrored_v0
// CANON: scf.for %[[J:.*]] = %c0 to %{{.*}} step %c1 {
// CANON: flash.score_map[%{{.*}}, %{{.*}}, %{{.*}}, %[[J]]]
func.func @alibi_mirrored(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1 : index
    %hp1 = arith.addi %h, %one : index
    %hi = arith.index_cast %hp1 : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %neg_half = arith.constant -0.5 : f32
    %e = arith.mulf %hf, %neg_half : f32
    %slope = math.exp2 %e : f32
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %d = arith.subi %ii, %ji : i32
    %df = arith.sitofp %d : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %bias : f32
    flash.yield %r : f32
  } {flash.schedule = #sched} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
