// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=4096,M=4096 top-k=1" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=LOWER
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=4096,M=4096 top-k=1" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=SPLIT
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=4096,M=4096 top-k=1" -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: flashgen-opt %s -flash-schedule="target=sm_80 dims=B=8,N=4096,M=4096 top-k=1" -flash-lower-kernels -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=FLASH2
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=4096 algorithm=flash_decode" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=DECODE
// RUN: not flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=4096,M=4096 algorithm=flash2_dsplit" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// RUN: not flashgen-opt %s -flash-derive-backward 2>&1 | FileCheck %s --check-prefix=BACKWARD
// Packed (varlen) sequences (flash.varlen_view, docs/semantics.md §2.9):
// each CTA reads its sequence's lengths and first rows from cu_seqlens
// (flash.sequence), a CTA past its sequence's query tiles exits
// (flash.exit_if; after the warp split, in each role past the register
// reallocation), the packed tensors are re-declared at the sequence and the
// TMA rows offset by its first row. flash_decode's split and merge kernels
// read the sequence's lengths the same way and exit past its packed rows;
// the small-cache kernels do not read packed sequences yet, and the
// scheduler says so; nor is there a backward.

func.func @packed(%qp: tensor<?x32x128xbf16>, %kp: tensor<?x8x128xbf16>,
                  %vp: tensor<?x8x128xbf16>, %cq: tensor<?xi32>, %ck: tensor<?xi32>)
    -> tensor<?x32x128xbf16> {
  %q = flash.varlen_view %qp[%cq] : tensor<?x32x128xbf16>, tensor<?xi32> -> tensor<?x32x?x128xbf16>
  %k = flash.varlen_view %kp[%ck] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.varlen_view %vp[%ck] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  %out = flash.varlen_pack %o[%cq] : tensor<?x32x?x128xbf16>, tensor<?xi32> -> tensor<?x32x128xbf16>
  return %out : tensor<?x32x128xbf16>
}

// LOWER-LABEL: flash.kernel @packed_v0 family attention schedule <algorithm = flash3
// LOWER: %[[IDS:.*]]:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["cdiv(N,128)", "32", "B"]
// LOWER: %[[N:.*]], %[[M:.*]] = flash.sequence[%[[IDS]]#2] queries "N" packed keys "M" packed
// LOWER-NOT: flash.dim "N"
// LOWER: %[[TILES:.*]] = arith.ceildivsi %[[N]]
// LOWER: %[[PAST:.*]] = arith.ori
// LOWER-NEXT: flash.exit_if %[[PAST]]
// LOWER: flash.tile_load q

// SPLIT-LABEL: flash.kernel @packed_v0
// SPLIT: %[[PAST:.*]] = arith.ori
// SPLIT-NOT: flash.exit_if
// SPLIT: flash.warp_specialize
// SPLIT-NEXT: flash.exit_if %[[PAST]]
// SPLIT: } consumers {
// SPLIT-NEXT: flash.exit_if %[[PAST]]
// SPLIT-NEXT: flash.turn_open

// CUDA-LABEL: flashgen_packed_v0(
// CUDA: const packed_v0_k::Elem* __restrict__ q_packed,
// CUDA-NEXT: long long q_packed_s0,
// CUDA-NEXT: long long q_packed_s1,
// CUDA-NEXT: long long q_packed_s2,
// CUDA: float* __restrict__ lse_packed,
// CUDA-NEXT: long long lse_packed_s0,
// CUDA-NEXT: long long lse_packed_s1,
// CUDA-NEXT: const int* __restrict__ cu_seqlens_q,
// CUDA-NEXT: long long cu_seqlens_q_s0,
// CUDA-NEXT: int dim_N_total,
// CUDA-NEXT: const int* __restrict__ cu_seqlens_k,
// CUDA-NEXT: long long cu_seqlens_k_s0,
// CUDA-NEXT: int dim_M_total,
// CUDA: const int [[Q0:v[0-9]+]] = fg::imin(fg::imax(cu_seqlens_q[(long long)(batch_id) * cu_seqlens_q_s0], 0), dim_N_total);
// CUDA-NEXT: const int {{v[0-9]+}} = fg::imin(fg::imax(cu_seqlens_q[(long long)(batch_id + 1) * cu_seqlens_q_s0], [[Q0]]), dim_N_total) - [[Q0]];
// CUDA-NEXT: const Elem* __restrict__ q = q_packed + (long long)([[Q0]]) * q_packed_s0;
// CUDA-NEXT: const long long q_s0 = 0, q_s1 = q_packed_s1, q_s2 = q_packed_s0, q_s3 = q_packed_s2;
// CUDA: float* __restrict__ lse = lse_packed == nullptr ? nullptr : lse_packed + (long long)([[Q0]]) * lse_packed_s1;
// CUDA: fg::wg::producer_registers<kProducerRegs>();
// CUDA: return;
// CUDA: fg::wg::produce_tma<fg::wg::ring::q>(pipe, sQs, 0, &tm_q, (query_tile) * 128 + [[Q0]], head_id, 0);
// CUDA: fg::wg::consumer_registers<kConsumerRegs>();
// CUDA: return;

// FLASH2-LABEL: flashgen_packed_v0(
// FLASH2: int dim_M_total,
// FLASH2: if ({{v[0-9]+}}) return;  // no rows of this sequence
// FLASH2: fg::cta::load_async<kThreads>(sQ, q + (long long)(batch_id) * q_s0

// DECODE-LABEL: flash.kernel @packed_v0 family attention schedule <algorithm = flash_decode
// DECODE: %[[IDS:.*]]:3 = flash.grid_map ["split_tile", "kv_head", "batch"]
// DECODE: %[[N:.*]], %{{.*}} = flash.sequence[%[[IDS]]#2] queries "N" packed keys "M" packed
// DECODE: %[[ROWS:.*]] = arith.muli %[[N]], %c4
// DECODE: %[[PAST:.*]] = arith.cmpi sle, %[[ROWS]]
// DECODE-NEXT: flash.exit_if %[[PAST]]
// DECODE: flash.split_store
// DECODE-LABEL: flash.kernel @packed_v0_merge family attention_combine
// DECODE: %[[MN:.*]], %{{.*}} = flash.sequence[%{{.*}}] queries "N" packed keys "M"{{$}}
// DECODE: flash.exit_if
// DECODE: flash.split_merge

// DSPLIT: flash2_dsplit does not read packed (varlen) sequences yet; flash2, flash3 and flash_decode do, each CTA addressing its sequence from cu_seqlens

// BACKWARD: flash-derive-backward: packed (varlen) sequences (flash.varlen_view) have no backward yet
