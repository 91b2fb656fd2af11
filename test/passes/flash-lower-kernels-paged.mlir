// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=32768" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=DECODE
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=32768" -flash-lower-kernels=target=h200 -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096,M=8192" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=PREFILL
// RUN: not flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096,M=8192 algorithm=flash3" 2>&1 | FileCheck %s --check-prefix=FLASH3
// A paged KV cache (flash.paged_view, docs/semantics.md §2.8): the kernels
// copy K and V tiles through the page table (flash.tile_load page_size),
// decoding with flash_decode and prefill with flash2; flash3's whole-tile
// copies cannot, and the scheduler says why.

func.func @paged(%q: tensor<?x32x?x128xbf16>, %kp: tensor<?x16x8x128xbf16>,
                 %vp: tensor<?x16x8x128xbf16>, %t: tensor<?x?xi32>)
    -> tensor<?x32x?x128xbf16> {
  %k = flash.paged_view %kp[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.paged_view %vp[%t] : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// DECODE-LABEL: flash.kernel @paged_v0 family attention schedule <algorithm = flash_decode
// DECODE: flash.tile_load q[{{.*}}] rows {{[0-9]+}} extent %{{.*}} group 4 stage
// DECODE: flash.tile_load k[{{.*}}] rows {{[0-9]+}} extent %{{.*}} page_size 16 stage
// DECODE: flash.tile_load v[{{.*}}] rows {{[0-9]+}} extent %{{.*}} page_size 16 stage
// DECODE-LABEL: flash.kernel @paged_v0_merge family attention_combine

// CUDA-LABEL: flashgen_paged_v0(
// CUDA: const int* __restrict__ page_table,
// CUDA-NEXT: long long page_table_s0,
// CUDA-NEXT: long long page_table_s1,
// CUDA-NEXT: int pool_pages,
// CUDA: fg::paged::load_async<kThreads, 16>(sK.stage(0), k + (long long)(kv_head_id) * k_s2, k_s0, k_s1, page_table + (long long)(batch_id) * page_table_s0, page_table_s1, pool_pages,

// PREFILL-LABEL: flash.kernel @paged_v0 family attention schedule <algorithm = flash2
// PREFILL-NOT: algorithm = flash3
// PREFILL: flash.tile_load k[{{.*}} page_size 16 stage

// FLASH3: flash3 copies whole key tiles from one address; a paged cache (pages of 16 keys) is read by flash2 and flash_decode, whose copies look up each row's page
