//===- memory.cuh - flashgen device library: shared tiles and copies ------===//
//
// Shared memory and the copies into it:
//   smem_tile.cuh  swizzled shared tiles, stage rings
//   copy.cuh       cp.async tile loads with zero-filled boundary rows (fg::cta)
//   paged.cuh      the same copies from page pools through a page table (fg::paged)
//   tma.cuh        sm_90a bulk tensor copies (TMA) and the tensor-map parameter
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_MEMORY_CUH
#define FLASHGEN_DEVICE_MEMORY_CUH

#include "flashgen/device/memory/smem_tile.cuh"
#include "flashgen/device/memory/copy.cuh"
#include "flashgen/device/memory/paged.cuh"
#include "flashgen/device/memory/tma.cuh"

#endif  // FLASHGEN_DEVICE_MEMORY_CUH
