//===- PositionBias.h - a score bias handed to the softmax ------*- C++ -*-===//
//
// ALiBi and its relatives add F * float(a*i + b*j + c) to the score, F the
// same for the whole tile (dialect/ScoreBias.h). Printed as the region says,
// every score element pays the region's add, the bias's product and the
// scaling of the score before it, on the issue slots the softmax competes
// for (ALiBi + causal ran 16-18% slower than plain causal on the H200).
//
// Inside a lane's fragment (fg::warp::for_each_at) the integer splits at
// the lane's first element: a*i + b*j + c = (that element's value) +
// (a*di + b*dj), the second a compile-time constant (ScalarPrinter's split
// conversions). F times the first part is one number per lane and key tile,
// the lane's bias: the online softmax adds it to the lane's row maxima
// before the quad reduces them and folds it into the exp2's per-row offset
// (fg::warp::online_softmax's lane_bias). Each element keeps one FFMA,
// x = fmaf(F', float(a*di + b*dj), x), in the units of q k^T: F' = F /
// score_scale, the score scale folded into the softmax's as for a kernel
// with no score_mod. The maxima, sums and log-sum-exp are those of the
// region's scores, so nothing downstream changes.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_ATTENTION_POSITIONBIAS_H
#define FLASHGEN_CODEGEN_ATTENTION_POSITIONBIAS_H

#include "dialect/FlashDialect.h"
#include "dialect/ScoreBias.h"

#include <optional>

namespace mlir::flash {

/// The bias of `map`'s region (dialect/ScoreBias.h), if it adds one.
std::optional<ScoreBias> matchPositionBias(ScoreMapOp map);

/// Whether every score map of `kernel` either yields its score unchanged
/// or adds a bias (at least one does), and each is followed directly by the
/// flash.softmax_update that takes its tile: the kernel's scores then stay
/// in the units of q k^T and each map with a bias hands its lane's bias to
/// that update.
bool usesPositionBias(KernelOp kernel);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_ATTENTION_POSITIONBIAS_H
