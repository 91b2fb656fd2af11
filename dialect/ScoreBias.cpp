//===- ScoreBias.cpp - a score_mod's bias linear in the positions ---------===//

#include "dialect/ScoreBias.h"

#include "dialect/FlashDialect.h"

#include "mlir/IR/Matchers.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::flash;

bool mlir::flash::dependsOnAny(Value value, ArrayRef<Value> roots) {
  llvm::SmallPtrSet<Operation *, 16> seen;
  llvm::SmallVector<Value> work{value};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (llvm::is_contained(roots, v))
      return true;
    if (Operation *d = v.getDefiningOp(); d && seen.insert(d).second)
      work.append(d->operand_begin(), d->operand_end());
  }
  return false;
}

std::optional<std::pair<int64_t, int64_t>>
mlir::flash::positionCoefficients(Value value, Value row, Value col) {
  using Coefficients = std::pair<int64_t, int64_t>;
  if (value == row)
    return Coefficients{1, 0};
  if (value == col)
    return Coefficients{0, 1};
  Operation *def = value.getDefiningOp();
  if (!def) // another block argument: batch, head
    return Coefficients{0, 0};
  // Anything computed without the positions is a constant term.
  if (!dependsOnAny(value, {row, col}))
    return Coefficients{0, 0};
  auto of = [&](unsigned i) { return positionCoefficients(def->getOperand(i), row, col); };
  if (isa<arith::IndexCastOp, arith::ExtSIOp>(def))
    return of(0);
  if (isa<arith::AddIOp, arith::SubIOp>(def)) {
    auto a = of(0), b = of(1);
    if (!a || !b)
      return std::nullopt;
    int64_t sign = isa<arith::SubIOp>(def) ? -1 : 1;
    return Coefficients{a->first + sign * b->first, a->second + sign * b->second};
  }
  if (isa<arith::MulIOp>(def))
    for (unsigned k = 0; k < 2; ++k) {
      llvm::APInt c; // an integer or index constant factor
      if (!matchPattern(def->getOperand(1 - k), m_ConstantInt(&c)))
        continue;
      auto a = of(k);
      if (!a)
        return std::nullopt;
      int64_t f = c.getSExtValue();
      return Coefficients{a->first * f, a->second * f};
    }
  return std::nullopt;
}

std::optional<ScoreBias> mlir::flash::matchScoreBias(Block &body, Value yielded) {
  Value score = body.getArgument(0), row = body.getArgument(3),
        col = body.getArgument(4);
  auto sum = yielded.getDefiningOp<arith::AddFOp>();
  // The score is read by the sum alone: it may hold q k^T unscaled there.
  if (!sum || !sum->hasOneUse() || !score.hasOneUse() ||
      !llvm::is_contained(sum->getOperands(), score))
    return std::nullopt;
  Value bias = sum.getLhs() == score ? sum.getRhs() : sum.getLhs();
  auto product = bias.getDefiningOp<arith::MulFOp>();
  if (!product || !product->hasOneUse() || !product.getType().isF32())
    return std::nullopt;
  for (unsigned k = 0; k < 2; ++k) {
    auto conversion = product->getOperand(k).getDefiningOp<arith::SIToFPOp>();
    Value factor = product->getOperand(1 - k);
    if (!conversion || !conversion->hasOneUse() ||
        dependsOnAny(factor, {score, row, col}))
      continue;
    auto coefficients = positionCoefficients(conversion.getIn(), row, col);
    if (!coefficients || *coefficients == std::make_pair(int64_t(0), int64_t(0)))
      continue;
    return ScoreBias{sum, product, factor, conversion, *coefficients};
  }
  return std::nullopt;
}

std::optional<ScoreBias> mlir::flash::matchScoreBias(Region &scoreMod) {
  Block &body = scoreMod.front();
  return matchScoreBias(body, cast<YieldOp>(body.getTerminator()).getValue());
}
