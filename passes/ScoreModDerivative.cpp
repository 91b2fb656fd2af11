//===- ScoreModDerivative.cpp - d score_mod / d score by forward mode -----===//
//
// Walks score_mod's ops in order, clones each one (the primal) and builds its
// tangent: d value / d s. A tangent is kept as `coeff * base` with `coeff` a
// double and `base` an SSA value (absent: 1), and a value without a tangent
// does not depend on s. Constant factors therefore multiply at build time
// instead of becoming ops: softcap's cap * tanh(s / cap) gives
// (1/cap) * (1 - t*t) * cap, folded to 1 - t*t, and ALiBi's s + bias gives
// the constant 1. Primal ops that only fed the primal result are erased at
// the end.
//
//===----------------------------------------------------------------------===//

#include "passes/ScoreModDerivative.h"

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <map>
#include <optional>

using namespace mlir;
using namespace mlir::flash;

static constexpr llvm::StringLiteral kDifferentiableOps[] = {
    "arith.constant", "arith.addf",    "arith.subf",     "arith.mulf",
    "arith.divf",     "arith.negf",    "arith.maximumf", "arith.minimumf",
    "arith.maxnumf",  "arith.minnumf", "arith.select",   "arith.cmpf",
    "arith.extf",     "arith.truncf",  "arith.fptosi",   "math.exp",
    "math.exp2",      "math.log",      "math.log2",      "math.tanh",
    "math.sqrt",      "math.rsqrt",    "math.absf",      "math.powf",
    "math.floor",     "math.ceil",
};

llvm::ArrayRef<llvm::StringLiteral> mlir::flash::getDifferentiableScoreOpNames() {
  return kDifferentiableOps;
}

namespace {

/// d value / d s = coeff * base (base absent: the constant coeff).
struct Tangent {
  Value base;
  double coeff = 1.0;
  bool operator==(const Tangent &other) const {
    return base == other.base && coeff == other.coeff;
  }
};
using MaybeTangent = std::optional<Tangent>;

/// Builds primal clones and tangent ops at the end of the derivative block.
class TangentBuilder {
public:
  TangentBuilder(OpBuilder &builder) : b(builder) {}

  /// A float constant, built once per type and value.
  Value constant(Location loc, Type type, double value) {
    auto key = std::make_pair(type.getAsOpaquePointer(), value);
    auto found = constants.find(key);
    if (found != constants.end())
      return found->second;
    Value c = arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
    constants.emplace(key, c);
    return c;
  }

  /// Lets `constant` reuse a primal clone of an arith.constant.
  void remember(Operation *clone) {
    auto c = dyn_cast<arith::ConstantOp>(clone);
    if (!c || !isa<FloatAttr>(c.getValue()))
      return;
    double value = cast<FloatAttr>(c.getValue()).getValueAsDouble();
    constants.try_emplace({c.getType().getAsOpaquePointer(), value}, c);
  }

  /// The constant `value` holds, if it is an arith.constant.
  static std::optional<double> constantOf(Value value) {
    FloatAttr attr;
    if (matchPattern(value, m_Constant(&attr)))
      return attr.getValueAsDouble();
    return std::nullopt;
  }

  /// The tangent as one value of `type` (the primal value's type).
  Value materialize(Location loc, Type type, const Tangent &t) {
    if (!t.base)
      return constant(loc, type, t.coeff);
    if (t.coeff == 1.0)
      return t.base;
    if (t.coeff == -1.0)
      return arith::NegFOp::create(b, loc, t.base);
    return arith::MulFOp::create(b, loc, t.base, constant(loc, type, t.coeff));
  }
  /// As materialize, with 0 for a missing tangent.
  Value materializeOrZero(Location loc, Type type, const MaybeTangent &t) {
    return t ? materialize(loc, type, *t) : constant(loc, type, 0.0);
  }

  static MaybeTangent scaled(const MaybeTangent &t, double factor) {
    if (!t)
      return std::nullopt;
    return Tangent{t->base, t->coeff * factor};
  }

  MaybeTangent add(Location loc, Type type, const MaybeTangent &x,
                   const MaybeTangent &y) {
    if (!x)
      return y;
    if (!y)
      return x;
    if (x->base == y->base) {
      double sum = x->coeff + y->coeff;
      if (sum == 0.0)
        return std::nullopt;
      return Tangent{x->base, sum};
    }
    if (x->base && y->base && x->coeff == y->coeff)
      return Tangent{arith::AddFOp::create(b, loc, x->base, y->base), x->coeff};
    if (x->base && y->base && x->coeff == -y->coeff)
      return Tangent{arith::SubFOp::create(b, loc, x->base, y->base), x->coeff};
    return Tangent{arith::AddFOp::create(b, loc, materialize(loc, type, *x),
                                           materialize(loc, type, *y)),
                   1.0};
  }

  /// t * p for a primal value p (no tangent of its own).
  MaybeTangent mulPrimal(Location loc, const MaybeTangent &t, Value p) {
    if (!t)
      return std::nullopt;
    if (std::optional<double> c = constantOf(p))
      return *c == 0.0 ? std::nullopt : scaled(t, *c);
    Value base = t->base ? arith::MulFOp::create(b, loc, p, t->base) : p;
    return Tangent{base, t->coeff};
  }

  /// t / p for a primal value p. A zero constant stays a real division, so
  /// the derivative is as infinite as the primal.
  MaybeTangent divPrimal(Location loc, Type type, const MaybeTangent &t,
                         Value p) {
    if (!t)
      return std::nullopt;
    if (std::optional<double> c = constantOf(p); c && *c != 0.0)
      return scaled(t, 1.0 / *c);
    Value numerator = t->base ? t->base : constant(loc, type, 1.0);
    return Tangent{arith::DivFOp::create(b, loc, numerator, p), t->coeff};
  }

  /// select(cond, x, y) of two tangents.
  MaybeTangent select(Location loc, Type type, Value cond,
                      const MaybeTangent &x, const MaybeTangent &y) {
    if (!x && !y)
      return std::nullopt;
    if (x && y && *x == *y)
      return x;
    return Tangent{arith::SelectOp::create(b, loc, cond,
                                             materializeOrZero(loc, type, x),
                                             materializeOrZero(loc, type, y)),
                   1.0};
  }

  OpBuilder &b;

private:
  std::map<std::pair<const void *, double>, Value> constants;
};

/// Differentiates one block, op by op.
class Differentiator {
public:
  Differentiator(OpBuilder &builder) : t(builder), b(builder) {}

  /// Clones `op` and records its result's tangent; fails (with the
  /// diagnostic) on an op without a rule whose operands depend on s.
  LogicalResult visit(Operation &op);

  MaybeTangent tangentOf(Value original) const {
    auto found = tangents.find(original);
    if (found == tangents.end())
      return std::nullopt;
    return found->second;
  }

  IRMapping primal;
  llvm::DenseMap<Value, Tangent> tangents;
  TangentBuilder t;

private:
  OpBuilder &b;
};

LogicalResult Differentiator::visit(Operation &op) {
  Operation *clone = b.clone(op, primal);
  t.remember(clone);
  bool dependsOnScore = llvm::any_of(op.getOperands(), [&](Value operand) {
    return tangents.count(operand) != 0;
  });
  if (!dependsOnScore)
    return success();

  Location loc = op.getLoc();
  auto in = [&](unsigned i) { return tangentOf(op.getOperand(i)); };
  auto x = [&](unsigned i) { return clone->getOperand(i); };
  Value r = clone->getNumResults() == 1 ? clone->getResult(0) : Value();
  Type type = r ? r.getType() : Type();

  // The tangent of the result, or nullopt for "no tangent" (which is also
  // the right answer for piecewise-constant ops); `supported` turns false
  // for an op without a rule.
  bool supported = true;
  MaybeTangent result =
      llvm::TypeSwitch<Operation *, MaybeTangent>(&op)
          .Case<arith::AddFOp>(
              [&](auto) { return t.add(loc, type, in(0), in(1)); })
          .Case<arith::SubFOp>([&](auto) {
            return t.add(loc, type, in(0), TangentBuilder::scaled(in(1), -1.0));
          })
          .Case<arith::NegFOp>(
              [&](auto) { return TangentBuilder::scaled(in(0), -1.0); })
          .Case<arith::MulFOp>([&](auto) {
            // d(x y) = dx y + x dy.
            return t.add(loc, type, t.mulPrimal(loc, in(0), x(1)),
                         t.mulPrimal(loc, in(1), x(0)));
          })
          .Case<arith::DivFOp>([&](auto) {
            // d(x / y) = (dx - r dy) / y.
            MaybeTangent numerator =
                t.add(loc, type, in(0),
                      TangentBuilder::scaled(t.mulPrimal(loc, in(1), r), -1.0));
            return t.divPrimal(loc, type, numerator, x(1));
          })
          .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) {
            // The selected operand's tangent; a tie picks the first.
            Value first = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE,
                                                  x(0), x(1));
            return t.select(loc, type, first, in(0), in(1));
          })
          .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) {
            Value first = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE,
                                                  x(0), x(1));
            return t.select(loc, type, first, in(0), in(1));
          })
          .Case<arith::SelectOp>([&](auto) {
            // The condition is primal: a comparison has no tangent.
            return t.select(loc, type, x(0), in(1), in(2));
          })
          .Case<arith::CmpFOp, arith::FPToSIOp, math::FloorOp, math::CeilOp>(
              [&](auto) -> MaybeTangent {
                // Piecewise constant in s: the derivative is 0 wherever it
                // exists.
                return std::nullopt;
              })
          .Case<arith::ExtFOp, arith::TruncFOp>([&](auto) -> MaybeTangent {
            MaybeTangent d = in(0);
            if (!d->base)
              return d;
            Operation *converted = b.create(loc, op.getName().getIdentifier(),
                                            {d->base}, {type});
            return Tangent{converted->getResult(0), d->coeff};
          })
          .Case<math::ExpOp>([&](auto) { return t.mulPrimal(loc, in(0), r); })
          .Case<math::Exp2Op>([&](auto) {
            return t.mulPrimal(loc, TangentBuilder::scaled(in(0), M_LN2), r);
          })
          .Case<math::LogOp>(
              [&](auto) { return t.divPrimal(loc, type, in(0), x(0)); })
          .Case<math::Log2Op>([&](auto) {
            return t.divPrimal(loc, type, TangentBuilder::scaled(in(0), 1.0 / M_LN2),
                               x(0));
          })
          .Case<math::TanhOp>([&](auto) {
            // d tanh(x) = (1 - r^2) dx.
            Value square = arith::MulFOp::create(b, loc, r, r);
            Value slope = arith::SubFOp::create(b, 
                loc, t.constant(loc, type, 1.0), square);
            return t.mulPrimal(loc, in(0), slope);
          })
          .Case<math::SqrtOp>([&](auto) {
            // d sqrt(x) = dx / (2 r).
            return t.divPrimal(loc, type, TangentBuilder::scaled(in(0), 0.5), r);
          })
          .Case<math::RsqrtOp>([&](auto) {
            // d x^(-1/2) = -1/2 r^3 dx.
            Value cube = arith::MulFOp::create(b, 
                loc, arith::MulFOp::create(b, loc, r, r), r);
            return t.mulPrimal(loc, TangentBuilder::scaled(in(0), -0.5), cube);
          })
          .Case<math::AbsFOp>([&](auto) {
            // sign(x) dx, with sign(0) = 1 (a subgradient).
            Value positive = arith::CmpFOp::create(b, 
                loc, arith::CmpFPredicate::OGE, x(0), t.constant(loc, type, 0.0));
            return t.select(loc, type, positive, in(0),
                            TangentBuilder::scaled(in(0), -1.0));
          })
          .Case<math::PowFOp>([&](auto) {
            // r = x^y: dr = y x^(y-1) dx + r log(x) dy. The dy term is taken
            // as 0 where r = 0 (its limit for x -> 0+ with y > 0), not
            // 0 * log(0) = NaN.
            MaybeTangent viaBase;
            if (in(0)) {
              std::optional<double> y = TangentBuilder::constantOf(x(1));
              Value yMinusOne =
                  y ? t.constant(loc, type, *y - 1.0)
                    : arith::SubFOp::create(b, loc, x(1),
                                            t.constant(loc, type, 1.0))
                          .getResult();
              Value power = math::PowFOp::create(b, loc, x(0), yMinusOne);
              viaBase = t.mulPrimal(loc, t.mulPrimal(loc, in(0), power), x(1));
            }
            MaybeTangent viaExponent;
            if (in(1)) {
              Value logBase = math::LogOp::create(b, loc, x(0));
              Value slope = arith::MulFOp::create(b, loc, r, logBase);
              Value zero = t.constant(loc, type, 0.0);
              Value isZero = arith::CmpFOp::create(b, 
                  loc, arith::CmpFPredicate::OEQ, r, zero);
              slope = arith::SelectOp::create(b, loc, isZero, zero, slope);
              viaExponent = t.mulPrimal(loc, in(1), slope);
            }
            return t.add(loc, type, viaBase, viaExponent);
          })
          .Default([&](Operation *) -> MaybeTangent {
            supported = false;
            return std::nullopt;
          });
  if (!supported) {
    InFlightDiagnostic error =
        op.emitError() << "flash.attention score_mod: cannot differentiate '"
                       << op.getName()
                       << "' with respect to the score; supported: "
                       << llvm::join(getDifferentiableScoreOpNames(), ", ");
    for (auto [index, operand] : llvm::enumerate(op.getOperands()))
      if (tangents.count(operand)) {
        error.attachNote() << "operand #" << index << " of '" << op.getName()
                           << "' depends on the score";
        break;
      }
    return error;
  }
  if (result)
    tangents[op.getResult(0)] = *result;
  return success();
}

} // namespace

LogicalResult mlir::flash::buildScoreModDerivative(Region &scoreMod,
                                                   Region &derivative) {
  Block &source = scoreMod.front();
  Block *target = new Block();
  derivative.push_back(target);
  // The context comes from score_mod: `derivative` may not have a parent
  // op yet.
  OpBuilder builder(scoreMod.getContext());
  builder.setInsertionPointToEnd(target);
  Differentiator diff(builder);
  for (BlockArgument arg : source.getArguments())
    diff.primal.map(arg, target->addArgument(arg.getType(), arg.getLoc()));
  // The score is argument 0: ds/ds = 1.
  diff.tangents[source.getArgument(0)] = Tangent{Value(), 1.0};

  for (Operation &op : source.without_terminator())
    if (failed(diff.visit(op))) {
      derivative.getBlocks().clear();
      return failure();
    }

  auto yield = cast<YieldOp>(source.getTerminator());
  Value grad = diff.t.materializeOrZero(yield.getLoc(),
                                         yield.getValue().getType(),
                                         diff.tangentOf(yield.getValue()));
  YieldOp::create(builder, yield.getLoc(), grad);

  // Drop the primal ops that only computed score_mod's own value.
  // Users come after their operands: erasing back to front frees them first.
  llvm::SmallVector<Operation *> ops;
  for (Operation &op : target->without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (op->use_empty() && isMemoryEffectFree(op))
      op->erase();
  return success();
}
