// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=h200 dims=B=2,N=4096 top-k=1" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=ATOMIC
// RUN: flashgen-opt %s -flash-derive-backward=deterministic=true -flash-schedule="target=h200 dims=B=2,N=4096 top-k=1" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=DET
// RUN: flashgen-opt %s -flash-derive-backward=deterministic=true -flash-schedule="target=h200 dims=B=2,N=4096 top-k=1" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// The gradient of a mask_mod read at positions (packed documents' ids) gets
// mask_lists pre-passes too (passes/LowerAttentionMaskLists.cpp): the
// first lists, per key tile, the query tiles the mask_mod leaves partly or
// wholly visible (the transposed lists the kv kernel walks, every query
// head of its group); the deterministic schedules' dq kernel walks a second
// pre-pass's lists, per query tile its key tiles, as the forward does.

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

// Atomic dQ: one pre-pass, then prep, kv, convert. One CTA per (key tile,
// head 1 of 1: the region reads no head, batch); the key tile's ids reduce
// to [min, max] once per CTA, each query tile's inside the region; only
// the query tiles from the key tile's diagonal on (the causal mask's) are
// sorted.
// ATOMIC-LABEL: flash.kernel @docs_backward_v0_mask_lists_t family attention_mask_lists schedule <algorithm = flash3_grad
// ATOMIC-SAME: mask_lists = 1
// ATOMIC: flash.grid_map ["key_block", "head", "batch"] extents ["cdiv(N,[[TKV:[0-9]+]])", "1", "B"]
// ATOMIC: %[[K0:.*]] = arith.muli %{{.*}}#0, %c[[TKV]] {flash.name = "key0"}
// ATOMIC: %[[DIAG:.*]] = arith.floordivsi
// ATOMIC: %[[DOC:.*]] = flash.extra "doc"
// ATOMIC: %[[KEYS:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (i32, i32) {
// ATOMIC: flash.tile_classify[{{.*}}] tiles %{{.*}} to %{{.*}} attributes {transposed} {
// ATOMIC-NEXT: ^bb0(%[[QT:.*]]: index):
// ATOMIC: %[[ROWS:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (i32, i32) {
// ATOMIC-DAG: arith.cmpi sle, %[[KEYS]]#0, %[[ROWS]]#1 : i32
// ATOMIC-DAG: arith.cmpi sle, %[[ROWS]]#0, %[[KEYS]]#1 : i32
// ATOMIC: flash.yield %{{.*}} : i32
// ATOMIC-NOT: flash.kernel @docs_backward_v0_mask_lists family
// ATOMIC-LABEL: flash.kernel @docs_backward_v0_prep
// The kv kernel reads the transposed lists: [B, 1, key tiles] counts,
// [B, 1, key tiles, query tiles] indices; a whole tile skips the mask_mod.
// ATOMIC-LABEL: flash.kernel @docs_backward_v0_kv family attention_grad_kv
// ATOMIC-SAME: mask_lists = 1
// ATOMIC: flash.extra "q_num_blocks"({{.*}}) : tensor<?x1x?xi32>
// ATOMIC: flash.extra "q_indices"({{.*}}) : tensor<?x1x?x?xi32>
// ATOMIC: flash.extra "full_q_num_blocks"({{.*}}) : tensor<?x1x?xi32>
// ATOMIC: flash.extra "full_q_indices"({{.*}}) : tensor<?x1x?x?xi32>
// ATOMIC-LABEL: flash.kernel @docs_backward_v0_convert

// Deterministic: both pre-passes; the dq kernel walks the kv lists.
// DET-LABEL: flash.kernel @docs_backward_v0_mask_lists_t family attention_mask_lists schedule <algorithm = flash3_grad_deterministic
// DET: flash.tile_classify{{.*}} attributes {transposed}
// DET-LABEL: flash.kernel @docs_backward_v0_mask_lists family attention_mask_lists
// DET: flash.grid_map ["query_block", "head", "batch"] extents ["cdiv(N,{{[0-9]+}})", "1", "B"]
// DET: flash.tile_classify
// DET-NOT: transposed
// DET-LABEL: flash.kernel @docs_backward_v0_kv family attention_grad_kv
// DET: flash.extra "q_num_blocks"
// DET-LABEL: flash.kernel @docs_backward_v0_dq family attention_grad_dq
// DET: flash.extra "kv_num_blocks"({{.*}}) : tensor<?x1x?xi32>
// DET: flash.extra "kv_indices"({{.*}}) : tensor<?x1x?x?xi32>

// The pre-passes write the lists they name: the transposed ones as scratch
// arguments of mask_lists_t, the kv ones of mask_lists.
// CUDA-LABEL: kernel @docs_backward_v0_mask_lists_t
// CUDA: int* __restrict__ q_num_blocks,
// CUDA: int* __restrict__ full_q_indices,
// CUDA: fg::tile_lists::build<kThreads>(
// CUDA-NEXT: q_num_blocks + {{.*}}, q_indices + {{.*}}, q_indices_s3,
// CUDA-NEXT: full_q_num_blocks + {{.*}}, full_q_indices + {{.*}}, full_q_indices_s3,
// CUDA-LABEL: kernel @docs_backward_v0_mask_lists grid
// CUDA: int* __restrict__ kv_num_blocks,
// CUDA: fg::tile_lists::build<kThreads>(
// CUDA-NEXT: kv_num_blocks + {{.*}}, kv_indices + {{.*}}, kv_indices_s3,
