//===- GradTmaCopies.h - the gradient kv kernel's ring on TMA ---*- C++ -*-===//
//
// Part of flash-warp-specialize (it owns how each kernel copies): the
// warpgroup kernels of the attention backward (flash3_grad,
// flash3_grad_deterministic) stream two tiles per ring round, a query
// tile of Q and dO (kv kernel) or a key tile of K and V (the
// deterministic dq kernel). With TMA, one thread asks the copy engine for
// both instead of every thread issuing cp.async copies and their address
// arithmetic, which took about 13% of the kv kernel's time on an H100
// (removing the loop's copies: docs/results/attention-backward-anatomy-h100.json).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_GRADTMACOPIES_H
#define FLASHGEN_PASSES_GRADTMACOPIES_H

#include "dialect/FlashDialect.h"

namespace mlir::flash {

/// Whether markGradTmaCopies rewrites `kernel`'s ring: an
/// attention_grad_kv or attention_grad_dq kernel of a warpgroup algorithm,
/// not reading rotated copies of q and k (scratch buffers the runtime maps
/// no tensor for), whose loops count the ring's rounds from 0 (slot =
/// round % stages).
bool gradRingTakesTma(KernelOp kernel);

/// Marks the ring's loads `tma` and waits for each round's tiles
/// (flash.tile_landed, before the step's first product) in a kernel
/// gradRingTakesTma accepts; K and V of the kv kernel, Q and dO of the dq
/// kernel (loaded once) and the lse and D rows stay on cp.async.
void markGradTmaCopies(KernelOp kernel);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_GRADTMACOPIES_H
