//===- ScoreModDerivative.h - d score_mod / d score, as a region -*- C++ -*-===//
//
// flash.attention_grad needs the derivative of the user's score_mod with
// respect to the score. It is built here as a region of the same shape
// (s: f32, b, h, i, j: index) -> f32 by forward-mode differentiation of the
// region's arith/math ops, so the backward kernels fuse it like score_mod.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_SCOREMODDERIVATIVE_H
#define FLASHGEN_PASSES_SCOREMODDERIVATIVE_H

#include "mlir/IR/Region.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::flash {

/// Builds into the empty region `derivative` the derivative of `scoreMod`
/// (one block (s, b, h, i, j) ending in flash.yield f32, as the
/// flash.attention verifier accepts) with respect to s: a block with the
/// same arguments that yields d score_mod / d s. Tangents that are
/// constant zero are never built, constant factors are folded, and primal
/// ops the derivative does not use are dropped, so the identity gives the
/// constant 1.0. An op that depends on s and has no derivative rule is an
/// error at that op's location; `derivative` is then left empty.
LogicalResult buildScoreModDerivative(Region &scoreMod, Region &derivative);

/// The ops that may depend on the score (everything else may appear only
/// in score-independent computations, e.g. on indices).
llvm::ArrayRef<llvm::StringLiteral> getDifferentiableScoreOpNames();

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_SCOREMODDERIVATIVE_H
