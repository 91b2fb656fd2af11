// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=LOWER
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: not flashgen-opt %S/Inputs/mask-lists-invalid.mlir -flash-lower-kernels 2>&1 | FileCheck %s --check-prefix=INVALID
// A mask_mod that reads its extras at a query or key position (packed
// documents' ids) gets a mask_lists schedule: a first kernel sorts each
// key tile of a query tile by the mask_mod's interval form over the two
// tiles' positions (passes/MaskModTiles.h) and lists the partial and whole
// ones in the workspace; the attention kernel waits for it and walks the
// lists as a block mask's. A mask_mod whose verdict no extra decides, or
// whose ops have no interval form, keeps the plain key loops.

// Causal within packed documents; the ids [B, N] are read at i and at j.
func.func @docs(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                %v: tensor<?x16x?x128xbf16>, %doc: tensor<?x?xi32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %ids: tensor<?x?xi32>):
    %di = tensor.extract %ids[%b, %i] : tensor<?x?xi32>
    %dj = tensor.extract %ids[%b, %j] : tensor<?x?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    flash.yield %same : i1
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// The first kernel: one CTA per (query tile, head 1 of 1: the region reads
// no head, batch). The query rows' ids reduce to [min, max] once per CTA
// (an scf.for carrying both); each key tile's ids inside the region.
// LOWER-LABEL: flash.kernel @docs_v0_mask_lists family attention_mask_lists schedule <algorithm = flash3
// LOWER-SAME: mask_lists = 1
// LOWER-SAME: block_mask = array<i64: [[TQ:[0-9]+]], [[TKV:[0-9]+]]>
// LOWER: flash.grid_map ["query_block", "head", "batch"] extents ["cdiv(N,[[TQ]])", "1", "B"]
// LOWER: flash.launch_dependents
// LOWER: %[[DOC:.*]] = flash.extra "doc"
// LOWER: %[[ROWS:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (i32, i32) {
// LOWER: tensor.extract %[[DOC]]
// LOWER: arith.minsi
// LOWER: arith.maxsi
// Only the key tiles the causal mask leaves are sorted.
// LOWER: flash.tile_classify[{{.*}}] tiles %c0 to %{{.*}} {
// LOWER-NEXT: ^bb0(%[[KT:.*]]: index):
// LOWER: %[[KEYS:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (i32, i32) {
// Equal somewhere: the ranges meet; everywhere: one id on both sides.
// LOWER-DAG: arith.cmpi sle, %[[KEYS]]#0, %[[ROWS]]#1 : i32
// LOWER-DAG: arith.cmpi sle, %[[ROWS]]#0, %[[KEYS]]#1 : i32
// LOWER-DAG: arith.cmpi eq, %[[KEYS]]#0, %[[KEYS]]#1 : i32
// LOWER-DAG: arith.cmpi eq, %[[ROWS]]#0, %[[ROWS]]#1 : i32
// LOWER: flash.yield %{{.*}} : i32
// The attention kernel waits for the lists, then reads them as a block
// mask's: [B, 1, query tiles] counts, [B, 1, query tiles, key tiles] indices.
// LOWER-LABEL: flash.kernel @docs_v0 family attention schedule
// LOWER-SAME: mask_lists = 1
// LOWER: flash.wait_previous_launch
// LOWER: flash.extra "kv_num_blocks"({{.*}}) : tensor<?x1x?xi32>
// LOWER: flash.extra "kv_indices"({{.*}}) : tensor<?x1x?x?xi32>
// LOWER: flash.extra "full_kv_num_blocks"({{.*}}) : tensor<?x1x?xi32>
// LOWER: flash.extra "full_kv_indices"({{.*}}) : tensor<?x1x?x?xi32>

// Ids per (head, position): the lists get the head dim, and no batch dim.
func.func @head_ids(%q: tensor<?x4x?x64xbf16>, %seg: tensor<4x?xi32>)
    -> tensor<?x4x?x64xbf16> {
  %o = flash.attention %q, %q, %q dims ["B", "N", "N"]
      extras(%seg : tensor<4x?xi32>) names ["seg"] extra_dims [["N"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %ids: tensor<4x?xi32>):
    %si = tensor.extract %ids[%h, %i] : tensor<4x?xi32>
    %sj = tensor.extract %ids[%h, %j] : tensor<4x?xi32>
    %before = arith.cmpi sle, %sj, %si : i32
    flash.yield %before : i1
  } : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
// LOWER-LABEL: flash.kernel @head_ids_v0_mask_lists family attention_mask_lists
// LOWER: flash.grid_map ["query_block", "head", "batch"] extents ["cdiv(N,{{[0-9]+}})", "4", "1"]
// sj <= si somewhere: the keys' least id is at most the rows' largest.
// LOWER: flash.tile_classify
// LOWER: arith.cmpi sle, %{{.*}}#0, %{{.*}}#1 : i32
// LOWER-LABEL: flash.kernel @head_ids_v0 family attention
// LOWER: flash.extra "kv_num_blocks"({{.*}}) : tensor<1x4x?xi32>

// A window written as a mask_mod reads no extra: its key range is
// MaskModBounds' business, no lists.
func.func @window_mod(%q: tensor<?x4x?x64xbf16>) -> tensor<?x4x?x64xbf16> {
  %o = flash.attention %q, %q, %q dims ["B", "N", "N"] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 256 : index
    %lo = arith.subi %i, %c : index
    %after = arith.cmpi sgt, %j, %lo : index
    %before = arith.cmpi sle, %j, %i : index
    %in = arith.andi %after, %before : i1
    flash.yield %in : i1
  } : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
// LOWER-NOT: @window_mod_v0_mask_lists
// LOWER-LABEL: flash.kernel @window_mod_v0 family attention
// LOWER-NOT: mask_lists = 1
// LOWER-NOT: flash.wait_previous_launch
// LOWER: flash.kernel @window_mod_v1

// Bits of an id have no interval form (a tree's ancestor masks): no lists.
func.func @bits(%q: tensor<?x4x?x64xbf16>, %anc: tensor<?x?xi32>) -> tensor<?x4x?x64xbf16> {
  %o = flash.attention %q, %q, %q dims ["B", "N", "N"]
      extras(%anc : tensor<?x?xi32>) names ["anc"] extra_dims [["B", "N"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %bits: tensor<?x?xi32>):
    %w = tensor.extract %bits[%b, %i] : tensor<?x?xi32>
    %jj = arith.index_cast %j : index to i32
    %s = arith.shrui %w, %jj : i32
    %one = arith.constant 1 : i32
    %bit = arith.andi %s, %one : i32
    %set = arith.cmpi eq, %bit, %one : i32
    flash.yield %set : i1
  } : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
// LOWER-NOT: @bits_v0_mask_lists
// LOWER-LABEL: flash.kernel @bits_v0 family attention
// LOWER-NOT: mask_lists = 1

// The pre-pass is printed as fg::tile_lists::build over a lambda that
// returns each key tile's class; the reductions unroll (their loads in
// flight together); the attention kernel waits before it reads a list.
// CUDA-LABEL: flashgen_docs_v0_mask_lists(
// CUDA: int* __restrict__ kv_num_blocks,
// CUDA: const int* __restrict__ x_doc,
// CUDA: fg::ptx::launch_dependents();
// CUDA: #pragma unroll 8
// CUDA: fg::tile_lists::build<kThreads>(
// CUDA: [&](int [[KT:v[0-9]+]]) -> int {
// CUDA: return v{{[0-9]+}};
// CUDA-LABEL: flashgen_docs_v0(
// CUDA: const int* __restrict__ x_kv_num_blocks,
// CUDA: fg::ptx::wait_previous_launch();
// CUDA: __ldg(x_kv_num_blocks

// INVALID: error: schedule has mask_lists = 1: mask_lists sorts tiles by a mask_mod's extras, and this op has no mask_mod
