//===- IndexBuilder.h - index arithmetic for the kernel builders -*- C++ -*-===//
//
// The `arith` index ops the kernel builders (LowerAttention.cpp,
// FlashWarpSpecialize.cpp) write, one call each: every value is an `index`
// read as a signed integer (M - N may be negative).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_INDEXBUILDER_H
#define FLASHGEN_PASSES_INDEXBUILDER_H

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mlir::flash {

struct IndexBuilder {
  OpBuilder &b;
  Location loc;

  /// `v`, printed under `name` (kValueNameAttr) when an op defines it.
  Value named(Value v, StringRef name) {
    if (Operation *op = v.getDefiningOp())
      op->setAttr(kValueNameAttr, b.getStringAttr(name));
    return v;
  }
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value flag(bool v) { return arith::ConstantIntOp::create(b, loc, v, 1); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value floorDiv(Value x, Value y) {
    return arith::FloorDivSIOp::create(b, loc, x, y);
  }
  Value ceilDiv(Value x, Value y) {
    return arith::CeilDivSIOp::create(b, loc, x, y);
  }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value clamp(Value x, Value lo, Value hi) { return min(max(x, lo), hi); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value le(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y);
  }
  Value gt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemSIOp::create(b, loc, x, y); }
};

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_INDEXBUILDER_H
