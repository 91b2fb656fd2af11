//===- MaskModBounds.cpp - key ranges a mask_mod proves -------------------===//

#include "passes/MaskModBounds.h"

#include "passes/IndexBuilder.h"
#include "passes/InlineRegion.h"

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

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

/// The predicate of `b OP a` for `a OP b`.
arith::CmpIPredicate swapped(arith::CmpIPredicate p) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::slt: return P::sgt;
  case P::sle: return P::sge;
  case P::sgt: return P::slt;
  case P::sge: return P::sle;
  case P::ult: return P::ugt;
  case P::ule: return P::uge;
  case P::ugt: return P::ult;
  case P::uge: return P::ule;
  default: return p; // eq, ne
  }
}

/// Reads bounds on j off one mask_mod block and builds them in the kernel.
class KeyBoundBuilder {
public:
  KeyBoundBuilder(OpBuilder &b, Location loc, Block &block)
      : b(b), loc(loc), row(block.getArgument(2)), key(block.getArgument(3)) {}

  IRMapping mapping;

  /// What `cond` says about j. Above: nothing (Unknown), nothing ever hides
  /// it (Always: the constant true), or cond => j < value (Bounded). Below:
  /// j < keep => cond (keep null where nothing is known; keepAll for the
  /// constant true).
  struct Knowledge {
    enum Kind { Unknown, Always, Bounded } kind = Unknown;
    Value value;
    Value keep;
    bool keepAll = false;
  };

  Knowledge bound(Value cond) {
    Operation *def = cond.getDefiningOp();
    if (!def)
      return {};
    IndexBuilder ib{b, loc};
    if (auto constant = dyn_cast<arith::ConstantIntOp>(def)) {
      if (constant.value())
        return {Knowledge::Always, Value(), Value(), true};
      Value zero = ib.c(0);
      return {Knowledge::Bounded, zero, zero};
    }
    if (isa<arith::AndIOp, arith::OrIOp>(def)) {
      Knowledge lhs = bound(def->getOperand(0)), rhs = bound(def->getOperand(1));
      bool conjunction = isa<arith::AndIOp>(def);
      Knowledge both;
      // Above: a conjunction is bounded by either side, a disjunction by
      // both (by the larger bound).
      if (lhs.kind == Knowledge::Always || rhs.kind == Knowledge::Always) {
        const Knowledge &other = lhs.kind == Knowledge::Always ? rhs : lhs;
        both.kind = conjunction ? other.kind : Knowledge::Always;
        both.value = conjunction ? other.value : Value();
      } else if (lhs.kind == Knowledge::Bounded && rhs.kind == Knowledge::Bounded) {
        both.kind = Knowledge::Bounded;
        both.value = conjunction ? ib.min(lhs.value, rhs.value)
                                 : ib.max(lhs.value, rhs.value);
      } else if (conjunction && (lhs.kind == Knowledge::Bounded ||
                                 rhs.kind == Knowledge::Bounded)) {
        both = lhs.kind == Knowledge::Bounded ? lhs : rhs;
      }
      // Below: a disjunction keeps what either side keeps, a conjunction
      // what both keep (the smaller keep).
      both.keep = Value();
      both.keepAll = false;
      if (conjunction ? (lhs.keepAll && rhs.keepAll) : (lhs.keepAll || rhs.keepAll)) {
        both.keepAll = true;
      } else if (conjunction && (lhs.keepAll || rhs.keepAll)) {
        both.keep = lhs.keepAll ? rhs.keep : lhs.keep;
      } else if (lhs.keep && rhs.keep) {
        // Two exact bounds combine into the bound just built.
        bool exact = lhs.keep == lhs.value && rhs.keep == rhs.value &&
                     both.kind == Knowledge::Bounded;
        both.keep = exact ? both.value
                          : conjunction ? ib.min(lhs.keep, rhs.keep)
                                        : ib.max(lhs.keep, rhs.keep);
      } else if (!conjunction) {
        both.keep = lhs.keep ? lhs.keep : rhs.keep;
      }
      return both;
    }
    auto cmp = dyn_cast<arith::CmpIOp>(def);
    if (!cmp)
      return {};
    using P = arith::CmpIPredicate;
    // As j OP X: with j on the right, the comparison read the other way.
    P p = cmp.getPredicate();
    Value other = cmp.getRhs();
    if (!isKey(cmp.getLhs())) {
      if (!isKey(cmp.getRhs()))
        return {};
      other = cmp.getLhs();
      p = swapped(p);
    }
    bool inclusive; // j <= X rather than j < X
    if (p == P::slt || p == P::ult)
      inclusive = false;
    else if (p == P::sle || p == P::ule || p == P::eq)
      inclusive = true;
    else
      return {};
    if (dependsOnKey(other) || trend(other) == Trend::Unknown)
      return {};
    // A negative X read as unsigned is above every key: an unsigned
    // comparison bounds j only where X cannot be negative.
    bool isUnsigned = p == P::ult || p == P::ule || p == P::ugt || p == P::uge;
    if (isUnsigned && !nonNegative(other))
      return {};
    Value x = cloned(other);
    if (!x.getType().isIndex())
      x = arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
    if (inclusive)
      x = ib.add(x, ib.c(1));
    // j == X keeps one key, not every key below X + 1.
    return {Knowledge::Bounded, x, p == P::eq ? Value() : x};
  }

private:
  OpBuilder &b;
  Location loc;
  Value row, key;

  /// A cast that keeps every key and row: to index or at least 32 bits
  /// (sizes are below 2^31); a narrower one wraps.
  static bool isWideCast(Operation *def) {
    if (!isa<arith::IndexCastOp, arith::ExtSIOp, arith::ExtUIOp>(def))
      return false;
    Type type = def->getResult(0).getType();
    return type.isIndex() || type.getIntOrFloatBitWidth() >= 32;
  }

  /// j itself, or j converted to another wide integer type.
  bool isKey(Value v) {
    if (v == key)
      return true;
    Operation *def = v.getDefiningOp();
    return def && isWideCast(def) && isKey(def->getOperand(0));
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
    if (isWideCast(def) && !isa<arith::ExtUIOp>(def))
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
    if (isWideCast(def) && !isa<arith::ExtUIOp>(def))
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

MaskModKeyBound mlir::flash::buildMaskModKeyBound(OpBuilder &b, Location loc,
                                                  Region &maskMod, Value batch,
                                                  Value head, Value row) {
  if (maskMod.empty())
    return {};
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
  auto known = builder.bound(yield.getValue());
  MaskModKeyBound result;
  if (known.kind == decltype(known)::Bounded)
    result.bound = known.value;
  // (A region that keeps every key proves no position to name here.)
  result.keep = known.keep;
  return result;
}
