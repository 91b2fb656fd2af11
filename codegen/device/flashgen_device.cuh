//===- flashgen_device.cuh - flashgen device library: umbrella -----------===//
//
// The one header an emitted kernel includes. Layers, bottom up:
//   config.cuh     macros, arch detection, the no-host guard
//   types.cuh      int types, bf16/f16 storage types, type facts
//   ptx.cuh        every inline-PTX instruction wrapper (fg::ptx)
//   convert.cuh    f32 <-> 16-bit, pack2
//   math.cuh       scalar helpers for inlined mod/mask/gate code
//   index_math.cuh floordiv / ceildiv as arith's signed ops round
//   smem_tile.cuh  swizzled shared tiles, stage rings
//   copy.cuh       cp.async tile loads with zero-filled boundary rows (fg::cta)
//   fragment.cuh   warp register tiles, element (row, col) layout, for_each
//   mma.cuh        warp tile GEMMs on mma.sync m16n8k16 (fg::warp)
//   softmax.cuh    online softmax state, update, finalize
//   epilogue.cuh   output stores with row bounds
//   gate.cuh       gate vectors for chunkwise recurrences
//   wgmma_ptx.cuh  sm_90a only: wgmma.mma_async, its fences and waits (fg::ptx)
//   wgmma.cuh      sm_90a only: wgmma-swizzled tiles, descriptors, warpgroup
//                  GEMMs and epilogue (fg::wg), for algorithm "flash3"
//   wgmma_pipe.cuh sm_90a only: producer / consumer warpgroups through
//                  mbarriers, ping-pong turns (warp-specialized flash3)
// docs/emitter-target.md describes the kernel shape that uses them.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CUH
#define FLASHGEN_DEVICE_CUH

#include "flashgen/device/config.cuh"
#include "flashgen/device/types.cuh"
#include "flashgen/device/ptx.cuh"
#include "flashgen/device/convert.cuh"
#include "flashgen/device/math.cuh"
#include "flashgen/device/index_math.cuh"
#include "flashgen/device/smem_tile.cuh"
#include "flashgen/device/copy.cuh"
#include "flashgen/device/fragment.cuh"
#include "flashgen/device/mma.cuh"
#include "flashgen/device/softmax.cuh"
#include "flashgen/device/epilogue.cuh"
#include "flashgen/device/gate.cuh"
// Empty unless the pass is sm_90a (or the host emulator models wgmma).
#include "flashgen/device/wgmma.cuh"
#include "flashgen/device/wgmma_pipe.cuh"

/// Version of the device library; part of the runtime's cubin cache key.
#define FLASHGEN_DEVICE_VERSION 1

#endif  // FLASHGEN_DEVICE_CUH
