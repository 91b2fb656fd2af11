//===- Visibility.h - which scores a mask leaves, and which tiles -*- C++ -*-===//
//
// Exact counts, per (batch, query head), of the (query, key) pairs a mask
// kind leaves visible (for the lower bounds) and of the key tiles a
// flash-style kernel visits for a tiling (for the cost model). The key range
// of a query tile is the one flash-lower-kernels builds
// (passes/LowerAttention.cpp, docs/emitter-target.md §6): whole key tiles from
// the first one any row of the tile may see to the last.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_VISIBILITY_H
#define FLASHGEN_SCHEDULE_VISIBILITY_H

#include "schedule/Problem.h"

#include <cstdint>

namespace flashgen::schedule {

/// What the mask kind leaves visible for one (batch, query head). A
/// mask_mod is treated as hiding nothing more (its sparsity is unknown).
struct Visibility {
  int64_t pairs = 0;     ///< visible (query, key) pairs
  int64_t queryRows = 0; ///< queries that see at least one key
  int64_t keyRows = 0;   ///< keys that at least one query sees
};
Visibility attentionVisibility(const AttentionProblem &p);

/// What a (tileQ, tileKv) tiling visits, per (batch, query head).
struct TileVisit {
  int64_t queryTiles = 0;     ///< cdiv(N, tileQ)
  int64_t keyTiles = 0;       ///< cdiv(M, tileKv)
  int64_t tilePairs = 0;      ///< (query tile, key tile) pairs computed
  int64_t keyRowsLoaded = 0;  ///< sum over query tiles of key rows loaded
  int64_t queryRowLoads = 0;  ///< sum over query tiles of rows x key tiles
  /// Tile pairs that need the element-wise mask (diagonal, window edge,
  /// ragged end; every tile with a mask_mod).
  int64_t maskedTilePairs = 0;
  /// The most query tiles whose key range holds one key row: how many CTAs
  /// of a head read the same K/V bytes (the reuse span of the L2 model).
  int64_t queryTilesPerKeyRow = 0;
};
/// O(tileKv log N): runs of query tiles that repeat are summed in closed
/// form (Visibility.cpp, TileWalk), so N = 2^31 costs what N = 4096 does.
TileVisit visitTiles(const AttentionProblem &p, int64_t tileQ, int64_t tileKv);
/// The same counts summed query tile by query tile, O(N / tileQ): the
/// reference the tests hold visitTiles to.
TileVisit visitTilesOneByOne(const AttentionProblem &p, int64_t tileQ,
                             int64_t tileKv);

/// sum_{x = a}^{a + n - 1} clamp(x, 0, hi), exactly (a may be negative).
int64_t sumClamped(int64_t a, int64_t n, int64_t hi);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_VISIBILITY_H
