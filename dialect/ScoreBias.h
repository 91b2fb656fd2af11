//===- ScoreBias.h - a score_mod's bias linear in the positions -*- C++ -*-===//
//
// ALiBi and its relatives add to the score a bias F * float(a*i + b*j + c),
// F computed without the score or the positions (a head's slope). The
// emitter prints such a region as one FFMA per score element and hands the
// rest to the softmax (codegen/attention/PositionBias.h); the cost model
// counts that FFMA instead of the region's ops (passes/OpProblems.cpp). One
// match serves both: the op's score_mod (terminator flash.yield) and a
// kernel's flash.score_map (flash.score_yield) share the block arguments
// (score, batch, head, i, j).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_SCOREBIAS_H
#define FLASHGEN_DIALECT_SCOREBIAS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/Region.h"

#include "llvm/ADT/ArrayRef.h"

#include <optional>
#include <utility>

namespace mlir::flash {

/// Whether `value` is computed from any of `roots` (or is one).
bool dependsOnAny(Value value, llvm::ArrayRef<Value> roots);

/// (a, b) when the integer `value` is a*row + b*col + (something computed
/// without them), row and col a region's positions i and j; nothing when
/// it depends on them otherwise.
std::optional<std::pair<int64_t, int64_t>>
positionCoefficients(Value value, Value row, Value col);

/// A region that yields score + factor * float(a*i + b*j + c).
struct ScoreBias {
  arith::AddFOp sum;          ///< the yielded score + bias
  arith::MulFOp product;      ///< factor * conversion
  Value factor;               ///< F: computed without the score or positions
  arith::SIToFPOp conversion; ///< float(a*i + b*j + c)
  std::pair<int64_t, int64_t> coefficients; ///< (a, b), not both 0
};

/// The bias of the per-element region `body` (arguments score, batch,
/// head, i, j) whose terminator yields `yielded`, when the region adds one
/// to the score and reads the score nowhere else; nothing otherwise.
std::optional<ScoreBias> matchScoreBias(Block &body, Value yielded);
/// The same for an op's score_mod region (terminator flash.yield).
std::optional<ScoreBias> matchScoreBias(Region &scoreMod);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_SCOREBIAS_H
