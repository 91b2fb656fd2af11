//===- BlockLists.h - a tile's listed tiles under a block mask --*- C++ -*-===//
//
// Under a block-sparse mask (dialect/BlockMask.h) a tile does not walk a
// range of tiles of the other side but its block's lists. The forward (and
// the gradient's dq kernel) walk a query tile's key tiles through the kv
// lists; the gradient's kv kernel walks a key tile's query tiles through
// the transposed lists (q_num_blocks, q_indices). Positions [0, partial)
// name the tiles of the first count blocks of the partial list, [partial,
// total) those of the full list's, each block's tiles in order. The loops,
// the copy ring and the producer warpgroup count positions; `tileAt` turns
// one into the tile it loads and masks (plain index math and clamped list
// reads, so flash-warp-specialize can clone it into either warpgroup).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_BLOCKLISTS_H
#define FLASHGEN_PASSES_BLOCKLISTS_H

#include "dialect/BlockMask.h"
#include "dialect/FlashDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir::flash {

struct BlockLists {
  /// Positions of the partial blocks' tiles, and of all listed tiles.
  Value partial, total;
  /// What tileAt reads: the lists (flash.extra), the list row's indices,
  /// the listed side's block and tile counts (an index past the blocks
  /// names no block; tileAt gives the tile past the end for it).
  Value indices, fullIndices, batch, head, rowBlock, blocks, tiles;
  /// The count lists (fullCounts null without full lists).
  Value counts, fullCounts;
  int64_t tilesPerBlock = 1;

  /// The listed tile at `position` (built at b's insertion point): a
  /// listed block's tile, or `tiles` (past the end: loads zero-fill it,
  /// masks hide it) where the list names no block.
  Value tileAt(OpBuilder &b, Location loc, Value position) const;

  /// The same lists read for another query head (a GQA group's kv kernel
  /// walks each head's): the counts re-read at `other`, built at b's
  /// insertion point; the list operands are shared.
  BlockLists atHead(OpBuilder &b, Location loc, Value other) const;
};

/// The lists of the query tile `queryTile` (tile_q rows) of (batch, query
/// head), built at b's insertion point; queryLen and keyLen are the op's
/// N and M, `batchDim` the name of its batch size (a list's dynamic dim 0).
BlockLists buildBlockLists(OpBuilder &b, Location loc, const BlockMask &mask,
                           StringRef batchDim, Value batch, Value head,
                           Value queryTile, int64_t tileQ, int64_t tileKv,
                           Value queryLen, Value keyLen);

/// The lists a mask_lists schedule's pre-pass writes to the workspace
/// (LowerAttentionMaskLists.cpp), of types `counts` ([B|1, Hq|1,
/// cdiv(N, tile_q)]) and `indices` ([.., cdiv(M, tile_kv)]), for partial
/// and whole tiles alike: blocks of one tile each.
BlockLists buildTileLists(OpBuilder &b, Location loc, RankedTensorType counts,
                          RankedTensorType indices, StringRef batchDim,
                          Value batch, Value head, Value queryTile,
                          int64_t tileQ, int64_t tileKv, Value queryLen,
                          Value keyLen);

/// The same pre-pass's transposed lists (q_num_blocks, q_indices, full_*)
/// of key tile `keyTile`: counts [B|1, Hq|1, cdiv(M, tile_kv)], indices
/// [.., cdiv(N, tile_q)], blocks of one tile each.
BlockLists buildTransposedTileLists(OpBuilder &b, Location loc,
                                    RankedTensorType counts,
                                    RankedTensorType indices, StringRef batchDim,
                                    Value batch, Value head, Value keyTile,
                                    int64_t tileKv, int64_t tileQ,
                                    Value queryLen, Value keyLen);

/// The transposed lists (the mask must have them) of the key tile
/// `keyTile` (tile_kv keys) seen by query head `head`: positions name the
/// query tiles of tile_q rows whose blocks list the key tile's block.
BlockLists buildTransposedBlockLists(OpBuilder &b, Location loc,
                                     const BlockMask &mask, StringRef batchDim,
                                     Value batch, Value head, Value keyTile,
                                     int64_t tileKv, int64_t tileQ,
                                     Value queryLen, Value keyLen);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_BLOCKLISTS_H
