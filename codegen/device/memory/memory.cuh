//===- memory.cuh - flashgen device library: shared tiles and copies ------===//
//
// Shared memory and the copies into it:
//   smem_tile.cuh  swizzled shared tiles, stage rings
//   copy.cuh       cp.async tile loads with zero-filled boundary rows (fg::cta)
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_MEMORY_CUH
#define FLASHGEN_DEVICE_MEMORY_CUH

#include "flashgen/device/memory/smem_tile.cuh"
#include "flashgen/device/memory/copy.cuh"

#endif  // FLASHGEN_DEVICE_MEMORY_CUH
