//===- LowerAttentionDecode.cpp - flash_decode kernels --------------------===//
//
// The flash_decode builder of flash-lower-kernels: for one schedule of a
// flash.attention with few query rows, two kernels launched in order.
//
//   <name>       family attention: one CTA per (key split, packed query
//                tile, kv head, batch). Its query tile holds the G query
//                heads of the kv head for tile_q / G tokens (row r: token
//                r / G of query head kv_head G + r % G), so K and V are
//                read once per group; its key tiles are the split's share
//                of the range the mask leaves the tile's tokens; the loop is
//                flash2's ring (buildKeyValueStep) and the score map
//                decodes each row's head and token (ScoreMapSource::
//                packedGroup). flash.split_store writes the rows, or with
//                several splits the split's f32 partial rows.
//   <name>_merge family attention_combine: one CTA per (packed query tile,
//                kv head, batch) merges the splits by log-sum-exp. Its
//                CTAs may start while the splits run (flash.
//                launch_dependents, flash.wait_previous_launch).
//
// The split count is a launch value (flash.launch_value) computed by
// schedule/DecodeSplit.h's rule, which the cost model prices too.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/IndexBuilder.h"
#include "passes/OpProblems.h"

#include "dialect/ScheduleConversion.h"
#include "schedule/DecodeSplit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// The sizes both kernels read: the split count, the packed rows of this
/// CTA's sequence, the batch, its sequence's query and key lengths, and
/// the longest query length (the scratch's padded rows follow it; with
/// packed sequences it differs from the sequence's).
struct DecodeSizes {
  Value splits, packedRows, batchLen, queryLen, keyLen, maxQueryLen;
};

std::string str(int64_t v) { return std::to_string(v); }

/// Scratch row of packed row tile*tile_q of split `split`:
/// ((split B + b) Hkv + kv_head) P + tile tile_q, with P = query tiles x
/// tile_q the padded packed rows of one (batch, kv head).
Value partialRow(IndexBuilder &ib, const DecodeSizes &z, Value split,
                 Value batch, Value kvHead, Value tile, int64_t kvHeads,
                 Value paddedRows, int64_t tileQ) {
  Value slab = ib.add(ib.mul(ib.add(ib.mul(split, z.batchLen), batch),
                             ib.c(kvHeads)),
                      kvHead);
  return ib.add(ib.mul(slab, paddedRows), ib.mul(tile, ib.c(tileQ)));
}

} // namespace

void mlir::flash::buildDecodeKernels(OpBuilder &b,
                                     const AttentionKernelPlan &plan,
                                     const sched::Target &target,
                                     StringRef name, int64_t variant,
                                     SmallVectorImpl<KernelOp> &kernels) {
  AttentionOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  const int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv();
  const int64_t group = plan.queryHeads / plan.keyHeads;
  const std::string batchDim = op.getBatchDimName(),
                    queryDim = op.getQueryDimName(), keyDim = op.getKeyDimName();
  sched::DecodeSplitRule rule = sched::decodeSplitRule(
      attentionKernelProblem(op), target, toLibrary(s));
  const std::string splitsExpr =
      sched::decodeSplitsExpr(rule, batchDim, queryDim, keyDim);
  const std::string tilesExpr = sched::decodeQueryTilesExpr(group, tileQ, queryDim);
  Type index = b.getIndexType();

  // Sizes, in the kernel being built; with packed (varlen) sequences
  // (dialect/Varlen.h) the lengths are the CTA's sequence's
  // (flash.sequence), of the keys too where `withKeys`.
  auto sizes = [&](IndexBuilder &ib, Value batch, bool withKeys) {
    DecodeSizes z;
    z.batchLen = DimOp::create(b, loc, index, b.getStringAttr(batchDim));
    z.maxQueryLen = DimOp::create(b, loc, index, b.getStringAttr(queryDim));
    if (plan.packedQueries || (withKeys && plan.packedKeys)) {
      auto sequence = SequenceOp::create(
          b, loc, index, index, batch, b.getStringAttr(queryDim),
          plan.packedQueries, b.getStringAttr(keyDim), withKeys && plan.packedKeys);
      z.queryLen = sequence.getQueries();
      z.keyLen = sequence.getKeys();
    } else {
      z.queryLen = z.maxQueryLen;
      z.keyLen = DimOp::create(b, loc, index, b.getStringAttr(keyDim));
    }
    z.splits = LaunchValueOp::create(b, loc, index, b.getStringAttr("kv_splits"),
                                     b.getStringAttr(splitsExpr));
    z.packedRows = ib.mul(z.queryLen, ib.c(group));
    return z;
  };
  auto paddedRowsOf = [&](IndexBuilder &ib, const DecodeSizes &z) {
    return ib.mul(ib.ceilDiv(ib.mul(z.maxQueryLen, ib.c(group)), ib.c(tileQ)),
                  ib.c(tileQ));
  };
  // A packed sequence shorter than the longest has spare query tiles.
  auto exitPastSequence = [&](IndexBuilder &ib, const DecodeSizes &z, Value tile) {
    if (plan.packedQueries)
      ExitIfOp::create(b, loc, ib.le(z.packedRows, ib.mul(tile, ib.c(tileQ))));
  };

  // A kernel of `family` over the grid (x: `xRole` of extent `xExtent`, kv
  // head, batch), its body open at the builder.
  auto openKernel = [&](StringRef kernelName, KernelFamily family,
                        StringRef xRole, const std::string &xExtent) {
    auto kernel = KernelOp::create(b, loc, kernelName, family, s,
                                   attentionProblemAttr(b, plan, plan.opName, variant));
    b.setInsertionPointToStart(b.createBlock(&kernel.getBody()));
    auto grid = GridMapOp::create(
        b, loc, TypeRange{index, index, index},
        b.getStrArrayAttr({xRole, "kv_head", "batch"}),
        b.getStrArrayAttr({xExtent, str(plan.keyHeads), batchDim}));
    return std::make_pair(kernel, grid);
  };

  // The split kernel.
  {
    auto [kernel, grid] = openKernel(name, KernelFamily::attention, "split_tile",
                                     splitsExpr + "*" + tilesExpr);
    IndexBuilder ib{b, loc};
    Value kvHead = grid.getIds()[1], batch = grid.getIds()[2];
    DecodeSizes z = sizes(ib, batch, /*withKeys=*/true);
    Value tile = arith::DivUIOp::create(b, loc, grid.getIds()[0], z.splits);
    Value split = arith::RemUIOp::create(b, loc, grid.getIds()[0], z.splits);
    exitPastSequence(ib, z, tile);
    // The merge's CTAs may become resident while the splits run: a step of
    // a few sequences is short, and the merge's launch latency is then not
    // added to it.
    LaunchDependentsOp::create(b, loc);
    Value offset = ib.sub(z.keyLen, z.queryLen);
    std::optional<RotaryTables> rotary = buildRotaryTables(b, loc, plan);

    // The tile's tokens: from row tile*tile_q's on, at most `span` of them
    // (exact when tile_q and G divide one another, one more otherwise; a
    // longer span only makes the range the mask leaves wider).
    int64_t span = tileQ % group == 0 || group % tileQ == 0
                       ? std::max<int64_t>(1, tileQ / group)
                       : tileQ / group + 2;
    Value firstToken =
        arith::DivUIOp::create(b, loc, ib.mul(tile, ib.c(tileQ)), ib.c(group));
    // A key bound a mask_mod proves (MaskModBounds.h: per-sequence lengths)
    // holds for the whole packed tile only where the region does not read
    // the head, which differs between the tile's rows.
    auto maskModBound = [&](Value row) {
      return buildMaskModKeyBound(b, loc, op.getMaskMod(), batch,
                                  ib.mul(kvHead, ib.c(group)), row);
    };
    bool headFree =
        op.hasMaskMod() && op.getMaskMod().front().getArgument(1).use_empty();
    TileRange keys = keyTilesOfQueryTile(
        b, loc, plan.mask, plan.window, op.hasMaskMod(), firstToken, span,
        tileKv, z.queryLen, z.keyLen, offset,
        headFree ? KeyBoundOfRow(maskModBound) : KeyBoundOfRow());
    // This split's share: ceil((hi - lo) / splits) tiles from lo + split x
    // that share; the unmasked part clamped into it.
    Value share = ib.ceilDiv(ib.sub(keys.hi, keys.lo), z.splits);
    TileRange mine;
    mine.lo = ib.min(ib.add(keys.lo, ib.mul(split, share)), keys.hi);
    mine.hi = ib.min(ib.add(mine.lo, share), keys.hi);
    mine.fullLo = ib.clamp(keys.fullLo, mine.lo, mine.hi);
    mine.fullHi = ib.clamp(keys.fullHi, mine.fullLo, mine.hi);

    Operation *queryLoad = TileLoadOp::create(
        b, loc, TensorRole::q, batch, kvHead, tile, z.packedRows, tileQ,
        ib.c(0), /*async=*/true, /*col_tile=*/Value(), /*cols=*/IntegerAttr(),
        b.getI64IntegerAttr(group), /*page_size=*/IntegerAttr());
    OutputInitOp::create(b, loc);
    buildKeyValuePrologue(b, loc, batch, kvHead, mine.lo, mine.hi, z.keyLen,
                          tileKv, s.getStages(), plan.pageSize);
    if (rotary)
      buildQueryRotation(b, loc, *rotary, batch, tile, z.packedRows, tileQ,
                         offset, s.getStages(), group);
    ScoreMapSource source = plan.scoreMapSource();
    source.packedGroup = group;
    buildKeyTileLoops(b, loc, mine, [&](Value j, bool masked) {
      Value stage = buildKeyValueStep(b, loc, j, mine.lo, mine.hi, batch, kvHead,
                                      z.keyLen, tileKv, s.getStages(),
                                      plan.pageSize, nullptr,
                                      rotary ? &*rotary : nullptr);
      TileMmaOp::create(b, loc, TileProduct::qk, stage);
      buildScoreMap(b, loc, source, batch, kvHead, tile, j, z.keyLen,
                    z.queryLen, offset, masked, queryLoad);
      // Decoding reads the cache at the copy bandwidth: every exp2 on the
      // MUFU (schedule::fmaExp2Every balances compute-bound kernels).
      SoftmaxUpdateOp::create(b, loc, masked, /*deferred=*/false,
                              IntegerAttr());
      TileMmaOp::create(b, loc, TileProduct::pv, stage);
    });
    Value row = partialRow(ib, z, split, batch, kvHead, tile, plan.keyHeads,
                           paddedRowsOf(ib, z), tileQ);
    SplitStoreOp::create(b, loc, batch, kvHead, tile, z.packedRows, z.splits,
                         row, group);
    b.setInsertionPointAfter(kernel);
    kernels.push_back(kernel);
  }

  // The merge kernel.
  {
    auto [kernel, grid] = openKernel((name + "_merge").str(),
                                     KernelFamily::attention_combine,
                                     "query_tile", tilesExpr);
    IndexBuilder ib{b, loc};
    Value tile = grid.getIds()[0], kvHead = grid.getIds()[1],
          batch = grid.getIds()[2];
    DecodeSizes z = sizes(ib, batch, /*withKeys=*/false);
    exitPastSequence(ib, z, tile);
    Value padded = paddedRowsOf(ib, z);
    Value row = partialRow(ib, z, ib.c(0), batch, kvHead, tile, plan.keyHeads,
                           padded, tileQ);
    Value splitRows = ib.mul(ib.mul(z.batchLen, ib.c(plan.keyHeads)), padded);
    WaitPreviousLaunchOp::create(b, loc);
    SplitMergeOp::create(b, loc, batch, kvHead, tile, z.packedRows, z.splits,
                         row, splitRows, group);
    b.setInsertionPointAfter(kernel);
    kernels.push_back(kernel);
  }
}
