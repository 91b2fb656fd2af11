//===- LowerAttentionDSplit.cpp - the small-cache attention kernel --------===//
//
// flash2_dsplit, the attention schedule for on-chip memory smaller than
// d^2 words (Saha & Ye, "The I/O Complexity of Attention"; head dim 512,
// MLA's 576/512): neither a whole Q row block nor a whole K tile fits beside
// the output accumulator, so
//
//   - each CTA owns one query tile and one tile_dv-wide slice of the value
//     columns (grid x = query tiles x value slices): O's slice is all it
//     accumulates, and the slices recompute the same S = Q K^T;
//   - S of a key tile is accumulated over head-dim chunks: (Q chunk, K
//     chunk) pairs tile_d wide stream through a `stages`-deep ring, one
//     flat sequence over the CTA's key tiles, so chunk loads of the next
//     key tile overlap the current one's softmax and P V;
//   - on flash3_dsplit, where the whole query tile fits beside the ring
//     (schedule::dsplitQueryResident), Q's chunks are copied once into
//     slots of their own and the ring carries K chunks alone (the
//     products name Q's slot: `flash.tile_mma qk ... query_stage c`);
//   - the V slice of a key tile is copied with that tile's first chunk,
//     into one of two buffers (the ring runs at most one key tile ahead:
//     schedule/AttentionCost.h, kDSplitRingRule);
//   - on wgmma (flash3_dsplit) with a ring of 4 or more stages a chunk's
//     product stays in flight through the next step's copy wait and
//     barrier (`flash.mma_wait 1` after each issue, 0 after the last), so
//     the ring copies one chunk less ahead (dsplitAsyncProducts,
//     dsplitPrefetchDistance): the stage a product reads is refilled two
//     steps later, after every warpgroup has waited for it.
//
// Masks, score_mod and mask_mod, the three loops over key tiles (masked
// head, unmasked interior, masked tail) and the causal order of query tiles
// are the flash2 kernel's (LowerAttention.cpp).
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/IndexBuilder.h"
#include "passes/OpProblems.h"

#include "dialect/ScheduleConversion.h"
#include "schedule/AttentionCost.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The shapes and values the chunk stream of one CTA is built from.
struct ChunkStream {
  const AttentionKernelPlan &plan;
  Value batch, head, kvHead, queryTile, slice, queryLen, keyLen;
  Value lo, hi; // the key tiles this query tile visits
  int64_t chunks = 0; // D / tile_d per key tile
  int64_t ahead = 0;  // chunks copied ahead of the one computed
  bool asyncProducts = false; // chunk products left in flight one step
  bool residentQuery = false; // Q's chunks copied once (dsplitQueryResident)

  /// Issues chunk `t` of the stream (key tile lo + t / chunks, head-dim
  /// chunk t % chunks) into ring stage t % stages when its key tile is
  /// before hi; a key tile's first chunk also brings its V slice, into
  /// buffer (key tile - lo) % 2. Then closes the copy group (always, so
  /// tile_wait counts one group per chunk).
  void issue(OpBuilder &b, Location loc, Value t) const {
    IndexBuilder ib{b, loc};
    ScheduleAttr s = plan.schedule;
    Value keyTile = ib.add(lo, ib.floorDiv(t, ib.c(chunks)));
    Value chunk = ib.rem(t, ib.c(chunks));
    auto inRange = scf::IfOp::create(b, loc, ib.lt(keyTile, hi), false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(inRange.thenBlock());
      Value stage = ib.rem(t, ib.c(s.getStages()));
      auto columns = b.getI64IntegerAttr(s.getTileD());
      if (!residentQuery)
        TileLoadOp::create(b, loc, TensorRole::q, batch, head, queryTile,
                           queryLen, s.getTileQ(), stage, /*async=*/true, chunk,
                           columns, /*group=*/IntegerAttr(), /*page_size=*/IntegerAttr());
      TileLoadOp::create(b, loc, TensorRole::k, batch, kvHead, keyTile,
                         keyLen, s.getTileKv(), stage, /*async=*/true, chunk,
                         columns, /*group=*/IntegerAttr(), /*page_size=*/IntegerAttr());
      auto first = scf::IfOp::create(b, loc, ib.eq(chunk, ib.c(0)), false);
      b.setInsertionPointToStart(first.thenBlock());
      TileLoadOp::create(b, loc, TensorRole::v, batch, kvHead, keyTile, keyLen,
                         s.getTileKv(), ib.rem(ib.sub(keyTile, lo), ib.c(2)),
                         /*async=*/true, slice,
                         b.getI64IntegerAttr(s.getTileDv()),
                         /*group=*/IntegerAttr(), /*page_size=*/IntegerAttr());
    }
    TileCommitOp::create(b, loc);
  }

  /// A resident query tile: every head-dim chunk c into slot c, once,
  /// where the CTA visits a key tile; no commit of its own, so the copies
  /// join the group of the first chunk issued after them.
  void loadResidentQuery(OpBuilder &b, Location loc) const {
    IndexBuilder ib{b, loc};
    ScheduleAttr s = plan.schedule;
    auto any = scf::IfOp::create(b, loc, ib.lt(lo, hi), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(any.thenBlock());
    for (int64_t c = 0; c < chunks; ++c)
      TileLoadOp::create(b, loc, TensorRole::q, batch, head, queryTile, queryLen,
                         s.getTileQ(), ib.c(c), /*async=*/true, ib.c(c),
                         b.getI64IntegerAttr(s.getTileD()), /*group=*/IntegerAttr(),
                         /*page_size=*/IntegerAttr());
  }
};

/// One key tile j: S accumulated over its chunks (each step waits for its
/// chunk, whose CTA-wide sync also frees the stage the prefetch refills),
/// then the score map, the online softmax and O += P V of its V slice.
void buildKeyTile(OpBuilder &b, Location loc, const ChunkStream &stream,
                  Value j, Value offset, bool masked, Operation *hoistBefore) {
  IndexBuilder ib{b, loc};
  ScheduleAttr s = stream.plan.schedule;
  int64_t stages = s.getStages();
  ScoreClearOp::create(b, loc);
  auto chunkLoop =
      scf::ForOp::create(b, loc, ib.c(0), ib.c(stream.chunks), ib.c(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(chunkLoop.getBody()->getTerminator());
    Value c = chunkLoop.getInductionVar();
    Value t = ib.add(ib.mul(ib.sub(j, stream.lo), ib.c(stream.chunks)), c);
    // Chunk t landed (at most ahead - 1 younger copy groups in flight).
    TileWaitOp::create(b, loc, stream.ahead - 1);
    stream.issue(b, loc, ib.add(t, ib.c(stream.ahead)));
    TileMmaOp::create(b, loc, TileProduct::qk, ib.rem(t, ib.c(stages)),
                      /*async=*/stream.asyncProducts, /*accumulate=*/true,
                      /*query_stage=*/stream.residentQuery ? c : Value());
    if (stream.asyncProducts) // chunk t - 1's product is done; t's may run
      MmaWaitOp::create(b, loc, 1, /*score=*/true, /*output=*/false);
  }
  if (stream.asyncProducts)
    MmaWaitOp::create(b, loc, 0, /*score=*/true, /*output=*/false);
  buildScoreMapAndSoftmax(b, loc, stream.plan, stream.batch, stream.head,
                          stream.queryTile, j, stream.keyLen, offset, masked,
                          hoistBefore);
  // The last chunk's wait covered the V slice (copied with the first).
  TileMmaOp::create(b, loc, TileProduct::pv, ib.rem(ib.sub(j, stream.lo), ib.c(2)));
}

} // namespace

KernelOp mlir::flash::buildDSplitAttentionKernel(OpBuilder &b,
                                                 const AttentionKernelPlan &plan,
                                                 StringRef name,
                                                 int64_t variant) {
  AttentionOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  auto kernel = KernelOp::create(b, loc, name, KernelFamily::attention, s,
                                 attentionProblemAttr(b, plan, plan.opName, variant));
  Block *body = b.createBlock(&kernel.getBody());
  b.setInsertionPointToStart(body);
  IndexBuilder ib{b, loc};

  std::string queryDim = op.getQueryDimName(), keyDim = op.getKeyDimName(),
              batchDim = op.getBatchDimName();
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv();
  int64_t slices = plan.valueDim / s.getTileDv();
  // The slices of one query tile are neighbours in x, so they run together
  // and share their Q and K chunks in L2.
  Type index = b.getIndexType();
  auto grid = GridMapOp::create(
      b, loc, TypeRange{index, index, index},
      b.getStrArrayAttr({"query_slice", "head", "batch"}),
      b.getStrArrayAttr({"cdiv(" + queryDim + "," + std::to_string(tileQ) +
                             ")*" + std::to_string(slices),
                         std::to_string(plan.queryHeads), batchDim}));
  Value querySlice = grid.getIds()[0], head = grid.getIds()[1],
        batch = grid.getIds()[2];
  Value slice = ib.rem(querySlice, ib.c(slices));
  QueryTileFrame f = queryTileFrame(
      b, loc, queryDim, keyDim, plan.mask, plan.window,
      op.hasMaskMod() ? &op.getMaskMod() : nullptr, plan.queryHeads,
      plan.keyHeads, tileQ, tileKv, ib.floorDiv(querySlice, ib.c(slices)),
      batch, head);

  flashgen::schedule::Algorithm algorithm = toLibrary(s.getAlgorithm());
  ChunkStream stream{plan,
                     batch,
                     head,
                     f.kvHead,
                     f.queryTile,
                     slice,
                     f.queryLen,
                     f.keyLen,
                     f.keys.lo,
                     f.keys.hi,
                     plan.headDim / s.getTileD(),
                     flashgen::schedule::dsplitPrefetchDistance(
                         algorithm, s.getStages()),
                     flashgen::schedule::dsplitAsyncProducts(
                         algorithm, s.getStages()),
                     flashgen::schedule::dsplitQueryResident(
                         attentionKernelProblem(op), toLibrary(s))};
  // Per-CTA values of the user's regions are computed before the stream.
  Operation *streamStart = OutputInitOp::create(b, loc);
  if (stream.residentQuery)
    stream.loadResidentQuery(b, loc);
  for (int64_t p = 0; p < stream.ahead; ++p)
    stream.issue(b, loc, ib.c(p));

  buildKeyTileLoops(b, loc, f.keys, [&](Value j, bool masked) {
    buildKeyTile(b, loc, stream, j, f.offset, masked, streamStart);
  });

  OutputStoreOp::create(b, loc, TensorRole::o, batch, head, f.queryTile,
                        f.queryLen, slice);
  return kernel;
}
