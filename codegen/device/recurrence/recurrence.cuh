//===- recurrence.cuh - flashgen device library: chunkwise pieces -------===//
//
// What the chunkwise recurrence kernels (families "linear_fused",
// "linear_states", "linear_outputs") call beyond the primitives:
//   gate.cuh        gate vectors for chunkwise recurrences
//   chunk_io.cuh    chunk tile loads, state loads and stores
//   chunk_gates.cuh log-space chunk gates (TwoSum cumulative sums)
//   chunk_mma.cuh   the chunk GEMMs: inter-chunk term, state update
//   chunk_intra.cuh intra-chunk score tiles and their accumulation
//   chunk_delta.cuh the delta rule's chunk values (WY solve), l2norm rows
// Not in flashgen_device.cuh: a recurrence kernel includes this umbrella
// (or the headers it needs) itself.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_RECURRENCE_CUH
#define FLASHGEN_DEVICE_RECURRENCE_CUH

#include "flashgen/device/recurrence/gate.cuh"
#include "flashgen/device/recurrence/chunk_io.cuh"
#include "flashgen/device/recurrence/chunk_gates.cuh"
#include "flashgen/device/recurrence/chunk_mma.cuh"
#include "flashgen/device/recurrence/chunk_intra.cuh"
#include "flashgen/device/recurrence/chunk_delta.cuh"
#include "flashgen/device/recurrence/chunk_grad.cuh"

#endif  // FLASHGEN_DEVICE_RECURRENCE_CUH
