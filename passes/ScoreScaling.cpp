//===- ScoreScaling.cpp - constant factors peeled off a score_mod ---------===//
//
// See ScoreScaling.h. Only exact rewrites up to float rounding of the
// factors themselves: a multiply by a constant, or a division by one (taken
// as the reciprocal, which the emitter prints for divisions by constants
// anyway). Anything else leaves the region whole.
//
//===----------------------------------------------------------------------===//

#include "passes/ScoreScaling.h"

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The finite, nonzero f32 constant `value` holds, if any.
std::optional<double> constantFactor(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantFloatOp>();
  if (!constant)
    return std::nullopt;
  double c = constant.value().convertToDouble();
  if (!std::isfinite(c) || c == 0.0)
    return std::nullopt;
  return c;
}

/// When `op` multiplies `input` by a constant (input * c, c * input or
/// input / c): that factor.
std::optional<double> factorOn(Operation *op, Value input) {
  if (auto mul = dyn_cast<arith::MulFOp>(op)) {
    if (mul.getLhs() == input && mul.getRhs() != input)
      return constantFactor(mul.getRhs());
    if (mul.getRhs() == input)
      return constantFactor(mul.getLhs());
  }
  if (auto div = dyn_cast<arith::DivFOp>(op); div && div.getLhs() == input &&
                                                  div.getRhs() != input)
    if (std::optional<double> c = constantFactor(div.getRhs()))
      return 1.0 / *c;
  return std::nullopt;
}

} // namespace

ScoreScaling mlir::flash::analyzeScoreScaling(Region &scoreMod) {
  ScoreScaling scaling;
  if (scoreMod.empty())
    return scaling;
  Block &block = scoreMod.front();
  Value score = block.getArgument(0);
  if (score.hasOneUse()) {
    Operation *user = *score.getUsers().begin();
    if (std::optional<double> c = factorOn(user, score)) {
      scaling.leadOp = user;
      scaling.lead = *c;
    }
  }
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return scaling;
  Value result = yield.getValue();
  Operation *last = result.getDefiningOp();
  // Only a positive factor keeps the row max where it was (and the masked
  // -inf scores at -inf); the op must feed nothing but the yield.
  if (!last || last == scaling.leadOp || !result.hasOneUse() ||
      last->getBlock() != &block)
    return scaling;
  for (Value input : last->getOperands()) {
    std::optional<double> c = factorOn(last, input);
    if (c && *c > 0.0 && !input.getDefiningOp<arith::ConstantFloatOp>()) {
      scaling.trailOp = last;
      scaling.trail = *c;
      scaling.trailInput = input;
      break;
    }
  }
  return scaling;
}
