//===- LowerAttentionMaskLists.cpp - a mask_mod's tile lists, at launch ---===//
//
// A forward schedule with `mask_lists` (flash2 and flash3 under a mask_mod
// that reads its extras at a position: packed documents' ids) runs two
// kernels:
//
//   <name>_mask_lists  one CTA per (query tile, head, batch): every key tile
//                      the mask kind leaves is sorted by the mask_mod's
//                      interval form over the two tiles' positions
//                      (MaskModTiles.h) into hidden, partial and whole, and
//                      the partial and whole ones are listed, as a block
//                      mask's lists of tile_q x tile_kv blocks, in the
//                      workspace (kv_num_blocks, kv_indices, full_*);
//   <name>             the attention kernel, which waits for that launch and
//                      walks the lists (BlockLists.h): a hidden tile is
//                      neither loaded nor computed, a whole one skips the
//                      mask_mod.
//
// Without it every key tile the mask kind leaves is loaded and masked
// element by element, though packed documents hide most of them.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/BlockLists.h"
#include "passes/IndexBuilder.h"
#include "passes/MaskModTiles.h"

#include "dialect/BlockMask.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::flash;

MaskListTypes mlir::flash::maskListTypes(AttentionOp op) {
  MLIRContext *ctx = op.getContext();
  Region &maskMod = op.getMaskMod();
  int64_t batch = maskModReadsBatch(maskMod) ? ShapedType::kDynamic : 1;
  int64_t heads = maskModReadsHead(maskMod) ? op.getQ().getType().getDimSize(1) : 1;
  Type i32 = IntegerType::get(ctx, 32);
  int64_t dyn = ShapedType::kDynamic;
  return {RankedTensorType::get({batch, heads, dyn}, i32),
          RankedTensorType::get({batch, heads, dyn, dyn}, i32)};
}

KernelOp mlir::flash::buildMaskListsKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                                           StringRef name, int64_t variant) {
  AttentionOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv();
  auto kernel = KernelOp::create(b, loc, name, KernelFamily::attention_mask_lists, s,
                                 attentionProblemAttr(b, plan, plan.opName, variant));
  b.setInsertionPointToStart(b.createBlock(&kernel.getBody()));
  IndexBuilder ib{b, loc};
  MaskListTypes types = maskListTypes(op);
  std::string queryDim = op.getQueryDimName(), keyDim = op.getKeyDimName();
  std::string queryTiles = "cdiv(" + queryDim + "," + std::to_string(tileQ) + ")";
  // One CTA per list row: the batch and head dims only where the lists
  // have them (a mask_mod that ignores the head lists once for all heads).
  std::string batches = types.counts.isDynamicDim(0) ? op.getBatchDimName() : "1";
  auto grid = GridMapOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType(), b.getIndexType()},
      b.getStrArrayAttr({"query_block", "head", "batch"}),
      b.getStrArrayAttr({queryTiles, std::to_string(types.counts.getDimSize(1)), batches}));
  Value queryTile = grid.getIds()[0], head = grid.getIds()[1], batch = grid.getIds()[2];
  // The attention kernel may start while this one runs: it waits for the
  // lists before it reads them. After a rotary pre-pass, this one waits
  // for that launch too, so that the attention kernel's wait covers both.
  LaunchDependentsOp::create(b, loc);
  if (s.getRotaryPrepass())
    WaitPreviousLaunchOp::create(b, loc);
  auto dim = [&](const std::string &d) -> Value {
    return DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(d));
  };
  Value queryLen = dim(queryDim), keyLen = dim(keyDim);
  Value offset = ib.sub(keyLen, queryLen); // query i sits at key i + M - N
  Value rowLo = ib.named(ib.mul(queryTile, ib.c(tileQ)), "row0");
  Value one = ib.c(1);
  Value rowHi = ib.sub(ib.min(ib.add(rowLo, ib.c(tileQ)), queryLen), one);
  // The key tiles the mask kind leaves; the mask_mod sorts those (the
  // others are hidden without evaluating it).
  TileRange kind = keyTilesOfQueryTile(b, loc, plan.mask, plan.window,
                                       /*hasMaskMod=*/false, rowLo, tileQ, tileKv,
                                       queryLen, keyLen, offset);
  auto classify = TileClassifyOp::create(b, loc, batch, head, queryTile, kind.lo, kind.hi);
  Block *body = b.createBlock(&classify.getBody());
  Value keyTile = body->addArgument(b.getIndexType(), loc);
  OpBuilder outer(classify);
  OpBuilder inner = OpBuilder::atBlockEnd(body);
  IndexBuilder in{inner, loc};
  Value keyLo = in.mul(keyTile, in.c(tileKv));
  Value keyHi = in.sub(in.min(in.add(keyLo, in.c(tileKv)), keyLen), in.c(1));
  Value cls = buildMaskModTileClass(outer, inner, loc, op.getMaskMod(), batch, head,
                                    rowLo, rowHi, keyLo, keyHi);
  YieldOp::create(inner, loc, cls);
  b.setInsertionPointAfter(kernel);
  return kernel;
}

BlockLists mlir::flash::buildMaskListsOfTile(OpBuilder &b, Location loc,
                                             const AttentionKernelPlan &plan,
                                             Value batch, Value head, Value queryTile,
                                             Value queryLen, Value keyLen) {
  MaskListTypes types = maskListTypes(plan.op);
  return buildTileLists(b, loc, types.counts, types.indices, plan.op.getBatchDimName(),
                        batch, head, queryTile, plan.schedule.getTileQ(),
                        plan.schedule.getTileKv(), queryLen, keyLen);
}
