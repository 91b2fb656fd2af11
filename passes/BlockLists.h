//===- BlockLists.h - a query tile's key tiles under a block mask -*- C++ -*-===//
//
// Under a block-sparse mask (dialect/BlockMask.h) a query tile does not
// walk a range of key tiles but its query block's lists: positions
// [0, partial) name the key tiles of kv_indices' first kv_num_blocks
// blocks, [partial, total) those of full_kv_indices' blocks, each block
// Kb / tile_kv tiles in order. The key loops, the copy ring and the
// producer warpgroup count positions; `tileAt` turns one into the key
// tile it loads and masks (plain index math and clamped list reads, so
// flash-warp-specialize can clone it into either warpgroup).
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
  /// the key tile count (an index past it names no block).
  Value indices, fullIndices, batch, head, queryBlock, keyBlocks, keyTiles;
  int64_t tilesPerBlock = 1;

  /// The key tile at `position` (built at b's insertion point): a listed
  /// block's tile, or keyTiles (past the keys: loads zero-fill it, masks
  /// hide it) where the list names no block.
  Value tileAt(OpBuilder &b, Location loc, Value position) const;
};

/// The lists of the query tile `queryTile` (tile_q rows) of (batch, query
/// head), built at b's insertion point; queryLen and keyLen are the op's
/// N and M, `batchDim` the name of its batch size (a list's dynamic dim 0).
BlockLists buildBlockLists(OpBuilder &b, Location loc, const BlockMask &mask,
                           StringRef batchDim, Value batch, Value head,
                           Value queryTile, int64_t tileQ, int64_t tileKv,
                           Value queryLen, Value keyLen);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_BLOCKLISTS_H
