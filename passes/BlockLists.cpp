//===- BlockLists.cpp - a query tile's key tiles under a block mask -------===//

#include "passes/BlockLists.h"

#include "passes/IndexBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The flash.extra of one list with its dynamic sizes: batch B (unless
/// static), query blocks, and for index lists key blocks.
Value listOperand(IndexBuilder &ib, Value list, StringRef name,
                  StringRef batchDim, Value queryBlocks, Value keyBlocks) {
  auto type = cast<RankedTensorType>(list.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    if (d == 0)
      sizes.push_back(DimOp::create(ib.b, ib.loc, ib.b.getIndexType(),
                                    ib.b.getStringAttr(batchDim)));
    else
      sizes.push_back(d == 2 ? queryBlocks : keyBlocks);
  }
  return ExtraOp::create(ib.b, ib.loc, type, ib.b.getStringAttr(name), sizes);
}

/// list[batch, head, queryBlock(, slot)] as an index (reads are clamped
/// into each dimension: a list of one batch or head serves all).
Value readList(IndexBuilder &ib, Value list, ArrayRef<Value> at) {
  Value raw = tensor::ExtractOp::create(ib.b, ib.loc, list, at);
  return arith::IndexCastOp::create(ib.b, ib.loc, ib.b.getIndexType(), raw);
}

} // namespace

BlockLists mlir::flash::buildBlockLists(OpBuilder &b, Location loc,
                                        const BlockMask &mask,
                                        StringRef batchDim, Value batch, Value head,
                                        Value queryTile, int64_t tileQ,
                                        int64_t tileKv, Value queryLen,
                                        Value keyLen) {
  IndexBuilder ib{b, loc};
  BlockLists lists;
  lists.tilesPerBlock = mask.keyBlock / tileKv;
  Value queryBlocks = ib.ceilDiv(queryLen, ib.c(mask.queryBlock));
  lists.keyBlocks = ib.ceilDiv(keyLen, ib.c(mask.keyBlock));
  lists.keyTiles = ib.ceilDiv(keyLen, ib.c(tileKv));
  lists.batch = batch;
  lists.head = head;
  lists.queryBlock = ib.named(
      ib.floorDiv(ib.mul(queryTile, ib.c(tileQ)), ib.c(mask.queryBlock)),
      "query_block");
  Value counts = listOperand(ib, mask.counts, kKvNumBlocksName, batchDim,
                             queryBlocks, lists.keyBlocks);
  lists.indices = listOperand(ib, mask.indices, kKvIndicesName, batchDim,
                              queryBlocks, lists.keyBlocks);
  Value per = ib.c(lists.tilesPerBlock);
  auto countOf = [&](Value list) {
    // Counts clamp into [0, key blocks] (docs/semantics.md §2.10).
    return ib.mul(ib.clamp(readList(ib, list, {batch, head, lists.queryBlock}),
                           ib.c(0), lists.keyBlocks),
                  per);
  };
  lists.partial = ib.named(countOf(counts), "partial_tiles");
  lists.total = lists.partial;
  if (mask.hasFull()) {
    Value fullCounts = listOperand(ib, mask.fullCounts, kFullKvNumBlocksName,
                                   batchDim, queryBlocks, lists.keyBlocks);
    lists.fullIndices = listOperand(ib, mask.fullIndices, kFullKvIndicesName,
                                    batchDim, queryBlocks, lists.keyBlocks);
    lists.total = ib.named(ib.add(lists.partial, countOf(fullCounts)),
                           "listed_tiles");
  }
  return lists;
}

Value BlockLists::tileAt(OpBuilder &b, Location loc, Value position) const {
  IndexBuilder ib{b, loc};
  Value slot = position, list = indices;
  Value full;
  if (fullIndices) {
    full = ib.le(partial, position);
    slot = arith::SelectOp::create(b, loc, full, ib.sub(position, partial), position);
  }
  Value per = ib.c(tilesPerBlock);
  Value block = tilesPerBlock == 1 ? slot : ib.floorDiv(slot, per);
  Value raw = readList(ib, list, {batch, head, queryBlock, block});
  if (fullIndices)
    raw = arith::SelectOp::create(
        b, loc, full, readList(ib, fullIndices, {batch, head, queryBlock, block}),
        raw);
  // An index outside [0, key blocks) names no block: the tile past the
  // keys, which every kernel loads as zeros and masks out.
  Value named = ib.andI(ib.le(ib.c(0), raw), ib.lt(raw, keyBlocks));
  Value tile = tilesPerBlock == 1 ? raw : ib.add(ib.mul(raw, per), ib.rem(slot, per));
  return arith::SelectOp::create(b, loc, named, tile, keyTiles);
}
