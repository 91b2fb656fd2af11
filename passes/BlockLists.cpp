//===- BlockLists.cpp - a tile's listed tiles under a block mask ----------===//

#include "passes/BlockLists.h"

#include "passes/IndexBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The flash.extra of one list with its dynamic sizes: batch B (unless
/// static), the row blocks (dim 2), and for index lists the listed side's
/// blocks (dim 3).
Value listOperand(IndexBuilder &ib, RankedTensorType type, StringRef name,
                  StringRef batchDim, Value rowBlocks, Value blocks) {
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    if (d == 0)
      sizes.push_back(DimOp::create(ib.b, ib.loc, ib.b.getIndexType(),
                                    ib.b.getStringAttr(batchDim)));
    else
      sizes.push_back(d == 2 ? rowBlocks : blocks);
  }
  return ExtraOp::create(ib.b, ib.loc, type, ib.b.getStringAttr(name), sizes);
}

/// list[batch, head, rowBlock(, slot)] as an index (reads are clamped
/// into each dimension: a list of one batch or head serves all).
Value readList(IndexBuilder &ib, Value list, ArrayRef<Value> at) {
  Value raw = tensor::ExtractOp::create(ib.b, ib.loc, list, at);
  return arith::IndexCastOp::create(ib.b, ib.loc, ib.b.getIndexType(), raw);
}

/// One direction of a block mask's lists: which operands, under which
/// names, and the sizes of the two sides.
struct ListSide {
  /// The lists' types (the full ones null when absent).
  RankedTensorType counts, indices, fullCounts, fullIndices;
  StringRef countsName, indicesName, fullCountsName, fullIndicesName;
  /// The walking tile's side (rows of the lists) and the listed side.
  int64_t rowBlock, rowTile, block, tile;
  Value rowLen, len;
};

/// positions [0, partial) then [partial, total) at (batch, head).
void readCounts(IndexBuilder &ib, BlockLists &lists) {
  Value per = ib.c(lists.tilesPerBlock);
  auto countOf = [&](Value list) {
    // Counts clamp into [0, blocks] (docs/semantics.md §2.10).
    return ib.mul(ib.clamp(readList(ib, list, {lists.batch, lists.head,
                                               lists.rowBlock}),
                           ib.c(0), lists.blocks),
                  per);
  };
  lists.partial = ib.named(countOf(lists.counts), "partial_tiles");
  lists.total = lists.partial;
  if (lists.fullCounts)
    lists.total = ib.named(ib.add(lists.partial, countOf(lists.fullCounts)),
                           "listed_tiles");
}

BlockLists buildLists(OpBuilder &b, Location loc, const ListSide &side,
                      StringRef batchDim, Value batch, Value head,
                      Value rowTileId, const char *rowBlockName) {
  IndexBuilder ib{b, loc};
  BlockLists lists;
  lists.tilesPerBlock = side.block / side.tile;
  Value rowBlocks = ib.ceilDiv(side.rowLen, ib.c(side.rowBlock));
  lists.blocks = ib.ceilDiv(side.len, ib.c(side.block));
  lists.tiles = ib.ceilDiv(side.len, ib.c(side.tile));
  lists.batch = batch;
  lists.head = head;
  lists.rowBlock = ib.named(
      ib.floorDiv(ib.mul(rowTileId, ib.c(side.rowTile)), ib.c(side.rowBlock)),
      rowBlockName);
  lists.counts = listOperand(ib, side.counts, side.countsName, batchDim,
                             rowBlocks, lists.blocks);
  lists.indices = listOperand(ib, side.indices, side.indicesName, batchDim,
                              rowBlocks, lists.blocks);
  if (side.fullCounts) {
    lists.fullCounts = listOperand(ib, side.fullCounts, side.fullCountsName,
                                   batchDim, rowBlocks, lists.blocks);
    lists.fullIndices = listOperand(ib, side.fullIndices, side.fullIndicesName,
                                    batchDim, rowBlocks, lists.blocks);
  }
  readCounts(ib, lists);
  return lists;
}

/// The type of a list operand, null for an absent one.
RankedTensorType typeOf(Value list) {
  return list ? cast<RankedTensorType>(list.getType()) : RankedTensorType();
}

} // namespace

BlockLists mlir::flash::buildBlockLists(OpBuilder &b, Location loc,
                                        const BlockMask &mask,
                                        StringRef batchDim, Value batch, Value head,
                                        Value queryTile, int64_t tileQ,
                                        int64_t tileKv, Value queryLen,
                                        Value keyLen) {
  ListSide side{typeOf(mask.counts), typeOf(mask.indices), typeOf(mask.fullCounts),
                typeOf(mask.fullIndices),  kKvNumBlocksName, kKvIndicesName,
                kFullKvNumBlocksName, kFullKvIndicesName,
                mask.queryBlock,   tileQ,            mask.keyBlock,
                tileKv,            queryLen,         keyLen};
  return buildLists(b, loc, side, batchDim, batch, head, queryTile,
                    "query_block");
}

BlockLists mlir::flash::buildTransposedBlockLists(
    OpBuilder &b, Location loc, const BlockMask &mask, StringRef batchDim,
    Value batch, Value head, Value keyTile, int64_t tileKv, int64_t tileQ,
    Value queryLen, Value keyLen) {
  assert(mask.hasTransposed() && "the verifier requires transposed lists");
  ListSide side{typeOf(mask.queryCounts), typeOf(mask.queryIndices),
                typeOf(mask.fullQueryCounts), typeOf(mask.fullQueryIndices),
                kQNumBlocksName,  kQIndicesName,
                kFullQNumBlocksName,  kFullQIndicesName, mask.keyBlock,
                tileKv,               mask.queryBlock,   tileQ,
                keyLen,               queryLen};
  return buildLists(b, loc, side, batchDim, batch, head, keyTile, "key_block");
}

BlockLists mlir::flash::buildTileLists(OpBuilder &b, Location loc,
                                       RankedTensorType counts,
                                       RankedTensorType indices,
                                       StringRef batchDim, Value batch,
                                       Value head, Value queryTile,
                                       int64_t tileQ, int64_t tileKv,
                                       Value queryLen, Value keyLen) {
  ListSide side{counts,      indices,     counts,
                indices,     kKvNumBlocksName, kKvIndicesName,
                kFullKvNumBlocksName, kFullKvIndicesName,
                tileQ,       tileQ,       tileKv,
                tileKv,      queryLen,    keyLen};
  return buildLists(b, loc, side, batchDim, batch, head, queryTile, "query_block");
}

BlockLists mlir::flash::buildTransposedTileLists(
    OpBuilder &b, Location loc, RankedTensorType counts, RankedTensorType indices,
    StringRef batchDim, Value batch, Value head, Value keyTile, int64_t tileKv,
    int64_t tileQ, Value queryLen, Value keyLen) {
  ListSide side{counts,          indices,         counts,
                indices,         kQNumBlocksName, kQIndicesName,
                kFullQNumBlocksName, kFullQIndicesName,
                tileKv,          tileKv,          tileQ,
                tileQ,           keyLen,          queryLen};
  return buildLists(b, loc, side, batchDim, batch, head, keyTile, "key_block");
}

BlockLists BlockLists::atHead(OpBuilder &b, Location loc, Value other) const {
  IndexBuilder ib{b, loc};
  BlockLists lists = *this;
  lists.head = other;
  readCounts(ib, lists);
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
  Value raw = readList(ib, list, {batch, head, rowBlock, block});
  if (fullIndices)
    raw = arith::SelectOp::create(
        b, loc, full, readList(ib, fullIndices, {batch, head, rowBlock, block}),
        raw);
  // An index outside [0, blocks) names no block: the tile past the end,
  // which every kernel loads as zeros and masks out.
  Value named = ib.andI(ib.le(ib.c(0), raw), ib.lt(raw, blocks));
  Value tile = tilesPerBlock == 1 ? raw : ib.add(ib.mul(raw, per), ib.rem(slot, per));
  return arith::SelectOp::create(b, loc, named, tile, tiles);
}
