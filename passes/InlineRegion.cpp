//===- InlineRegion.cpp - the user's scalar regions cloned into kernels ---===//

#include "passes/InlineRegion.h"

#include "dialect/RegionOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::flash;

Value mlir::flash::extraOperandValue(OpBuilder &b, Location loc,
                                     const ExtraOperand &extra) {
  SmallVector<Value> sizes;
  for (const std::string &dim : extra.dimNames)
    if (!dim.empty())
      sizes.push_back(DimOp::create(b, loc, b.getIndexType(),
                                    b.getStringAttr(dim)));
  return ExtraOp::create(b, loc, extra.type, b.getStringAttr(extra.name),
                         sizes);
}

SmallVector<Value> mlir::flash::extraOperandValues(OpBuilder &b, Location loc,
                                                   Operation *op) {
  SmallVector<ExtraOperand> extras;
  if (auto forward = dyn_cast<AttentionOp>(op))
    extras = forward.getExtraOperands();
  else if (auto grad = dyn_cast<AttentionGradOp>(op))
    extras = grad.getExtraOperands();
  else if (auto linear = dyn_cast<LinearAttentionOp>(op))
    extras = linear.getExtraOperands();
  SmallVector<Value> values;
  for (const ExtraOperand &extra : extras)
    values.push_back(extraOperandValue(b, loc, extra));
  return values;
}

Value mlir::flash::inlineScalarRegion(OpBuilder &b, Region &region,
                                      ArrayRef<Value> args,
                                      ArrayRef<bool> argIsPerElement,
                                      const ScoreScaling &scaling,
                                      Operation *hoistBefore) {
  // The region's batch and head arguments are the CTA's own, so every op
  // that depends on neither the score nor the positions (an ALiBi slope, a
  // per-head constant) is cloned once before the tile loops instead of
  // into the per-element code. The leading factor's result is the score
  // argument itself, the trailing factor's input is what the region yields.
  IRMapping mapping;
  Block &src = region.front();
  for (auto [from, to] : llvm::zip(src.getArguments(), args))
    mapping.map(from, to);
  llvm::SmallPtrSet<Operation *, 16> perElement =
      perElementOps(src, argIsPerElement);
  OpBuilder hoisted(hoistBefore);
  // The block arguments after the region's own are the op's extras: each
  // becomes the kernel argument that carries it (flash.extra), per CTA.
  if (src.getNumArguments() > args.size()) {
    SmallVector<Value> extras =
        extraOperandValues(hoisted, hoistBefore->getLoc(), region.getParentOp());
    for (auto [from, to] :
         llvm::zip(src.getArguments().drop_front(args.size()), extras))
      mapping.map(from, to);
  }
  // The leading factor reads the score, so what uses it is per element.
  if (scaling.leadOp)
    mapping.map(scaling.leadOp->getResult(0), args[0]);
  for (Operation &op : src.without_terminator()) {
    if (&op == scaling.leadOp || &op == scaling.trailOp)
      continue;
    (perElement.contains(&op) ? b : hoisted).clone(op, mapping);
  }
  if (scaling.trailOp)
    return mapping.lookup(scaling.trailInput);
  auto yield = cast<YieldOp>(src.getTerminator());
  return mapping.lookup(yield.getValue());
}


void mlir::flash::buildElementRegion(OpBuilder &b, Location loc, Region &src,
                                       Region &dest, Value batch, Value head,
                                       Operation *hoistBefore) {
  OpBuilder::InsertionGuard guard(b);
  Block &body = *b.createBlock(&dest);
  Type f32 = b.getF32Type(), index = b.getIndexType();
  body.addArguments({f32, index, index, index, index}, SmallVector<Location>(5, loc));
  b.setInsertionPointToStart(&body);
  Value out = inlineScalarRegion(
      b, src, {body.getArgument(0), batch, head, body.getArgument(3), body.getArgument(4)},
      {true, false, false, true, true}, ScoreScaling(), hoistBefore);
  YieldOp::create(b, loc, out);
}
