//===- LowerAttention.cpp - flash.attention to flash.kernel ops -----------===//
//
// The attention builder of flash-lower-kernels (FlashLowerKernels.cpp):
// builds, for one schedule of a flash.attention (flash2 or flash3; the
// small-cache flash2_dsplit in LowerAttentionDSplit.cpp), a
// flash.kernel: the grid mapping, the key/value tile range that
// the mask leaves, the split into masked and unmasked tile loops, the async
// load pipeline and the tile ops, with the user's regions cloned in as scalar
// code. The emitter in codegen/ prints exactly this IR.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/BlockLists.h"
#include "passes/IndexBuilder.h"
#include "passes/OpProblems.h"

#include "dialect/BlockMask.h"
#include "dialect/PagedKv.h"
#include "dialect/RegionOps.h"
#include "dialect/ScoreBias.h"
#include "dialect/Varlen.h"
#include "dialect/ScheduleConversion.h"


#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

DictionaryAttr mlir::flash::attentionProblemAttr(OpBuilder &b,
                                                 const AttentionKernelPlan &plan,
                                                 StringRef opName,
                                                 int64_t variant) {
  AttentionOp op = plan.op;
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("op", b.getStringAttr(opName)),
      b.getNamedAttr("variant", b.getI64IntegerAttr(variant)),
      b.getNamedAttr("element_type",
                     TypeAttr::get(op.getQ().getType().getElementType())),
      b.getNamedAttr("q_heads", b.getI64IntegerAttr(plan.queryHeads)),
      b.getNamedAttr("kv_heads", b.getI64IntegerAttr(plan.keyHeads)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(plan.headDim)),
      b.getNamedAttr("value_dim", b.getI64IntegerAttr(plan.valueDim)),
      b.getNamedAttr("scale", b.getF32FloatAttr(op.getEffectiveScale())),
      // q k^T * score_scale is the score the score_map region sees;
      // softmax_scale times what it yields is the softmax's argument
      // (ScoreScaling.h: the constant factors taken out of score_mod).
      b.getNamedAttr("score_scale",
                     b.getF64FloatAttr(op.getEffectiveScale() * plan.scaling.lead)),
      b.getNamedAttr("softmax_scale", b.getF64FloatAttr(plan.scaling.trail)),
      b.getNamedAttr("mask", b.getStringAttr(stringifyMaskKind(plan.mask))),
      b.getNamedAttr("window", b.getI64IntegerAttr(plan.window)),
      // score_mod / mask_mod code runs on every score, reading the score
      // alone (1) or positions too (2): Flash3Layout.h's register rule.
      b.getNamedAttr("element_mods",
                     b.getI64IntegerAttr(static_cast<int64_t>(
                         attentionElementMods(op)))),
      b.getNamedAttr("dims", b.getStrArrayAttr({op.getBatchDimName(),
                                                op.getQueryDimName(),
                                                op.getKeyDimName()})),
  };
  // Rotated q and k (dialect/Rotary.h): R, what the pipe's plan counts.
  if (plan.rotary)
    entries.push_back(b.getNamedAttr("rotary_dims", b.getI64IntegerAttr(plan.rotary->dims)));
  // [Qb, Kb] of a block mask (dialect/BlockMask.h): the kernel walks lists.
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation()))
    entries.push_back(b.getNamedAttr(
        "block_mask", b.getDenseI64ArrayAttr({mask->queryBlock, mask->keyBlock})));
  else if (plan.schedule && plan.schedule.getMaskLists())
    entries.push_back(b.getNamedAttr(
        "block_mask", b.getDenseI64ArrayAttr({plan.schedule.getTileQ(),
                                              plan.schedule.getTileKv()})));
  return b.getDictionaryAttr(entries);
}

ScoreMapOp mlir::flash::buildScoreMap(OpBuilder &b, Location loc,
                                      const ScoreMapSource &src, Value batch,
                                      Value head, Value queryTile,
                                      Value keyTile, Value keyLen,
                                      Value queryLen, Value offset,
                                      bool masked, Operation *hoistBefore) {
  auto scoreMap = ScoreMapOp::create(b, loc, batch, head, queryTile, keyTile);
  Block &body = *b.createBlock(&scoreMap.getBody());
  Type f32 = b.getF32Type(), index = b.getIndexType();
  body.addArguments({f32, index, index, index, index},
                    SmallVector<Location>(5, loc));
  b.setInsertionPointToStart(&body);
  IndexBuilder ib{b, loc};
  Value score = body.getArgument(0);
  Value iIdx = body.getArgument(3), jIdx = body.getArgument(4);
  bool headPerElement = false;
  if (src.packedGroup > 0) {
    // A packed row names its query head and token.
    Value row = iIdx, group = ib.c(src.packedGroup);
    iIdx = arith::DivUIOp::create(b, loc, row, group);
    head = ib.add(ib.mul(head, group), arith::RemUIOp::create(b, loc, row, group));
    headPerElement = true;
  }

  if (src.scoreMod)
    score = inlineScalarRegion(b, *src.scoreMod,
                               {score, batch, head, iIdx, jIdx},
                               {true, false, headPerElement, true, true},
                               src.scaling, hoistBefore);

  Value visible = arith::ConstantIntOp::create(b, loc, 1, 1);
  if (masked) {
    visible = ib.lt(jIdx, keyLen);
    if (queryLen)
      visible = ib.andI(visible, ib.lt(iIdx, queryLen));
    Value diag = ib.add(iIdx, offset); // query i's own position in keys
    if (src.mask == MaskKind::causal || src.mask == MaskKind::sliding_window)
      visible = ib.andI(visible, ib.le(jIdx, diag));
    if (src.mask == MaskKind::sliding_window)
      visible = ib.andI(visible, ib.lt(ib.sub(diag, jIdx), ib.c(src.window)));
    if (src.maskMod)
      visible = ib.andI(visible,
                        inlineScalarRegion(b, *src.maskMod,
                                           {batch, head, iIdx, jIdx},
                                           {false, headPerElement, true, true},
                                           ScoreScaling(), hoistBefore));
  }
  ScoreYieldOp::create(b, loc, score, visible);
  b.setInsertionPointAfter(scoreMap);
  return scoreMap;
}

TileRange mlir::flash::keyTilesOfQueryTile(OpBuilder &b, Location loc,
                                           MaskKind mask, int64_t window,
                                           bool hasMaskMod, Value q0,
                                           int64_t tileQ, int64_t tileKv,
                                           Value queryLen, Value keyLen,
                                           Value offset,
                                           const KeyBoundOfRow &keyBound) {
  IndexBuilder ib{b, loc};
  Value tileKvV = ib.c(tileKv);
  Value zero = ib.c(0);
  Value keyTiles = ib.ceilDiv(keyLen, tileKvV);
  // [lo, hi): key tiles any row of this query tile may see.
  Value lo = zero, hi = keyTiles;
  // [fullLo, fullHi): tiles every row sees entirely, so no mask is applied.
  Value fullLo = zero, fullHi = ib.floorDiv(keyLen, tileKvV);
  bool causalLike =
      mask == MaskKind::causal || mask == MaskKind::sliding_window;
  // The tile's last row (q0 + tileQ - 1, at most N - 1).
  Value lastRow = ib.min(ib.add(q0, ib.c(tileQ - 1)), ib.sub(queryLen, ib.c(1)));
  // Tiles below this need no mask_mod (what the first row keeps).
  Value maskModFullHi;
  if (hasMaskMod && keyBound) {
    // Keys the mask_mod hides from every row of the tile (MaskModBounds.h):
    // the tiles from its bound on are never loaded.
    MaskModKeyBound last = keyBound(lastRow);
    if (last.bound)
      hi = ib.min(hi, ib.ceilDiv(ib.max(last.bound, zero), tileKvV));
    // The region's form is the same at every row: it keeps a prefix at the
    // first row where it does at the last.
    if (last.keep)
      maskModFullHi = ib.floorDiv(ib.max(keyBound(q0).keep, zero), tileKvV);
  }
  if (causalLike) {
    // The last row sees keys up to its diagonal.
    Value lastKey = ib.add(lastRow, offset);
    hi = ib.clamp(ib.add(ib.floorDiv(lastKey, tileKvV), ib.c(1)), zero, hi);
    // Tiles whose last key is at or before the first row's diagonal.
    fullHi = ib.min(fullHi, ib.floorDiv(ib.add(ib.add(q0, offset), ib.c(1)), tileKvV));
  }
  if (mask == MaskKind::sliding_window) {
    Value w = ib.c(window);
    // The first row sees keys from q0 + offset - window + 1 on.
    Value firstKey = ib.sub(ib.add(ib.add(q0, offset), ib.c(1)), w);
    lo = ib.clamp(ib.floorDiv(firstKey, tileKvV), zero, hi);
    // Every row sees key j >= (q0 + tileQ - 1) + offset - window + 1.
    Value needFrom = ib.sub(ib.add(ib.add(q0, offset), ib.c(tileQ)), w);
    fullLo = ib.ceilDiv(needFrom, tileKvV);
  }
  if (maskModFullHi) {
    // Every row keeps the keys below what the first row keeps (mask_mod
    // j < bound(i) exactly, or a disjunction with such a test).
    fullHi = ib.min(fullHi, maskModFullHi);
  } else if (hasMaskMod) {
    // Arbitrary mask_mod: every tile is masked element by element.
    fullLo = hi;
    fullHi = hi;
  }
  fullLo = ib.clamp(fullLo, lo, hi);
  fullHi = ib.clamp(fullHi, fullLo, hi);
  return {lo, hi, fullLo, fullHi};
}

TileRange mlir::flash::queryTilesOfKeyTile(OpBuilder &b, Location loc,
                                           MaskKind mask, int64_t window,
                                           bool hasMaskMod, Value k0,
                                           int64_t tileQ, int64_t tileKv,
                                           Value queryLen, Value keyLen,
                                           Value offset) {
  IndexBuilder ib{b, loc};
  Value tileQV = ib.c(tileQ), zero = ib.c(0);
  Value queryTiles = ib.ceilDiv(queryLen, tileQV);
  Value lo = zero, hi = queryTiles;
  Value fullLo = zero, fullHi = ib.floorDiv(queryLen, tileQV);
  bool causalLike =
      mask == MaskKind::causal || mask == MaskKind::sliding_window;
  if (causalLike) {
    // Query i sees key j <= i + offset: key k0 is first seen by row
    // k0 - offset, the tile's last key by row k0 + tileKv - 1 - offset.
    lo = ib.clamp(ib.floorDiv(ib.sub(k0, offset), tileQV), zero, queryTiles);
    fullLo = ib.ceilDiv(ib.sub(ib.add(k0, ib.c(tileKv - 1)), offset), tileQV);
  }
  if (mask == MaskKind::sliding_window) {
    Value w = ib.c(window);
    // Row i sees key j while i + offset - j < window: the tile's last key
    // is seen up to row k0 + tileKv - 1 - offset + window - 1, and every
    // key of the tile by rows q0 with q0 + tileQ - 1 + offset - k0 < window.
    Value lastRow = ib.sub(ib.add(k0, ib.c(tileKv + window - 2)), offset);
    hi = ib.clamp(ib.add(ib.floorDiv(lastRow, tileQV), ib.c(1)), lo, queryTiles);
    Value lastFullQ0 = ib.sub(ib.sub(ib.add(w, k0), offset), tileQV);
    fullHi = ib.min(fullHi, ib.add(ib.floorDiv(lastFullQ0, tileQV), ib.c(1)));
  }
  // A ragged key tile has zero-filled rows past M: masked everywhere.
  Value keyTileFull = ib.le(ib.add(k0, ib.c(tileKv)), keyLen);
  fullHi = arith::SelectOp::create(b, loc, keyTileFull, fullHi, zero);
  if (hasMaskMod) {
    fullLo = hi;
    fullHi = hi;
  }
  fullLo = ib.clamp(fullLo, lo, hi);
  fullHi = ib.clamp(fullHi, fullLo, hi);
  return {lo, hi, fullLo, fullHi};
}

QueryTileFrame mlir::flash::queryTileFrame(
    OpBuilder &b, Location loc, StringRef queryDim, StringRef keyDim,
    MaskKind mask, int64_t window, Region *maskMod, int64_t queryHeads,
    int64_t keyHeads, int64_t tileQ, int64_t tileKv, Value gridTile,
    Value batch, Value head, bool packedQueries, bool packedKeys) {
  IndexBuilder ib{b, loc};
  QueryTileFrame f;
  f.queryTile = gridTile;
  if (packedQueries || packedKeys) {
    auto sequence = SequenceOp::create(
        b, loc, b.getIndexType(), b.getIndexType(), batch,
        b.getStringAttr(queryDim), packedQueries, b.getStringAttr(keyDim),
        packedKeys);
    f.queryLen = sequence.getQueries();
    f.keyLen = sequence.getKeys();
  } else {
    f.queryLen = DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(queryDim));
  }
  if (mask == MaskKind::causal || maskMod) {
    // Causal tiles near the end see the most keys (and so do those of a
    // mask_mod whose key bound rises with the row, MaskModBounds.h): launch
    // them first so the last wave is made of short tiles.
    Value queryTiles = ib.ceilDiv(f.queryLen, ib.c(tileQ));
    f.queryTile = ib.named(ib.sub(ib.sub(queryTiles, ib.c(1)), gridTile), "query_tile");
  }
  if (!f.keyLen)
    f.keyLen = DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(keyDim));
  if (packedQueries) {
    // The grid covers the longest sequence; a shorter one's spare tiles
    // (negative when counted from its end) stop here.
    Value past = ib.orI(ib.lt(f.queryTile, ib.c(0)),
                        ib.le(f.queryLen, ib.mul(f.queryTile, ib.c(tileQ))));
    ExitIfOp::create(b, loc, past);
  }
  // GQA: query head h reads key/value head h / (Hq / Hkv).
  f.kvHead = head;
  if (queryHeads != keyHeads)
    f.kvHead = arith::DivUIOp::create(b, loc, head, ib.c(queryHeads / keyHeads));
  // Bottom-right aligned masks: query i sits at key position i + (M - N).
  f.offset = ib.sub(f.keyLen, f.queryLen);
  Value q0 = ib.mul(f.queryTile, ib.c(tileQ));
  f.keys = keyTilesOfQueryTile(
      b, loc, mask, window, maskMod != nullptr, q0, tileQ, tileKv, f.queryLen,
      f.keyLen, f.offset, [&](Value row) {
        return buildMaskModKeyBound(b, loc, *maskMod, batch, head, row);
      });
  return f;
}

void mlir::flash::buildKeyTileLoops(
    OpBuilder &b, Location loc, const TileRange &keys,
    llvm::function_ref<void(Value j, bool masked)> step) {
  IndexBuilder ib{b, loc};
  Value one = ib.c(1);
  auto loop = [&](Value from, Value to, bool masked) {
    auto forOp = scf::ForOp::create(b, loc, from, to, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    step(forOp.getInductionVar(), masked);
  };
  loop(keys.lo, keys.fullLo, /*masked=*/true);
  loop(keys.fullLo, keys.fullHi, /*masked=*/false);
  loop(keys.fullHi, keys.hi, /*masked=*/true);
}

/// The online softmax of a score tile, a share of its exponentials on the
/// FMA pipe where the plan says so.
static void buildSoftmaxUpdate(OpBuilder &b, Location loc,
                               const AttentionKernelPlan &plan, bool masked) {
  SoftmaxUpdateOp::create(b, loc, masked, /*deferred=*/false,
                          plan.fmaExp2Every > 0
                              ? b.getI64IntegerAttr(plan.fmaExp2Every)
                              : IntegerAttr());
}

void mlir::flash::buildScoreMapAndSoftmax(OpBuilder &b, Location loc,
                                          const AttentionKernelPlan &plan,
                                          Value batch, Value head,
                                          Value queryTile, Value j,
                                          Value keyLen, Value offset,
                                          bool masked,
                                          Operation *hoistBefore) {
  buildScoreMap(b, loc, plan.scoreMapSource(), batch, head, queryTile, j,
                keyLen, /*queryLen=*/Value(), offset, masked, hoistBefore);
  buildSoftmaxUpdate(b, loc, plan, masked);
}

namespace {

/// Emits one key/value tile step: wait for this tile (the CTA-wide sync also
/// means every warp is done with the previous tile, so its stage is free),
/// prefetch the tile `stages - 1` ahead into that stage, then scores, online
/// softmax and P V.
static void buildKeyTileStep(OpBuilder &b, Location loc,
                             const AttentionKernelPlan &plan, Value j,
                             Value lo, Value hi, Value batch, Value head,
                             Value kvHead, Value queryTile, Value keyLen,
                             Value offset, bool masked,
                             Operation *hoistBefore,
                             const RotaryTables *rotary) {
  Value stage = buildKeyValueStep(b, loc, j, lo, hi, batch, kvHead, keyLen,
                                  plan.schedule.getTileKv(),
                                  plan.schedule.getStages(), plan.pageSize,
                                  nullptr, rotary);
  TileMmaOp::create(b, loc, TileProduct::qk, stage);
  buildScoreMapAndSoftmax(b, loc, plan, batch, head, queryTile, j, keyLen,
                          offset, masked, hoistBefore);
  TileMmaOp::create(b, loc, TileProduct::pv, stage);
}

/// The key loops of a query tile under a block mask (passes/BlockLists.h):
/// the partial blocks' tiles masked (mask kind, key bound, mask_mod), then
/// the full blocks' tiles, each either inside `interior` (the tiles the
/// mask kind and the key bound leave whole: no mask) or masked by them
/// alone (mask_mod is not evaluated on a full block).
static void buildBlockListLoops(OpBuilder &b, Location loc,
                                const AttentionKernelPlan &plan,
                                const BlockLists &lists,
                                const TileRange &interior, Value batch,
                                Value head, Value kvHead, Value queryTile,
                                Value keyLen, Value offset,
                                Operation *hoistBefore,
                                const RotaryTables *rotary) {
  IndexBuilder ib{b, loc};
  Value lo = ib.c(0), hi = lists.total, one = ib.c(1);
  auto tileOf = [&](Value position) { return lists.tileAt(b, loc, position); };
  auto loop = [&](Value from, Value to, bool full) {
    auto forOp = scf::ForOp::create(b, loc, from, to, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    Value p = forOp.getInductionVar();
    Value stage = buildKeyValueStep(b, loc, p, lo, hi, batch, kvHead, keyLen,
                                    plan.schedule.getTileKv(),
                                    plan.schedule.getStages(), plan.pageSize,
                                    tileOf, rotary);
    Value tile = lists.tileAt(b, loc, p);
    TileMmaOp::create(b, loc, TileProduct::qk, stage);
    if (!full) {
      buildScoreMapAndSoftmax(b, loc, plan, batch, head, queryTile, tile, keyLen,
                              offset, /*masked=*/true, hoistBefore);
    } else {
      ScoreMapSource src = plan.scoreMapSource();
      src.maskMod = nullptr;
      Value whole = ib.andI(ib.le(interior.fullLo, tile), ib.lt(tile, interior.fullHi));
      auto branch = scf::IfOp::create(b, loc, whole, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(branch.thenBlock());
        buildScoreMap(b, loc, src, batch, head, queryTile, tile, keyLen,
                      Value(), offset, /*masked=*/false, hoistBefore);
        b.setInsertionPointToStart(branch.elseBlock());
        buildScoreMap(b, loc, src, batch, head, queryTile, tile, keyLen,
                      Value(), offset, /*masked=*/true, hoistBefore);
      }
      buildSoftmaxUpdate(b, loc, plan, /*masked=*/true);
    }
    TileMmaOp::create(b, loc, TileProduct::pv, stage);
  };
  loop(lo, lists.partial, /*full=*/false);
  if (lists.fullIndices)
    loop(lists.partial, hi, /*full=*/true);
}

/// The CTA's (query tile, head, batch) counted in launch order. Where
/// query tiles cost different key-tile counts (causal masks, a mask_mod
/// whose key bound rises with the row) the launch goes heaviest first
/// over sections of heads whose keys and values fit in the L2 (a
/// one-dimensional grid): the hardware hands blocks out in index order, so
/// the last wave is made of the cheapest tiles, while every key tile read
/// from DRAM is read again from L2 by the section's other query tiles. The
/// sections are as even as the head count allows: a small last section
/// would start its heaviest tiles last, on few SMs (H200, causal d=128 at
/// N = 2048: sections of 25, 25, 25, 25, 25 and 3 heads ran 3-4% slower
/// than query tiles in order per head). Otherwise one grid dimension each,
/// the query tile fastest.
struct QueryTileGrid {
  Value tile, head, batch;
};
static QueryTileGrid buildQueryTileGrid(OpBuilder &b, Location loc,
                                        const AttentionKernelPlan &plan,
                                        const sched::Target &target,
                                        int64_t tileQ) {
  AttentionOp op = plan.op;
  std::string queryDim = op.getQueryDimName(), keyDim = op.getKeyDimName(),
              batchDim = op.getBatchDimName();
  std::string queryTiles = "cdiv(" + queryDim + "," + std::to_string(tileQ) + ")";
  bool costsDiffer = plan.mask == MaskKind::causal || op.hasMaskMod();
  if (!costsDiffer || plan.packedQueries || plan.packedKeys) {
    auto grid = GridMapOp::create(
        b, loc, TypeRange{b.getIndexType(), b.getIndexType(), b.getIndexType()},
        b.getStrArrayAttr({"query_tile", "head", "batch"}),
        b.getStrArrayAttr({queryTiles, std::to_string(plan.queryHeads), batchDim}));
    return {grid.getIds()[0], grid.getIds()[1], grid.getIds()[2]};
  }
  IndexBuilder ib{b, loc};
  auto grid = GridMapOp::create(
      b, loc, TypeRange{b.getIndexType()}, b.getStrArrayAttr({"tile"}),
      b.getStrArrayAttr({queryTiles + "*" + std::to_string(plan.queryHeads) +
                         "*" + batchDim}),
      /*uneven=*/true);
  Value t = grid.getIds()[0];
  Value tiles = ib.ceilDiv(DimOp::create(b, loc, b.getIndexType(),
                                         b.getStringAttr(queryDim)),
                           ib.c(tileQ));
  Value keys = DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(keyDim));
  Value heads = ib.mul(ib.c(plan.queryHeads),
                       DimOp::create(b, loc, b.getIndexType(),
                                     b.getStringAttr(batchDim)));
  // A query head's share of its key/value head's rows (GQA groups share).
  int64_t elementBytes =
      op.getK().getType().getElementType().getIntOrFloatBitWidth() / 8;
  int64_t keyRowBytes = std::max<int64_t>(
      1, (plan.headDim + plan.valueDim) * elementBytes * plan.keyHeads /
             plan.queryHeads);
  // The whole L2: a section's keys are read while its query tiles run,
  // and only the section's keys and values need to stay.
  int64_t budgetRows = std::max<int64_t>(1, target.l2Bytes / keyRowBytes);
  Value widest = ib.clamp(ib.floorDiv(ib.c(budgetRows), ib.max(keys, ib.c(1))),
                          ib.c(1), heads);
  Value section = ib.named(ib.ceilDiv(heads, ib.ceilDiv(heads, widest)),
                           "section_heads");
  Value first = ib.named(ib.mul(ib.floorDiv(t, ib.mul(section, tiles)), section),
                         "section_first");
  Value width = ib.named(ib.min(section, ib.sub(heads, first)), "section_width");
  Value within = ib.sub(t, ib.mul(first, tiles));
  Value headOfAll = ib.add(first, ib.rem(within, width));
  return {ib.named(ib.floorDiv(within, width), "query_rank"),
          ib.named(ib.rem(headOfAll, ib.c(plan.queryHeads)), "head_id"),
          ib.named(ib.floorDiv(headOfAll, ib.c(plan.queryHeads)), "batch_id")};
}

/// Builds `flash.kernel @name` for one schedule of an attention op.
static KernelOp buildKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                            const sched::Target &target, StringRef name,
                            StringRef opName, int64_t variant) {
  AttentionOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  auto kernel = KernelOp::create(b, loc, name, KernelFamily::attention, s,
                                   attentionProblemAttr(b, plan, opName, variant));
  Block *body = b.createBlock(&kernel.getBody());
  b.setInsertionPointToStart(body);
  IndexBuilder ib{b, loc};

  std::string queryDim = op.getQueryDimName(), keyDim = op.getKeyDimName();
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv();
  QueryTileGrid grid = buildQueryTileGrid(b, loc, plan, target, tileQ);
  Value head = grid.head, batch = grid.batch;
  QueryTileFrame f = queryTileFrame(
      b, loc, queryDim, keyDim, plan.mask, plan.window,
      op.hasMaskMod() ? &op.getMaskMod() : nullptr, plan.queryHeads,
      plan.keyHeads, tileQ, tileKv, grid.tile, batch, head,
      plan.packedQueries, plan.packedKeys);
  Value queryTile = f.queryTile, queryLen = f.queryLen, keyLen = f.keyLen,
        kvHead = f.kvHead, offset = f.offset, lo = f.keys.lo, hi = f.keys.hi;
  Value zero = ib.c(0);
  // A pre-pass wrote what this kernel reads (the mask_mod's tile lists, a
  // rotated copy of K): wait for that launch.
  bool prepass = s.getRotaryPrepass() != 0;
  bool maskLists = s.getMaskLists() != 0;
  if (maskLists)
    WaitPreviousLaunchOp::create(b, loc);
  // A block mask: the loops walk the query block's lists, not a range.
  std::optional<BlockLists> lists;
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation()))
    lists = buildBlockLists(b, loc, *mask, op.getBatchDimName(), batch, head,
                            queryTile, tileQ, tileKv, queryLen, keyLen);
  else if (maskLists)
    lists = buildMaskLists(b, loc, maskListsSource(plan), batch, head, queryTile,
                           queryLen, keyLen, /*transposed=*/false);
  if (lists) {
    lo = zero;
    hi = lists->total;
  }
  // Diagonal first: position p names key tile keys.hi - 1 - p; the copy
  // ring and the loops count positions, as under a block mask.
  bool diagonalFirst = walksKeysDiagonalFirst(op, s);
  Value lastKeyTile;
  if (diagonalFirst) {
    lo = zero;
    hi = ib.sub(f.keys.hi, f.keys.lo);
    lastKeyTile = ib.sub(f.keys.hi, ib.c(1));
  }

  std::optional<RotaryTables> rotary = buildRotaryTables(b, loc, plan);
  // K tiles are rotated as they land, unless a pre-pass rotated K.
  const RotaryTables *rotate = rotary && !prepass ? &*rotary : nullptr;
  if (prepass && !maskLists)
    WaitPreviousLaunchOp::create(b, loc);
  // Query tile, then the first stages - 1 key/value tiles, in flight at once.
  // Per-CTA values of the user's regions are computed just before this.
  Operation *queryLoad = TileLoadOp::create(b, loc, TensorRole::q, batch, head, queryTile, queryLen,
                       tileQ, zero, /*async=*/true);
  OutputInitOp::create(b, loc);
  auto tileOf = [&](Value position) {
    return lists ? lists->tileAt(b, loc, position) : ib.sub(lastKeyTile, position);
  };
  buildKeyValuePrologue(b, loc, batch, kvHead, lo, hi, keyLen, tileKv,
                        s.getStages(), plan.pageSize,
                        lists || diagonalFirst ? KeyTileOfPosition(tileOf) : nullptr);
  if (rotary)
    buildQueryRotation(b, loc, *rotary, batch, queryTile, queryLen, tileQ,
                       offset, s.getStages());

  if (lists) {
    // The tiles the mask kind and the key bound leave whole, without the
    // mask_mod (a full block's tiles skip it).
    TileRange whole = keyTilesOfQueryTile(
        b, loc, plan.mask, plan.window, /*hasMaskMod=*/false,
        ib.mul(queryTile, ib.c(tileQ)), tileQ, tileKv, queryLen, keyLen, offset);
    buildBlockListLoops(b, loc, plan, *lists, whole, batch, head, kvHead,
                        queryTile, keyLen, offset, queryLoad, rotate);
  } else if (diagonalFirst) {
    // The key range's segments mirrored: the diagonal's masked tiles, the
    // whole ones, then those a window's start masks.
    TileRange positions{/*lo=*/zero, /*hi=*/hi,
                        /*fullLo=*/ib.sub(f.keys.hi, f.keys.fullHi),
                        /*fullHi=*/ib.sub(f.keys.hi, f.keys.fullLo)};
    buildKeyTileLoops(b, loc, positions, [&](Value p, bool masked) {
      Value stage = buildKeyValueStep(b, loc, p, lo, hi, batch, kvHead, keyLen, tileKv,
                                      s.getStages(), plan.pageSize, tileOf, rotate);
      TileMmaOp::create(b, loc, TileProduct::qk, stage);
      buildScoreMapAndSoftmax(b, loc, plan, batch, head, queryTile, tileOf(p), keyLen,
                              offset, masked, queryLoad);
      TileMmaOp::create(b, loc, TileProduct::pv, stage);
    });
  } else {
    buildKeyTileLoops(b, loc, f.keys, [&](Value j, bool masked) {
      buildKeyTileStep(b, loc, plan, j, lo, hi, batch, head, kvHead, queryTile,
                       keyLen, offset, masked, queryLoad, rotate);
    });
  }

  auto store = OutputStoreOp::create(b, loc, TensorRole::o, batch, head, queryTile, queryLen);
  if (op.hasOutputMod())
    buildElementRegion(b, loc, op.getOutputMod(), store.getOutputMod(), batch, head,
                         queryLoad);
  return kernel;
}

} // namespace

/// An async copy of key tile `tile` of K or V into ring stage `stage`,
/// through the page table when the cache is paged (pageSize > 0).
static void loadKeyValueTile(OpBuilder &b, Location loc, TensorRole tensor,
                             Value batch, Value kvHead, Value tile,
                             Value keyLen, int64_t tileKv, Value stage,
                             int64_t pageSize) {
  TileLoadOp::create(b, loc, tensor, batch, kvHead, tile, keyLen, tileKv, stage,
                     /*async=*/true, /*col_tile=*/Value(), /*cols=*/IntegerAttr(),
                     /*group=*/IntegerAttr(),
                     pageSize > 0 ? b.getI64IntegerAttr(pageSize) : IntegerAttr());
}

void mlir::flash::buildKeyValuePrologue(OpBuilder &b, Location loc,
                                        Value batch, Value kvHead, Value lo,
                                        Value hi, Value keyLen, int64_t tileKv,
                                        int64_t stages, int64_t pageSize,
                                        KeyTileOfPosition tileOf) {
  IndexBuilder ib{b, loc};
  for (int64_t p = 0; p < stages - 1; ++p) {
    Value position = ib.add(lo, ib.c(p));
    auto guardIf = scf::IfOp::create(b, loc, ib.lt(position, hi), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(guardIf.thenBlock());
    Value tile = tileOf ? tileOf(position) : position;
    for (TensorRole tensor : {TensorRole::k, TensorRole::v})
      loadKeyValueTile(b, loc, tensor, batch, kvHead, tile, keyLen, tileKv,
                       ib.c(p), pageSize);
    b.setInsertionPointAfter(guardIf);
    TileCommitOp::create(b, loc);
  }
}

std::optional<RotaryTables>
mlir::flash::buildRotaryTables(OpBuilder &b, Location loc, Operation *attention) {
  std::optional<Rotary> rotary = rotaryOf(attention);
  if (!rotary)
    return std::nullopt;
  SmallVector<ExtraOperand> extras;
  if (auto forward = dyn_cast<AttentionOp>(attention))
    extras = forward.getExtraOperands();
  else
    extras = cast<AttentionGradOp>(attention).getExtraOperands();
  return RotaryTables{extraOperandValue(b, loc, extras[rotary->cosIndex]),
                      extraOperandValue(b, loc, extras[rotary->sinIndex]),
                      rotary->style, rotary->dims};
}

std::optional<RotaryTables>
mlir::flash::buildRotaryTables(OpBuilder &b, Location loc,
                               const AttentionKernelPlan &plan) {
  return buildRotaryTables(b, loc, plan.op.getOperation());
}

/// flash.tile_rotate of a landed tile of q or k.
static void rotateTile(OpBuilder &b, Location loc, const RotaryTables &tables,
                       TensorRole tensor, Value batch, Value rowTile,
                       Value extent, int64_t rows, Value stage, Value offset,
                       int64_t group) {
  TileRotateOp::create(b, loc, tensor, batch, rowTile, extent, uint64_t(rows),
                       stage, offset, tables.cos, tables.sin, tables.style,
                       uint64_t(tables.dims),
                       group > 0 ? b.getI64IntegerAttr(group) : IntegerAttr());
  BarrierOp::create(b, loc);
}

void mlir::flash::buildQueryRotation(OpBuilder &b, Location loc,
                                     const RotaryTables &tables, Value batch,
                                     Value queryTile, Value queryLen,
                                     int64_t tileQ, Value offset,
                                     int64_t stages, int64_t group) {
  IndexBuilder ib{b, loc};
  // The query tile is in the first commit group; stages - 1 were committed.
  TileWaitOp::create(b, loc, stages - 2);
  rotateTile(b, loc, tables, TensorRole::q, batch, queryTile, queryLen, tileQ,
             ib.c(0), offset, group);
}

Value mlir::flash::buildKeyValueStep(OpBuilder &b, Location loc, Value j,
                                     Value lo, Value hi, Value batch,
                                     Value kvHead, Value keyLen, int64_t tileKv,
                                     int64_t stages, int64_t pageSize,
                                     KeyTileOfPosition tileOf,
                                     const RotaryTables *rotary) {
  IndexBuilder ib{b, loc};
  Value stagesV = ib.c(stages);
  TileWaitOp::create(b, loc, stages - 2);
  if (rotary)
    rotateTile(b, loc, *rotary, TensorRole::k, batch, tileOf ? tileOf(j) : j,
               keyLen, tileKv, ib.rem(ib.sub(j, lo), stagesV), ib.c(0),
               /*group=*/0);
  Value ahead = ib.add(j, ib.c(stages - 1));
  auto prefetch = scf::IfOp::create(b, loc, ib.lt(ahead, hi), /*else=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(prefetch.thenBlock());
    Value stage = ib.rem(ib.sub(ahead, lo), stagesV);
    Value tile = tileOf ? tileOf(ahead) : ahead;
    for (TensorRole tensor : {TensorRole::k, TensorRole::v})
      loadKeyValueTile(b, loc, tensor, batch, kvHead, tile, keyLen, tileKv,
                       stage, pageSize);
  }
  TileCommitOp::create(b, loc);
  return ib.rem(ib.sub(j, lo), stagesV);
}

/// Whether `v` is positive wherever it is computed: an exponential, a
/// positive constant, or a product or sum of such.
static bool knownPositive(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (isa<math::ExpOp, math::Exp2Op>(def))
    return true;
  if (auto c = dyn_cast<arith::ConstantFloatOp>(def))
    return !c.value().isNegative() && !c.value().isZero() && !c.value().isNaN();
  if (isa<arith::MulFOp, arith::AddFOp>(def))
    return knownPositive(def->getOperand(0)) && knownPositive(def->getOperand(1));
  return false;
}

/// A causal or windowed mask whose score_mod adds a bias that rises toward
/// the diagonal (ALiBi's slope * (j - i), slope > 0; dialect/ScoreBias.h):
/// visited from the first key on, each key tile raises the row maxima by
/// the slope times the tile width, and the online softmax rescales O at
/// nearly every tile for the steep heads (an H100 probe: ALiBi ran 5-7%
/// slower than the same bias mirrored, whose maxima come first). From the
/// diagonal back, as FlashAttention visits every causal tile, the first
/// tile holds the maxima.
bool mlir::flash::walksKeysDiagonalFirst(AttentionOp op, ScheduleAttr s) {
  Algorithm algorithm = s.getAlgorithm();
  if ((algorithm != Algorithm::flash2 && algorithm != Algorithm::flash3) ||
      blockMaskOf(op.getOperation()) || s.getMaskLists() ||
      op.getMask() == MaskKind::none || !op.hasScoreMod())
    return false;
  std::optional<ScoreBias> bias = matchScoreBias(op.getScoreMod());
  return bias && bias->coefficients.second > 0 && knownPositive(bias->factor);
}

AttentionKernelPlan mlir::flash::attentionKernelPlan(AttentionOp op) {
  AttentionKernelPlan plan;
  plan.op = op;
  plan.queryHeads = op.getQ().getType().getDimSize(1);
  plan.keyHeads = op.getK().getType().getDimSize(1);
  plan.headDim = op.getQ().getType().getDimSize(3);
  plan.valueDim = op.getV().getType().getDimSize(3);
  plan.mask = op.getMask();
  plan.window = op.getWindow().value_or(0);
  auto func = op->getParentOfType<FunctionOpInterface>();
  plan.opName = func ? func.getName().str() : "attention";
  plan.scaling = analyzeScoreScaling(op.getScoreMod());
  if (std::optional<PagedKv> paged = pagedKvOf(op.getOperation()))
    plan.pageSize = paged->pageSize;
  plan.rotary = rotaryOf(op.getOperation());
  if (std::optional<Varlen> varlen = varlenOf(op.getOperation())) {
    plan.packedQueries = varlen->packedQueries();
    plan.packedKeys = varlen->packedKeys();
  }
  return plan;
}

void mlir::flash::buildAttentionKernels(OpBuilder &b,
                                        const AttentionKernelPlan &plan,
                                        const flashgen::schedule::Target &target,
                                        int64_t variant,
                                        SmallVectorImpl<KernelOp> &kernels) {
  std::string name = plan.opName + "_v" + std::to_string(variant);
  if (splitsKeys(plan.schedule.getAlgorithm()))
    buildDecodeKernels(b, plan, target, name, variant, kernels);
  else if (splitsHeadDim(plan.schedule.getAlgorithm()))
    kernels.push_back(buildDSplitAttentionKernel(b, plan, name, variant));
  else {
    if (plan.schedule.getRotaryPrepass())
      kernels.push_back(buildRotaryKeysKernel(b, plan, name + "_rotate_keys", variant));
    if (plan.schedule.getMaskLists())
      kernels.push_back(buildMaskListsKernel(b, plan, name + "_mask_lists", variant));
    kernels.push_back(buildKernel(b, plan, target, name, plan.opName, variant));
  }
}
