//===- MaskModBounds.cpp - key ranges a mask_mod proves -------------------===//

#include "passes/MaskModBounds.h"

#include "passes/IndexBuilder.h"
#include "passes/LowerAttention.h"

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <optional>

using namespace mlir;
using namespace mlir::flash;

namespace {

/// How a value moves as the query row i grows (b, h and the extras fixed).
enum class Trend { Constant, Rising, Unknown };

Trend combine(Trend a, Trend b) {
  if (a == Trend::Unknown || b == Trend::Unknown)
    return Trend::Unknown;
  return a == Trend::Rising || b == Trend::Rising ? Trend::Rising
                                                  : Trend::Constant;
}

/// Reads bounds on j off one mask_mod block and builds them in the kernel.
class KeyBoundBuilder {
public:
  KeyBoundBuilder(OpBuilder &b, Location loc, Block &block)
      : b(b), loc(loc), row(block.getArgument(2)), key(block.getArgument(3)) {}

  IRMapping mapping;

  /// An exclusive bound on j where `cond` holds, or nothing.
  std::optional<Value> bound(Value cond) {
    Operation *def = cond.getDefiningOp();
    if (!def)
      return std::nullopt;
    IndexBuilder ib{b, loc};
    if (auto constant = dyn_cast<arith::ConstantIntOp>(def))
      return constant.value() ? std::nullopt : std::optional<Value>(ib.c(0));
    if (isa<arith::AndIOp, arith::OrIOp>(def)) {
      std::optional<Value> lhs = bound(def->getOperand(0)),
                           rhs = bound(def->getOperand(1));
      if (isa<arith::AndIOp>(def)) // either side bounds the conjunction
        return lhs && rhs ? std::optional<Value>(ib.min(*lhs, *rhs))
                          : (lhs ? lhs : rhs);
      if (lhs && rhs)
        return ib.max(*lhs, *rhs);
      return std::nullopt;
    }
    auto cmp = dyn_cast<arith::CmpIOp>(def);
    if (!cmp)
      return std::nullopt;
    using P = arith::CmpIPredicate;
    P p = cmp.getPredicate();
    Value other;
    bool inclusive; // j <= X rather than j < X
    if (isKey(cmp.getLhs())) {
      other = cmp.getRhs();
      if (p == P::slt || p == P::ult)
        inclusive = false;
      else if (p == P::sle || p == P::ule || p == P::eq)
        inclusive = true;
      else
        return std::nullopt;
    } else if (isKey(cmp.getRhs())) {
      other = cmp.getLhs();
      if (p == P::sgt || p == P::ugt)
        inclusive = false;
      else if (p == P::sge || p == P::uge || p == P::eq)
        inclusive = true;
      else
        return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (dependsOnKey(other) || trend(other) == Trend::Unknown)
      return std::nullopt;
    // A negative X read as unsigned is above every key: an unsigned
    // comparison bounds j only where X cannot be negative.
    bool isUnsigned = p == P::ult || p == P::ule || p == P::ugt || p == P::uge;
    if (isUnsigned && !nonNegative(other))
      return std::nullopt;
    Value x = cloned(other);
    if (!x.getType().isIndex())
      x = arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
    if (inclusive)
      x = ib.add(x, ib.c(1));
    return x;
  }

private:
  OpBuilder &b;
  Location loc;
  Value row, key;

  /// j itself, or j converted to another integer type.
  bool isKey(Value v) {
    if (v == key)
      return true;
    Operation *def = v.getDefiningOp();
    return def && isa<arith::IndexCastOp, arith::ExtSIOp, arith::ExtUIOp>(def) &&
           isKey(def->getOperand(0));
  }

  /// Provably >= 0: the row, non-negative constants, and sums, products
  /// and maxima of such values.
  bool nonNegative(Value v) {
    if (v == row)
      return true;
    Operation *def = v.getDefiningOp();
    if (!def)
      return false;
    llvm::APInt c;
    if (matchPattern(v, m_ConstantInt(&c)))
      return !c.isNegative();
    if (isa<arith::IndexCastOp, arith::ExtSIOp>(def))
      return nonNegative(def->getOperand(0));
    if (isa<arith::AddIOp, arith::MulIOp, arith::MinSIOp>(def))
      return nonNegative(def->getOperand(0)) && nonNegative(def->getOperand(1));
    if (isa<arith::MaxSIOp>(def))
      return nonNegative(def->getOperand(0)) || nonNegative(def->getOperand(1));
    return false;
  }

  bool dependsOnKey(Value v) {
    if (v == key)
      return true;
    Operation *def = v.getDefiningOp();
    return def && llvm::any_of(def->getOperands(),
                               [&](Value operand) { return dependsOnKey(operand); });
  }

  Trend trend(Value v) {
    if (v == row)
      return Trend::Rising;
    Operation *def = v.getDefiningOp();
    if (!def)
      return Trend::Constant; // b, h, an extra
    auto of = [&](unsigned i) { return trend(def->getOperand(i)); };
    if (isa<arith::IndexCastOp, arith::ExtSIOp>(def))
      return of(0);
    if (isa<arith::AddIOp, arith::MaxSIOp, arith::MinSIOp>(def))
      return combine(of(0), of(1));
    if (isa<arith::SubIOp>(def))
      return of(1) == Trend::Constant ? of(0) : Trend::Unknown;
    if (isa<arith::MulIOp>(def))
      for (unsigned k = 0; k < 2; ++k) {
        llvm::APInt c;
        if (matchPattern(def->getOperand(1 - k), m_ConstantInt(&c)) &&
            !c.isNegative())
          return of(k);
      }
    // Anything else is taken only when it does not depend on the row.
    Trend all = Trend::Constant;
    for (unsigned k = 0; k < def->getNumOperands(); ++k)
      if (of(k) != Trend::Constant)
        all = Trend::Unknown;
    return all;
  }

  /// `v` rebuilt in the kernel: its defining ops cloned after their operands.
  Value cloned(Value v) {
    if (Value mapped = mapping.lookupOrNull(v))
      return mapped;
    Operation *def = v.getDefiningOp();
    for (Value operand : def->getOperands())
      cloned(operand);
    b.clone(*def, mapping);
    return mapping.lookup(v);
  }
};

} // namespace

Value mlir::flash::buildMaskModKeyBound(OpBuilder &b, Location loc,
                                        Region &maskMod, Value batch,
                                        Value head, Value row) {
  if (maskMod.empty())
    return Value();
  Block &block = maskMod.front();
  KeyBoundBuilder builder(b, loc, block);
  builder.mapping.map(block.getArgument(0), batch);
  builder.mapping.map(block.getArgument(1), head);
  builder.mapping.map(block.getArgument(2), row);
  if (block.getNumArguments() > 4) {
    SmallVector<Value> extras = extraOperandValues(b, loc, maskMod.getParentOp());
    for (auto [arg, value] : llvm::zip(block.getArguments().drop_front(4), extras))
      builder.mapping.map(arg, value);
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  std::optional<Value> bound = builder.bound(yield.getValue());
  return bound ? *bound : Value();
}
