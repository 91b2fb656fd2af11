//===- LowerAttentionMaskLists.cpp - a mask_mod's tile lists, at launch ---===//
//
// A schedule with `mask_lists` (flash2, flash3 and the backward schedules
// under a mask_mod that reads its extras at a position: packed documents'
// ids) starts with a pre-pass that sorts tiles by the mask_mod's interval
// form over the two tiles' positions (MaskModTiles.h) into hidden, partial
// and whole, and lists the partial and whole ones in the workspace as a
// block mask's lists of tile_q x tile_kv blocks (BlockLists.h):
//
//   forward   <name>_mask_lists: one CTA per (query tile, head, batch)
//             lists the key tiles (kv_num_blocks, kv_indices, full_*);
//             the attention kernel waits for that launch and walks them;
//   backward  <name>_mask_lists_t: one CTA per (key tile, head, batch)
//             lists the query tiles (q_num_blocks, q_indices, full_*),
//             which the kv kernel walks per query head of its group; the
//             deterministic schedules' dq kernel walks key-tile lists from
//             a second pre-pass, <name>_mask_lists, as the forward's.
//
// A hidden tile is neither loaded nor computed, a whole one skips the
// mask_mod. Without the lists every tile the mask kind leaves is loaded
// and masked element by element, though packed documents hide most of
// them.
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

MaskListTypes mlir::flash::maskListTypes(Region &maskMod, int64_t queryHeads) {
  MLIRContext *ctx = maskMod.getContext();
  int64_t batch = maskModReadsBatch(maskMod) ? ShapedType::kDynamic : 1;
  int64_t heads = maskModReadsHead(maskMod) ? queryHeads : 1;
  Type i32 = IntegerType::get(ctx, 32);
  int64_t dyn = ShapedType::kDynamic;
  return {RankedTensorType::get({batch, heads, dyn}, i32),
          RankedTensorType::get({batch, heads, dyn, dyn}, i32)};
}

void mlir::flash::buildMaskListsBody(OpBuilder &b, KernelOp kernel,
                                     const MaskListsSource &src, bool transposed,
                                     bool waitsForPrevious) {
  OpBuilder::InsertionGuard guard(b);
  Location loc = kernel.getLoc();
  b.setInsertionPointToStart(b.createBlock(&kernel.getBody()));
  IndexBuilder ib{b, loc};
  MaskListTypes types = maskListTypes(*src.maskMod, src.queryHeads);
  // One CTA per list row (a query tile, or a key tile of the transposed
  // lists); the batch and head dims only where the lists have them (a
  // mask_mod that ignores the head lists once for all heads).
  std::string rowDim = transposed ? src.keyDim : src.queryDim;
  int64_t rowTile = transposed ? src.tileKv : src.tileQ;
  std::string rowTiles = "cdiv(" + rowDim + "," + std::to_string(rowTile) + ")";
  std::string batches = types.counts.isDynamicDim(0) ? src.batchDim : "1";
  auto grid = GridMapOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType(), b.getIndexType()},
      b.getStrArrayAttr({transposed ? "key_block" : "query_block", "head", "batch"}),
      b.getStrArrayAttr({rowTiles, std::to_string(types.counts.getDimSize(1)), batches}));
  Value rowBlock = grid.getIds()[0], head = grid.getIds()[1], batch = grid.getIds()[2];
  // A kernel that waits for this launch may start while it runs (the
  // forward's attention kernel). After a rotary pre-pass this one waits
  // for that launch too, so that the next kernel's wait covers both.
  LaunchDependentsOp::create(b, loc);
  if (waitsForPrevious)
    WaitPreviousLaunchOp::create(b, loc);
  auto dim = [&](const std::string &d) -> Value {
    return DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(d));
  };
  Value queryLen = dim(src.queryDim), keyLen = dim(src.keyDim);
  Value offset = ib.sub(keyLen, queryLen); // query i sits at key i + M - N
  // [lo, hi] of a tile of `size` positions starting at tile * size.
  auto span = [&](IndexBuilder &at, Value tile, int64_t size, Value len) {
    Value lo = at.mul(tile, at.c(size));
    Value hi = at.sub(at.min(at.add(lo, at.c(size)), len), at.c(1));
    return std::make_pair(lo, hi);
  };
  // The tiles of the other side the mask kind leaves; the mask_mod sorts
  // those (the others are hidden without evaluating it).
  Value first, last;
  if (transposed) {
    Value k0 = ib.named(ib.mul(rowBlock, ib.c(src.tileKv)), "key0");
    TileRange kind = queryTilesOfKeyTile(b, loc, src.mask, src.window,
                                         /*hasMaskMod=*/false, k0, src.tileQ,
                                         src.tileKv, queryLen, keyLen, offset);
    first = kind.lo;
    last = kind.hi;
  } else {
    Value q0 = ib.named(ib.mul(rowBlock, ib.c(src.tileQ)), "row0");
    TileRange kind = keyTilesOfQueryTile(b, loc, src.mask, src.window,
                                         /*hasMaskMod=*/false, q0, src.tileQ,
                                         src.tileKv, queryLen, keyLen, offset);
    first = kind.lo;
    last = kind.hi;
  }
  auto [rowLo, rowHi] = span(ib, rowBlock, rowTile, transposed ? keyLen : queryLen);
  auto classify = TileClassifyOp::create(b, loc, batch, head, rowBlock, first, last,
                                         transposed);
  Block *body = b.createBlock(&classify.getBody());
  Value listed = body->addArgument(b.getIndexType(), loc);
  OpBuilder outer(classify);
  OpBuilder inner = OpBuilder::atBlockEnd(body);
  IndexBuilder in{inner, loc};
  auto [listedLo, listedHi] = transposed ? span(in, listed, src.tileQ, queryLen)
                                         : span(in, listed, src.tileKv, keyLen);
  Value cls = transposed
                  ? buildMaskModTileClass(outer, inner, loc, *src.maskMod, batch, head,
                                          listedLo, listedHi, rowLo, rowHi,
                                          /*listsQueryTiles=*/true)
                  : buildMaskModTileClass(outer, inner, loc, *src.maskMod, batch, head,
                                          rowLo, rowHi, listedLo, listedHi);
  YieldOp::create(inner, loc, cls);
}

KernelOp mlir::flash::buildMaskListsKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                                           StringRef name, int64_t variant) {
  ScheduleAttr s = plan.schedule;
  auto kernel = KernelOp::create(b, plan.op.getLoc(), name,
                                 KernelFamily::attention_mask_lists, s,
                                 attentionProblemAttr(b, plan, plan.opName, variant));
  buildMaskListsBody(b, kernel, maskListsSource(plan), /*transposed=*/false,
                     /*waitsForPrevious=*/s.getRotaryPrepass() != 0);
  b.setInsertionPointAfter(kernel);
  return kernel;
}

BlockLists mlir::flash::buildMaskLists(OpBuilder &b, Location loc,
                                       const MaskListsSource &src, Value batch,
                                       Value head, Value tile, Value queryLen,
                                       Value keyLen, bool transposed) {
  MaskListTypes types = maskListTypes(*src.maskMod, src.queryHeads);
  if (transposed)
    return buildTransposedTileLists(b, loc, types.counts, types.indices,
                                    src.batchDim, batch, head, tile, src.tileKv,
                                    src.tileQ, queryLen, keyLen);
  return buildTileLists(b, loc, types.counts, types.indices, src.batchDim, batch,
                        head, tile, src.tileQ, src.tileKv, queryLen, keyLen);
}
