//===- InlineRegion.h - the user's scalar regions cloned into kernels -*- C++ -*-===//
//
// What the kernel builders of every family do with the regions a user
// wrote on a flash op (score_mod, mask_mod, score_grad, output_mod,
// feature_map): clone
// the ops into a kernel op's per-element region, hoist what depends only
// on the CTA (a per-head slope, an extra's address) out of the tile loops,
// and turn the region's extra arguments into flash.extra values, which the
// emitter prints as kernel parameters.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_INLINEREGION_H
#define FLASHGEN_PASSES_INLINEREGION_H

#include "dialect/FlashDialect.h"
#include "passes/ScoreScaling.h"

#include "mlir/IR/Builders.h"

namespace mlir::flash {

/// The flash.extra value of one extra operand, with the flash.dim values of
/// its dynamic sizes, at b's insertion point.
Value extraOperandValue(OpBuilder &b, Location loc, const ExtraOperand &extra);

/// The flash.extra values of `op`'s extra operands (a flash.attention,
/// flash.attention_grad or flash.linear_attention; none for others), built
/// at b's insertion point with the flash.dim values of their dynamic sizes.
SmallVector<Value> extraOperandValues(OpBuilder &b, Location loc, Operation *op);

/// Clones the single block of `region` (a score_mod, mask_mod, score_grad,
/// output_mod or feature_map) at b's insertion point with its arguments replaced by
/// `args`; only ops that depend on an argument whose `argIsPerElement` is
/// set go there, the others before `hoistBefore`. `scaling`'s ops are left
/// out (ScoreScaling.h). Block arguments past `args` are the op's extras
/// (extraOperandValues, built before `hoistBefore`). Returns the value the
/// region yields.
Value inlineScalarRegion(OpBuilder &b, Region &region, ArrayRef<Value> args,
                         ArrayRef<bool> argIsPerElement,
                         const ScoreScaling &scaling, Operation *hoistBefore);

/// An op's per-element region (`src`: (x: f32, b, h, row, d: index,
/// extras...) -> f32: an output_mod, a recurrence's feature_map) cloned
/// into the empty region `dest` of the kernel op that applies it (the
/// outputs' store, the feature map of a staged tile), with the block
/// arguments (x, b, h, row, d) whose b and h the CTA's `batch` and `head`
/// replace; its per-CTA ops (an extra's address, a per-head constant) go
/// before `hoistBefore`.
void buildElementRegion(OpBuilder &b, Location loc, Region &src, Region &dest,
                          Value batch, Value head, Operation *hoistBefore);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_INLINEREGION_H
