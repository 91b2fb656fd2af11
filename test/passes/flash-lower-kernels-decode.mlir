// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=32768" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=32768" -flash-lower-kernels=target=h200 -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// flash_decode (passes/LowerAttentionDecode.cpp): with one query token the
// scheduler packs the 4 query heads of a kv head into one tile's rows and
// splits the keys over CTAs by a count the launch computes
// (schedule/DecodeSplit.h); a second kernel merges the splits, its CTAs
// let in early by the split kernel and waiting for its writes.

// The split kernel: one CTA per (split x packed tile, kv head, batch).
// CHECK-LABEL: flash.kernel @decode_v0 family attention schedule <algorithm = flash_decode
// CHECK: flash.grid_map ["split_tile", "kv_head", "batch"] extents ["max(1,min({{[0-9]+}}/max(1,B*8*cdiv(4*N,[[TQ:[0-9]+]])),cdiv(M,{{[0-9]+}})))*cdiv(4*N,[[TQ]])", "8", "B"]
// CHECK: %[[SPLITS:.*]] = flash.launch_value "kv_splits" expr "max(1,min({{[0-9]+}}/max(1,
// CHECK: %[[TILE:.*]] = arith.divui %{{.*}}, %[[SPLITS]] : index
// CHECK: %[[SPLIT:.*]] = arith.remui %{{.*}}, %[[SPLITS]] : index
// CHECK: flash.launch_dependents
// The query tile: 4 heads x N tokens of packed rows.
// CHECK: flash.tile_load q[%{{.*}}, %{{.*}}, %[[TILE]]] rows [[TQ]] extent %{{.*}} group 4 stage
// Each element's token comes from its packed row (its head too, where a
// region reads it: the emulator test's ALiBi).
// CHECK: flash.score_map
// CHECK: arith.divui %{{.*}}, %c4 : index
// CHECK: flash.split_store[%{{.*}}, %{{.*}}, %[[TILE]]] extent %{{.*}} splits %[[SPLITS]] partial_row %{{.*}} group 4

// The merge kernel: one CTA per (packed tile, kv head, batch).
// CHECK-LABEL: flash.kernel @decode_v0_merge family attention_combine
// CHECK: flash.grid_map ["query_tile", "kv_head", "batch"] extents ["cdiv(4*N,{{[0-9]+}})", "8", "B"]
// CHECK: flash.launch_value "kv_splits" expr "max(1,min({{[0-9]+}}/max(1,
// CHECK-NOT: flash.split_merge
// CHECK: flash.wait_previous_launch
// CHECK-NEXT: flash.split_merge[
// CHECK-SAME: group 4

// CUDA-LABEL: flashgen_decode_v0(
// CUDA: float* __restrict__ o_split,
// CUDA: int lv_kv_splits)
// CUDA: fg::ptx::launch_dependents();
// CUDA: fg::decode::load_packed_async<kThreads, 4>(sQ,
// CUDA: if (lv_kv_splits == 1) {  // the rows are the result
// CUDA: fg::decode::store_partial_rows(
// CUDA-LABEL: flashgen_decode_v0_merge(
// CUDA: fg::ptx::wait_previous_launch();
// CUDA-NEXT: if (lv_kv_splits > 1)  // else the split kernel wrote them
// CUDA-NEXT: fg::decode::merge_splits<kThreads, 4, kValueDim>(
func.func @decode(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                  %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// Per-sequence cache lengths (examples/decode_ragged.mlir): the mask_mod
// does not read the head, so its key bound holds for the whole packed tile
// and ends the key range (and the splits' shares) at the sequence's length.
// CHECK-LABEL: flash.kernel @ragged_v0 family attention
// CHECK: %[[LEN:.*]] = flash.extra "cache_len"(%{{.*}}) : tensor<?xi32>
// CHECK: %[[L:.*]] = tensor.extract %[[LEN]][%{{.*}}] : tensor<?xi32>
// CHECK: %[[END:.*]] = arith.ceildivsi %{{.*}}, %c{{[0-9]+}} : index
// CHECK: %[[HI:.*]] = arith.minsi %{{.*}}, %[[END]] : index
// CHECK: flash.tile_load q
// CHECK: flash.split_store
func.func @ragged(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                  %v: tensor<?x8x?x128xbf16>, %cache_len: tensor<?xi32>)
    -> tensor<?x32x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      extras(%cache_len : tensor<?xi32>) names ["cache_len"] extra_dims [["B"]]
      mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %len: tensor<?xi32>):
    %l = tensor.extract %len[%b] : tensor<?xi32>
    %ii = arith.index_cast %i : index to i32
    %ji = arith.index_cast %j : index to i32
    %one = arith.constant 1 : i32
    %last = arith.addi %l, %ii : i32
    %end = arith.addi %last, %one : i32
    %keep = arith.cmpi slt, %ji, %end : i32
    flash.yield %keep : i1
  } : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}
