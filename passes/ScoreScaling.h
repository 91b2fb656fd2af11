//===- ScoreScaling.h - constant factors peeled off a score_mod -*- C++ -*-===//
//
// A score_mod that starts by multiplying the score by a constant (softcap's
// s / cap) or ends by one (softcap's cap * tanh(...)) pays one FMUL per
// score element for each, on the instruction issue slots the softmax
// competes for. Neither needs to run per element: the leading factor folds
// into the scale the kernel applies to q k^T anyway, and a positive trailing
// factor into the softmax's exp2 scale (the max, the sums and the
// log-sum-exp all scale with it). flash-lower-kernels leaves both ops out of
// the inlined region and records the factors in the kernel's problem
// (`score_scale`, `softmax_scale`); the emitter prints those constants.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_PASSES_SCORESCALING_H
#define FLASHGEN_PASSES_SCORESCALING_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Region.h"

namespace mlir::flash {

struct ScoreScaling {
  /// The region's first op on the score: s * lead (or s / (1 / lead)), or
  /// null when it does not start so.
  Operation *leadOp = nullptr;
  double lead = 1.0;
  /// The op whose result the region yields: t * trail with trail > 0, or
  /// null. Never the same op as leadOp.
  Operation *trailOp = nullptr;
  double trail = 1.0;
  /// trailOp's operand that is not the constant (what the region yields
  /// once trailOp is left out).
  Value trailInput;
};

/// The factors of `scoreMod` (a score_mod region: (s, b, h, i, j) ->
/// flash.yield f32). An empty region has none.
ScoreScaling analyzeScoreScaling(Region &scoreMod);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_SCORESCALING_H
