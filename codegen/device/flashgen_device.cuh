//===- flashgen_device.cuh - flashgen device library: umbrella -----------===//
//
// The one header an emitted attention kernel includes. The library is
// grouped by role, one folder and one umbrella header each, bottom up:
//   core/        types, PTX wrappers, conversions, scalar and index math
//   memory/      swizzled shared tiles, cp.async tile copies
//   matmul/      register tiles, mma.sync and (sm_90a) wgmma products
//   attention/   online softmax, epilogues, the warp-specialized flash3 pipe
//   recurrence/  gates and chunk operations of the chunkwise recurrences
//                (included by recurrence kernels themselves)
// Each header names its own contents; kernel-family groups build only on
// the primitive groups below them.
// docs/emitter-target.md describes the kernel shape that uses them.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CUH
#define FLASHGEN_DEVICE_CUH

#include "flashgen/device/core/core.cuh"
#include "flashgen/device/memory/memory.cuh"
#include "flashgen/device/matmul/matmul.cuh"
#include "flashgen/device/attention/attention.cuh"
// gate.cuh has been part of the umbrella since the first recurrences.
#include "flashgen/device/recurrence/gate.cuh"

/// Version of the device library; part of the runtime's cubin cache key.
#define FLASHGEN_DEVICE_VERSION 1

#endif  // FLASHGEN_DEVICE_CUH
