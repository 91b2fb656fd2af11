//===- matmul.cuh - flashgen device library: tensor-core products ---------===//
//
// Register tiles and the tensor-core products on them:
//   fragment.cuh   warp register tiles, element (row, col) layout, for_each
//   mma.cuh        warp tile GEMMs on mma.sync m16n8k16 (fg::warp)
//   wgmma_ptx.cuh  sm_90a only: wgmma.mma_async, its fences and waits (fg::ptx)
//   wgmma.cuh      sm_90a only: wgmma-swizzled tiles, descriptors, warpgroup
//                  GEMMs and epilogue (fg::wg)
// The sm_90a headers are empty unless the pass is sm_90a (or the host
// emulator models wgmma).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_MATMUL_CUH
#define FLASHGEN_DEVICE_MATMUL_CUH

#include "flashgen/device/matmul/fragment.cuh"
#include "flashgen/device/matmul/mma.cuh"
#include "flashgen/device/matmul/wgmma.cuh"

#endif  // FLASHGEN_DEVICE_MATMUL_CUH
