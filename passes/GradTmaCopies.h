//===- GradTmaCopies.h - the gradient kv kernel's ring on TMA ---*- C++ -*-===//
//
// Part of flash-warp-specialize (it owns how each kernel copies): the
// warpgroup kv kernel of the attention backward (flash3_grad,
// flash3_grad_deterministic) streams a query tile of Q and dO per ring
// round. With TMA, one thread asks the copy engine for both tiles instead
// of every thread issuing cp.async copies and their address arithmetic,
// which took about 13% of the kernel's time on an H100 (removing the
// loop's copies: docs/results/attention-backward-anatomy-h100.json).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_GRADTMACOPIES_H
#define FLASHGEN_PASSES_GRADTMACOPIES_H

#include "dialect/FlashDialect.h"

namespace mlir::flash {

/// Whether `kernel` is a kv kernel whose ring markGradTmaCopies rewrites:
/// attention_grad_kv of a warpgroup algorithm, not reading rotated copies
/// of q (a scratch buffer the runtime maps no tensor for), and with its
/// ring loop counting rounds from 0 (slot = round % stages).
bool gradRingTakesTma(KernelOp kernel);

/// Marks the ring's q and dout loads `tma` and waits for each round's
/// tiles (flash.tile_landed, after the loop's flash.tile_wait) in a kernel
/// gradRingTakesTma accepts; the lse and D rows stay on cp.async.
void markGradTmaCopies(KernelOp kernel);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_GRADTMACOPIES_H
