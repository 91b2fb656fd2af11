// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=h200 dims=B=2,N=4096" -flash-lower-kernels=target=h200 -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s
// RUN: flashgen-opt %s -flash-derive-backward=deterministic -flash-schedule="target=h200 dims=B=2,N=4096" -flash-lower-kernels=target=h200 -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=DET
// The gradient of a block-sparse attention (docs/semantics.md §2.10): the
// kv kernel walks the transposed lists of each query head of its GQA group
// (here 2: the second head's counts read at kv_head * 2 + 1), a dq kernel
// the kv lists; prep and convert take no list.

func.func @sparse(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                  %v: tensor<?x2x?x64xbf16>, %c: tensor<?x4x?xi32>,
                  %i: tensor<?x4x?x?xi32>, %fc: tensor<?x4x?xi32>,
                  %fi: tensor<?x4x?x?xi32>) -> tensor<?x4x?x64xbf16> {
  %ks = flash.block_mask %k[%c, %i] full [%fc, %fi] block [128, 64]
      : tensor<?x2x?x64xbf16>, tensor<?x4x?xi32>, tensor<?x4x?x?xi32>,
        tensor<?x4x?xi32>, tensor<?x4x?x?xi32> -> tensor<?x2x?x64xbf16>
  %o = flash.attention %q, %ks, %v dims ["B", "N", "N"]
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// CHECK-LABEL: // === kernel @sparse_backward_v0_prep
// CHECK-NOT: x_q_num_blocks
// CHECK-LABEL: // === kernel @sparse_backward_v0_kv
// CHECK-NOT: x_kv_num_blocks
// CHECK: const int* __restrict__ x_q_num_blocks,
// CHECK: const int* __restrict__ x_full_q_indices,
// CHECK: const int key_block = fg::floordiv({{.*}}, 64);
// CHECK: const int partial_tiles =
// CHECK: const int listed_tiles =
// CHECK: const int partial_tiles_1 =
// CHECK: const int listed_tiles_1 =
// CHECK: for (int
// CHECK: __ldg(x_q_indices
// CHECK: __ldg(x_full_q_indices
// The atomic form among the ranked: its convert kernel takes no list.
// CHECK-LABEL: // === kernel @sparse_backward_v{{[0-9]}}_convert
// CHECK-NOT: x_q_num_blocks
// CHECK: dq_accum

// DET-LABEL: // === kernel @sparse_backward_v0_kv
// DET: const int* __restrict__ x_q_num_blocks,
// DET-LABEL: // === kernel @sparse_backward_v0_dq
// DET-NOT: x_q_num_blocks
// DET: const int* __restrict__ x_kv_num_blocks,
// DET: const int* __restrict__ x_full_kv_indices,
// DET: const int query_block = fg::floordiv({{.*}}, 128);
