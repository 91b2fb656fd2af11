//===- core.cuh - flashgen device library: types and PTX ------------------===//
//
// The bottom layer every other group builds on:
//   config.cuh     macros, arch detection, the no-host guard
//   types.cuh      int types, bf16/f16 storage types, type facts
//   ptx.cuh        every inline-PTX instruction wrapper (fg::ptx)
//   convert.cuh    f32 <-> 16-bit, pack2
//   math.cuh       scalar helpers for inlined mod/mask/gate code
//   index_math.cuh floordiv / ceildiv as arith's signed ops round
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CORE_CUH
#define FLASHGEN_DEVICE_CORE_CUH

#include "flashgen/device/core/config.cuh"
#include "flashgen/device/core/types.cuh"
#include "flashgen/device/core/ptx.cuh"
#include "flashgen/device/core/convert.cuh"
#include "flashgen/device/core/math.cuh"
#include "flashgen/device/core/index_math.cuh"

#endif  // FLASHGEN_DEVICE_CORE_CUH
