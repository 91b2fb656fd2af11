//===- attention.cuh - flashgen device library: attention pieces ---------===//
//
// What the attention kernels (family "attention") call beyond the
// primitives:
//   softmax.cuh    online softmax state, update, finalize
//   epilogue.cuh   output stores with row bounds
//   rotary.cuh     rotary position embedding of q and k tiles on chip
//   tile_lists.cuh a mask_lists pre-pass: a query tile's key tiles listed
//                  by class (partial, whole)
//   backward.cuh   the gradient kernels' row statistics and score gradients
//   decode.cuh     flash_decode: packed GQA rows, split partial rows, merge
//   wgmma_pipe.cuh sm_90a only: producer / consumer warpgroups through
//                  mbarriers, ping-pong turns (warp-specialized flash3)
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_ATTENTION_CUH
#define FLASHGEN_DEVICE_ATTENTION_CUH

#include "flashgen/device/attention/softmax.cuh"
#include "flashgen/device/attention/epilogue.cuh"
#include "flashgen/device/attention/rotary.cuh"
#include "flashgen/device/attention/tile_lists.cuh"
#include "flashgen/device/attention/backward.cuh"
#include "flashgen/device/attention/wgmma_pipe.cuh"
#include "flashgen/device/attention/decode.cuh"

#endif  // FLASHGEN_DEVICE_ATTENTION_CUH
