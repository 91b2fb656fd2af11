//===- MaskModTiles.cpp - a mask_mod evaluated over whole tiles -----------===//

#include "passes/MaskModTiles.h"

#include "passes/InlineRegion.h"

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The mask_mod's block arguments: batch, head, row i, key j, extras...
constexpr unsigned kRowArg = 2, kKeyArg = 3, kFirstExtraArg = 4;

/// Whether `v` depends on block argument `arg` of `block`.
bool dependsOn(Value v, Block &block, unsigned arg) {
  if (v == block.getArgument(arg))
    return true;
  Operation *def = v.getDefiningOp();
  return def && llvm::any_of(def->getOperands(), [&](Value operand) {
           return dependsOn(operand, block, arg);
         });
}

bool dependsOnPosition(Value v, Block &block) {
  return dependsOn(v, block, kRowArg) || dependsOn(v, block, kKeyArg);
}

bool isBoolean(Type t) { return t.isInteger(1); }
bool isWideInteger(Type t) {
  return t.isIndex() || (t.isInteger() && t.getIntOrFloatBitWidth() > 1);
}

/// Why the op `op` (which depends on a position) has no interval form.
std::string unsupportedOp(Operation *op, Block &block) {
  auto name = [&] { return op->getName().getStringRef().str(); };
  if (isa<arith::IndexCastOp, arith::ExtSIOp>(op))
    return isWideInteger(op->getOperand(0).getType()) ? ""
           : name() + " of a boolean";
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp,
          arith::MaxSIOp>(op))
    return isWideInteger(op->getResult(0).getType()) ? "" : name() + " of booleans";
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    using P = arith::CmpIPredicate;
    P p = cmp.getPredicate();
    if (p == P::ult || p == P::ule || p == P::ugt || p == P::uge)
      return "an unsigned comparison (" + stringifyCmpIPredicate(p).str() + ")";
    return isWideInteger(cmp.getLhs().getType()) ? "" : "a comparison of booleans";
  }
  if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op))
    return isBoolean(op->getResult(0).getType()) ? ""
           : name() + " of integers (a bit pattern)";
  if (isa<arith::SelectOp>(op)) {
    Type t = op->getResult(0).getType();
    return isBoolean(t) || isWideInteger(t) ? "" : "a select of floats";
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    if (!isWideInteger(extract.getType()))
      return "tensor.extract of " +
             (isBoolean(extract.getType()) ? std::string("booleans")
                                           : std::string("floats"));
    int ranged = llvm::count_if(extract.getIndices(), [&](Value index) {
      return dependsOnPosition(index, block);
    });
    return ranged <= 1 ? "" : "tensor.extract at more than one position index";
  }
  return name();
}

} // namespace

std::string mlir::flash::maskModTilesUnsupported(Region &maskMod) {
  if (maskMod.empty())
    return "no mask_mod";
  Block &block = maskMod.front();
  bool readsAtPosition = false;
  for (Operation &op : block.without_terminator()) {
    bool positional = llvm::any_of(op.getOperands(), [&](Value operand) {
      return dependsOnPosition(operand, block);
    });
    if (!positional)
      continue; // the same for every (i, j): cloned as it is
    if (std::string why = unsupportedOp(&op, block); !why.empty())
      return why + " on a position";
    if (isa<tensor::ExtractOp>(op))
      readsAtPosition = true;
  }
  if (!readsAtPosition)
    return "no extra read at a query or key position";
  return "";
}

bool mlir::flash::maskModReadsHead(Region &maskMod) {
  return !maskMod.empty() && !maskMod.front().getArgument(1).use_empty();
}

bool mlir::flash::maskModReadsBatch(Region &maskMod) {
  return !maskMod.empty() && !maskMod.front().getArgument(0).use_empty();
}

namespace {

/// [lo, hi] of an integer value over the tiles' positions.
struct Interval {
  Value lo, hi;
};
/// Whether a boolean may be true, and whether it may be false.
struct Truth {
  Value mayTrue, mayFalse;
};

class TileClassBuilder {
public:
  /// `listedArg`: the region argument (i or j) whose range is the listed
  /// tile's, which changes at every `inner` evaluation.
  TileClassBuilder(OpBuilder &outer, OpBuilder &inner, Location loc, Block &block,
                   unsigned listedArg)
      : outer(outer), inner(inner), loc(loc), block(block), listedArg(listedArg) {}

  DenseMap<Value, Interval> ints;
  DenseMap<Value, Truth> truths;
  /// Values the same for every (i, j), cloned at `outer`.
  IRMapping exact;

  LogicalResult build(Operation *op) {
    bool positional = llvm::any_of(op->getOperands(), [&](Value operand) {
      return dependsOnPosition(operand, block);
    });
    if (!positional) {
      outer.clone(*op, exact);
      return success();
    }
    bool listed = llvm::any_of(op->getOperands(), [&](Value operand) {
      return dependsOn(operand, block, listedArg);
    });
    OpBuilder &b = listed ? inner : outer;
    Value result = op->getResult(0);
    if (isa<arith::IndexCastOp, arith::ExtSIOp>(op)) {
      Interval x = intOf(op->getOperand(0));
      Type t = result.getType();
      auto cast = [&](Value v) -> Value {
        if (isa<arith::IndexCastOp>(op))
          return arith::IndexCastOp::create(b, loc, t, v);
        return arith::ExtSIOp::create(b, loc, t, v);
      };
      ints[result] = {cast(x.lo), cast(x.hi)};
      return success();
    }
    if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp,
            arith::MaxSIOp>(op)) {
      Interval x = intOf(op->getOperand(0)), y = intOf(op->getOperand(1));
      auto min = [&](Value p, Value q) -> Value { return arith::MinSIOp::create(b, loc, p, q); };
      auto max = [&](Value p, Value q) -> Value { return arith::MaxSIOp::create(b, loc, p, q); };
      if (isa<arith::AddIOp>(op))
        ints[result] = {arith::AddIOp::create(b, loc, x.lo, y.lo),
                        arith::AddIOp::create(b, loc, x.hi, y.hi)};
      else if (isa<arith::SubIOp>(op))
        ints[result] = {arith::SubIOp::create(b, loc, x.lo, y.hi),
                        arith::SubIOp::create(b, loc, x.hi, y.lo)};
      else if (isa<arith::MinSIOp>(op))
        ints[result] = {min(x.lo, y.lo), min(x.hi, y.hi)};
      else if (isa<arith::MaxSIOp>(op))
        ints[result] = {max(x.lo, y.lo), max(x.hi, y.hi)};
      else {
        // A product's extremes are among the corners' products.
        Value p[4] = {arith::MulIOp::create(b, loc, x.lo, y.lo),
                      arith::MulIOp::create(b, loc, x.lo, y.hi),
                      arith::MulIOp::create(b, loc, x.hi, y.lo),
                      arith::MulIOp::create(b, loc, x.hi, y.hi)};
        ints[result] = {min(min(p[0], p[1]), min(p[2], p[3])),
                        max(max(p[0], p[1]), max(p[2], p[3]))};
      }
      return success();
    }
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      truths[result] = compare(b, cmp.getPredicate(), intOf(cmp.getLhs()),
                               intOf(cmp.getRhs()));
      return success();
    }
    if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
      Truth x = truthOf(op->getOperand(0)), y = truthOf(op->getOperand(1));
      auto andI = [&](Value p, Value q) -> Value { return arith::AndIOp::create(b, loc, p, q); };
      auto orI = [&](Value p, Value q) -> Value { return arith::OrIOp::create(b, loc, p, q); };
      if (isa<arith::AndIOp>(op))
        truths[result] = {andI(x.mayTrue, y.mayTrue), orI(x.mayFalse, y.mayFalse)};
      else if (isa<arith::OrIOp>(op))
        truths[result] = {orI(x.mayTrue, y.mayTrue), andI(x.mayFalse, y.mayFalse)};
      else
        truths[result] = {orI(andI(x.mayTrue, y.mayFalse), andI(x.mayFalse, y.mayTrue)),
                          orI(andI(x.mayTrue, y.mayTrue), andI(x.mayFalse, y.mayFalse))};
      return success();
    }
    if (auto select = dyn_cast<arith::SelectOp>(op)) {
      Truth c = truthOf(select.getCondition());
      auto andI = [&](Value p, Value q) -> Value { return arith::AndIOp::create(b, loc, p, q); };
      auto orI = [&](Value p, Value q) -> Value { return arith::OrIOp::create(b, loc, p, q); };
      auto pick = [&](Value ifTrue, Value ifFalse, bool low) -> Value {
        // Both branches possible: the union; else the one that is.
        Value both = low ? Value(arith::MinSIOp::create(b, loc, ifTrue, ifFalse))
                         : Value(arith::MaxSIOp::create(b, loc, ifTrue, ifFalse));
        Value eitherTrue = arith::SelectOp::create(b, loc, c.mayFalse, both, ifTrue);
        return arith::SelectOp::create(b, loc, c.mayTrue, eitherTrue, ifFalse);
      };
      if (isBoolean(result.getType())) {
        Truth x = truthOf(select.getTrueValue()), y = truthOf(select.getFalseValue());
        truths[result] = {orI(andI(c.mayTrue, x.mayTrue), andI(c.mayFalse, y.mayTrue)),
                          orI(andI(c.mayTrue, x.mayFalse), andI(c.mayFalse, y.mayFalse))};
      } else {
        Interval x = intOf(select.getTrueValue()), y = intOf(select.getFalseValue());
        ints[result] = {pick(x.lo, y.lo, true), pick(x.hi, y.hi, false)};
      }
      return success();
    }
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      ints[result] = extractRange(b, extract);
      return success();
    }
    return op->emitError() << "has no interval form (maskModTilesUnsupported "
                              "accepted it)";
  }

  Interval intOf(Value v) {
    auto it = ints.find(v);
    if (it != ints.end())
      return it->second;
    Value x = exact.lookup(v);
    return {x, x};
  }

  Truth truthOf(Value v) {
    auto it = truths.find(v);
    if (it != truths.end())
      return it->second;
    Value x = exact.lookup(v);
    Value t = arith::ConstantIntOp::create(outer, loc, 1, 1);
    return {x, arith::XOrIOp::create(outer, loc, x, t)};
  }

private:
  OpBuilder &outer, &inner;
  Location loc;
  Block &block;
  unsigned listedArg;

  Truth compare(OpBuilder &b, arith::CmpIPredicate p, Interval x, Interval y) {
    using P = arith::CmpIPredicate;
    auto cmp = [&](P q, Value l, Value r) -> Value {
      return arith::CmpIOp::create(b, loc, q, l, r);
    };
    auto andI = [&](Value l, Value r) -> Value { return arith::AndIOp::create(b, loc, l, r); };
    switch (p) {
    case P::slt: return {cmp(P::slt, x.lo, y.hi), cmp(P::sge, x.hi, y.lo)};
    case P::sle: return {cmp(P::sle, x.lo, y.hi), cmp(P::sgt, x.hi, y.lo)};
    case P::sgt: return {cmp(P::sgt, x.hi, y.lo), cmp(P::sle, x.lo, y.hi)};
    case P::sge: return {cmp(P::sge, x.hi, y.lo), cmp(P::slt, x.lo, y.hi)};
    case P::eq:
    case P::ne: {
      // Equal somewhere: the ranges meet; unequal somewhere: unless both
      // are the same single value.
      Value meet = andI(cmp(P::sle, x.lo, y.hi), cmp(P::sle, y.lo, x.hi));
      Value single = andI(andI(cmp(P::eq, x.lo, x.hi), cmp(P::eq, y.lo, y.hi)),
                          cmp(P::eq, x.lo, y.lo));
      Value t = arith::ConstantIntOp::create(b, loc, 1, 1);
      Value differ = arith::XOrIOp::create(b, loc, single, t);
      return p == P::eq ? Truth{meet, differ} : Truth{differ, meet};
    }
    default:
      llvm_unreachable("maskModTilesUnsupported refuses unsigned comparisons");
    }
  }

  /// An extra read over a range of one index: the minimum and maximum of
  /// the elements, every index clamped into its dimension as every read
  /// of an extra is (so exactly the elements the mask_mod reads).
  Interval extractRange(OpBuilder &b, tensor::ExtractOp extract) {
    Value tensor = exact.lookup(extract.getTensor());
    SmallVector<Value> at;
    int ranged = -1;
    Interval range;
    for (auto [k, index] : llvm::enumerate(extract.getIndices())) {
      if (dependsOnPosition(index, block)) {
        ranged = static_cast<int>(k);
        range = intOf(index);
        at.push_back(range.lo);
      } else {
        at.push_back(exact.lookup(index));
      }
    }
    Value first = tensor::ExtractOp::create(b, loc, tensor, at);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value from = arith::AddIOp::create(b, loc, range.lo, one);
    Value to = arith::AddIOp::create(b, loc, range.hi, one);
    auto loop = scf::ForOp::create(b, loc, from, to, one, ValueRange{first, first});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      at[ranged] = loop.getInductionVar();
      Value x = tensor::ExtractOp::create(b, loc, tensor, at);
      Value lo = arith::MinSIOp::create(b, loc, loop.getRegionIterArg(0), x);
      Value hi = arith::MaxSIOp::create(b, loc, loop.getRegionIterArg(1), x);
      scf::YieldOp::create(b, loc, ValueRange{lo, hi});
    }
    return {loop.getResult(0), loop.getResult(1)};
  }
};

} // namespace

Value mlir::flash::buildMaskModTileClass(OpBuilder &outer, OpBuilder &inner,
                                         Location loc, Region &maskMod,
                                         Value batch, Value head, Value rowLo,
                                         Value rowHi, Value keyLo, Value keyHi,
                                         bool listsQueryTiles) {
  Block &block = maskMod.front();
  TileClassBuilder builder(outer, inner, loc, block,
                           listsQueryTiles ? kRowArg : kKeyArg);
  builder.exact.map(block.getArgument(0), batch);
  builder.exact.map(block.getArgument(1), head);
  builder.ints[block.getArgument(kRowArg)] = {rowLo, rowHi};
  builder.ints[block.getArgument(kKeyArg)] = {keyLo, keyHi};
  if (block.getNumArguments() > kFirstExtraArg) {
    SmallVector<Value> extras = extraOperandValues(outer, loc, maskMod.getParentOp());
    for (auto [arg, value] :
         llvm::zip(block.getArguments().drop_front(kFirstExtraArg), extras))
      builder.exact.map(arg, value);
  }
  for (Operation &op : block.without_terminator())
    if (failed(builder.build(&op)))
      return Value();
  Truth keep = builder.truthOf(cast<YieldOp>(block.getTerminator()).getValue());
  // The verdict is built where the listed tile is known (inner).
  auto constant = [&](int v) -> Value {
    return arith::ConstantIntOp::create(inner, loc, v, 32);
  };
  Value seen = arith::SelectOp::create(inner, loc, keep.mayFalse, constant(kTilePartial),
                                       constant(kTileWhole));
  return arith::SelectOp::create(inner, loc, keep.mayTrue, seen, constant(kTileHidden));
}
