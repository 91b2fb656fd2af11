//===- LowerAttentionGrad.cpp - flash.attention_grad to kernels -----------===//
//
// The attention-gradient builder of flash-lower-kernels: for one schedule of
// a flash.attention_grad, the prep, kv and convert (or dq) kernels of
// FlashGradKernelOps.td, with the same score map as the forward (the user's
// score_mod and mask_mod cloned in, passes/LowerAttention.h) and
// score_mod's derivative (the op's score_grad region) cloned into
// flash.grad_scores. The emitter in codegen/attention/AttentionGradEmitter.cpp
// prints exactly this IR.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttentionGrad.h"

#include "dialect/Rotary.h"
#include "dialect/ScheduleConversion.h"
#include "passes/BlockLists.h"
#include "passes/LowerAttention.h"
#include "passes/IndexBuilder.h"
#include "passes/MaskModBounds.h"
#include "passes/OpProblems.h"
#include "schedule/AttentionGrad.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// The problem dictionary of each gradient kernel.
DictionaryAttr buildProblem(OpBuilder &b, const AttentionGradKernelPlan &plan,
                            int64_t variant) {
  AttentionGradOp op = plan.op;
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("op", b.getStringAttr(plan.opName)),
      b.getNamedAttr("variant", b.getI64IntegerAttr(variant)),
      b.getNamedAttr("element_type",
                     TypeAttr::get(op.getQ().getType().getElementType())),
      b.getNamedAttr("q_heads", b.getI64IntegerAttr(plan.queryHeads)),
      b.getNamedAttr("kv_heads", b.getI64IntegerAttr(plan.keyHeads)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(plan.headDim)),
      b.getNamedAttr("value_dim", b.getI64IntegerAttr(plan.valueDim)),
      // The score the score map sees is q k^T * score_scale; softmax_scale
      // times what it yields is the softmax's argument (as the forward's
      // problem says; no factor is taken out of score_mod here).
      b.getNamedAttr("score_scale", b.getF64FloatAttr(op.getEffectiveScale())),
      b.getNamedAttr("softmax_scale", b.getF64FloatAttr(1.0)),
      b.getNamedAttr("mask", b.getStringAttr(stringifyMaskKind(plan.mask))),
      b.getNamedAttr("window", b.getI64IntegerAttr(plan.window)),
      b.getNamedAttr("dims", b.getStrArrayAttr({op.getBatchDimName(),
                                                op.getQueryDimName(),
                                                op.getKeyDimName()})),
  };
  // Rotary embedding: the kernels read q and k rotated, from the copies
  // the variant's first launches write (LowerAttentionRotary.cpp).
  if (std::optional<Rotary> rotary = rotaryOf(op.getOperation()))
    entries.push_back(b.getNamedAttr("rotary_dims", b.getI64IntegerAttr(rotary->dims)));
  return b.getDictionaryAttr(entries);
}

/// Whether the kernels walk a mask_lists pre-pass's lists (the op has no
/// block mask of its own, whose lists they would walk instead).
bool walksMaskLists(const AttentionGradKernelPlan &plan) {
  return plan.schedule.getMaskLists() != 0 && !blockMaskOf(plan.op.getOperation());
}

/// `<opName>_v<variant>_<suffix>`, with no body.
KernelOp createKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                      KernelFamily family, StringRef suffix, int64_t variant) {
  std::string name = plan.opName + "_v" + std::to_string(variant) + "_" +
                     suffix.str();
  return KernelOp::create(b, plan.op.getLoc(), name, family, plan.schedule,
                          buildProblem(b, plan, variant));
}

/// A kernel with an empty body; the builder's insertion point is left in it.
KernelOp startKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                     KernelFamily family, StringRef suffix, int64_t variant) {
  KernelOp kernel = createKernel(b, plan, family, suffix, variant);
  b.createBlock(&kernel.getBody());
  return kernel;
}

/// The grid of the kernels that run one CTA per query tile of one query
/// head: (query tile, head, batch).
GridMapOp queryTileGrid(OpBuilder &b, Location loc,
                        const AttentionGradKernelPlan &plan) {
  AttentionGradOp op = plan.op;
  Type index = b.getIndexType();
  return GridMapOp::create(
      b, loc, TypeRange{index, index, index},
      b.getStrArrayAttr({"query_tile", "head", "batch"}),
      b.getStrArrayAttr({"cdiv(" + op.getQueryDimName() + "," +
                             std::to_string(plan.schedule.getTileQ()) + ")",
                         std::to_string(plan.queryHeads),
                         op.getBatchDimName()}));
}

/// A mask_lists schedule's pre-pass (LowerAttentionMaskLists.cpp): the
/// query tiles of each key tile (mask_lists_t, the kv kernel's lists) or
/// the key tiles of each query tile (mask_lists, the dq kernel's). The
/// kernels after it are ordinary stream-ordered launches.
KernelOp buildMaskListsPrePass(OpBuilder &b, const AttentionGradKernelPlan &plan,
                               int64_t variant, sched::GradKernel k) {
  KernelOp kernel = createKernel(b, plan, KernelFamily::attention_mask_lists,
                                 sched::gradKernelName(k), variant);
  buildMaskListsBody(b, kernel, maskListsSource(plan),
                     /*transposed=*/k == sched::GradKernel::KvMaskLists,
                     /*waitsForPrevious=*/false);
  return kernel;
}

/// prep: D = rowsum(dO o O) of one query tile; flash2_grad also clears the
/// tile's rows of the dQ accumulator the kv kernel adds into.
KernelOp buildPrepKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                         int64_t variant) {
  Location loc = plan.op.getLoc();
  KernelOp kernel = startKernel(b, plan, KernelFamily::attention_grad_prep,
                                "prep", variant);
  auto grid = queryTileGrid(b, loc, plan);
  Value queryTile = grid.getIds()[0], head = grid.getIds()[1],
        batch = grid.getIds()[2];
  Value queryLen = DimOp::create(b, loc, b.getIndexType(),
                                 b.getStringAttr(plan.op.getQueryDimName()));
  RowDeltaOp::create(b, loc, batch, head, queryTile, queryLen);
  if (gradAtomicDq(plan.schedule.getAlgorithm()))
    AccumClearOp::create(b, loc, batch, head, queryTile, queryLen);
  return kernel;
}

/// convert (flash2_grad): dQ = scale * accumulator.
KernelOp buildConvertKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                            int64_t variant) {
  Location loc = plan.op.getLoc();
  KernelOp kernel = startKernel(b, plan, KernelFamily::attention_grad_convert,
                                "convert", variant);
  auto grid = queryTileGrid(b, loc, plan);
  Value queryLen = DimOp::create(b, loc, b.getIndexType(),
                                 b.getStringAttr(plan.op.getQueryDimName()));
  AccumConvertOp::create(b, loc, grid.getIds()[2], grid.getIds()[1],
                         grid.getIds()[0], queryLen,
                         b.getF64FloatAttr(plan.op.getEffectiveScale()));
  return kernel;
}

/// The score tile's gradient: flash.grad_scores, with score_grad cloned in
/// when the op has a score_mod.
void buildGradScores(OpBuilder &b, Location loc,
                     const AttentionGradKernelPlan &plan, Value batch,
                     Value head, Value queryTile, Value keyTile,
                     Operation *hoistBefore) {
  auto scores = GradScoresOp::create(b, loc, batch, head, queryTile, keyTile);
  if (!scoreGradHasFactor(plan.op))
    return;
  OpBuilder::InsertionGuard guard(b);
  Block *body = b.createBlock(&scores.getBody());
  Type f32 = b.getF32Type(), index = b.getIndexType();
  body->addArguments({f32, index, index, index, index},
                     SmallVector<Location>(5, loc));
  Value factor = inlineScalarRegion(
      b, plan.op.getScoreGrad(), SmallVector<Value>(body->getArguments()),
      {true, false, false, true, true}, ScoreScaling(), hoistBefore);
  ScoreYieldOp::create(b, loc, factor, arith::ConstantIntOp::create(b, loc, 1, 1));
}

/// The per-tile work both score-gradient kernels share, from the score
/// tile to dS: S, the forward's P, dP, dS (and dV += P^T dO in the kv
/// kernel). A non-null `unmasked` picks the interior form of the score
/// map at run time; without it `masked` picks it here.
void buildScoreGradients(OpBuilder &b, Location loc,
                         const AttentionGradKernelPlan &plan, Value stage,
                         Value batch, Value head, Value queryTile,
                         Value keyTile, Value queryLen, Value keyLen,
                         Value offset, Value unmasked, bool masked,
                         sched::GradKernel kernel, Operation *hoistBefore,
                         Value fullBlock = Value()) {
  // The kv kernels' rows are keys; kv_dv needs P alone (dV += P^T dO),
  // kv_dk and dq no dV.
  const bool kvKernel = sched::isKvGradKernel(kernel);
  const bool values = sched::gradKernelComputesDv(kernel);
  const bool dscores = !kvKernel || sched::gradKernelComputesDk(kernel);
  // Warpgroup schedules issue the products asynchronously: S and dP
  // together, dP (and dV += P^T dO) in flight while P is computed; dP after
  // P where the schedule library says the map's regions need the
  // registers.
  const bool async = usesWgmma(plan.schedule.getAlgorithm());
  const bool dpWithScores =
      async && dscores &&
      flashgen::schedule::gradIssuesDScoresWithScores(
          attentionKernelProblem(plan.op));
  auto wait = [&](int64_t pending, bool score, bool dscore) {
    if (async)
      GradMmaWaitOp::create(b, loc, pending, score, dscore,
                            /*accumulators=*/false);
  };
  TileMmaOp::create(b, loc, TileProduct::qk, stage, async);
  if (dpWithScores)
    TileMmaOp::create(b, loc, TileProduct::dov, stage, async);
  wait(dpWithScores ? 1 : 0, /*score=*/true, /*dscore=*/false);
  if (scoreGradReadsScore(plan.op))
    ScoreSaveOp::create(b, loc);
  // Ragged query columns are hidden by the kv kernel's mask; the dq kernel's
  // ragged query rows have lse = +inf (flash.grad_rows), so P is 0 there.
  Value maskedQueryLen = kvKernel ? queryLen : Value();
  // The masked form; under a block mask a full block's tile (`fullBlock`
  // true at run time) skips mask_mod (docs/semantics.md §2.10).
  auto maskedMap = [&](const ScoreMapSource &source) {
    buildScoreMap(b, loc, source, batch, head, queryTile, keyTile, keyLen,
                  maskedQueryLen, offset, /*masked=*/true, hoistBefore);
  };
  auto buildMasked = [&]() {
    ScoreMapSource source = plan.scoreMapSource();
    // A loop over full blocks only says so with a constant.
    auto known = fullBlock ? fullBlock.getDefiningOp<arith::ConstantIntOp>()
                           : arith::ConstantIntOp();
    if (!fullBlock || !source.maskMod || known) {
      if (known && known.value() != 0)
        source.maskMod = nullptr;
      maskedMap(source);
      return;
    }
    auto branch = scf::IfOp::create(b, loc, fullBlock, /*else=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.elseBlock());
    maskedMap(source);
    b.setInsertionPointToStart(branch.thenBlock());
    source.maskMod = nullptr;
    maskedMap(source);
  };
  if (unmasked) {
    auto branch = scf::IfOp::create(b, loc, unmasked, /*else=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    buildScoreMap(b, loc, plan.scoreMapSource(), batch, head, queryTile,
                  keyTile, keyLen, maskedQueryLen, offset, /*masked=*/false,
                  hoistBefore);
    b.setInsertionPointToStart(branch.elseBlock());
    buildMasked();
  } else if (masked) {
    buildMasked();
  } else {
    buildScoreMap(b, loc, plan.scoreMapSource(), batch, head, queryTile,
                  keyTile, keyLen, maskedQueryLen, offset, masked, hoistBefore);
  }
  GradProbabilitiesOp::create(b, loc);
  if (dscores && !dpWithScores)
    TileMmaOp::create(b, loc, TileProduct::dov, stage, async);
  if (values)
    TileMmaOp::create(b, loc, TileProduct::ptdo, stage, async);
  if (!dscores) // kv_dv: dV += P^T dO is the step's last product
    return;
  // dP done (dV += P^T dO may still run).
  wait(values ? 1 : 0, /*score=*/false, /*dscore=*/true);
  buildGradScores(b, loc, plan, batch, head, queryTile, keyTile, hoistBefore);
}

/// The end of a step of a warpgroup schedule: every product issued in it
/// (dV, dK or dQ) done before the next step's reuse their operands.
void finishGradStep(OpBuilder &b, Location loc,
                    const AttentionGradKernelPlan &plan) {
  if (usesWgmma(plan.schedule.getAlgorithm()))
    GradMmaWaitOp::create(b, loc, 0, /*score=*/false, /*dscore=*/false,
                          /*accumulators=*/true);
}

/// kv: one CTA per (key tile, kv head, batch). K and V stay in shared
/// memory and dK, dV in registers while every (query head of the group,
/// query tile that sees the key tile) pair streams Q and dO through the
/// ring, flattened into one loop so the ring runs across heads.
KernelOp buildKvKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                       int64_t variant, sched::GradKernel part) {
  AttentionGradOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  KernelOp kernel = startKernel(b, plan, KernelFamily::attention_grad_kv,
                                sched::gradKernelName(part), variant);
  // The halves of a split kv kernel (schedule::gradSplitsKv): kv_dv without
  // V, dP, dS and dK; kv_dk without dV.
  const bool values = sched::gradKernelComputesDv(part),
             keys = sched::gradKernelComputesDk(part);
  IndexBuilder ib{b, loc};
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv(), stages = s.getStages();
  int64_t group = plan.queryHeads / plan.keyHeads;
  bool atomicDq = sched::gradKernelAddsDq(toLibrary(s), part);
  // Warpgroup schedules hold dK, dV and both score tiles in registers: the
  // query tile's lse and D columns travel through the ring with its Q and
  // dO and are read from shared memory where used.
  bool ringRows = usesWgmma(s.getAlgorithm());
  Type index = b.getIndexType();
  auto grid = GridMapOp::create(
      b, loc, TypeRange{index, index, index},
      b.getStrArrayAttr({"key_tile", "kv_head", "batch"}),
      b.getStrArrayAttr({"cdiv(" + op.getKeyDimName() + "," +
                             std::to_string(tileKv) + ")",
                         std::to_string(plan.keyHeads), op.getBatchDimName()}));
  Value keyTile = grid.getIds()[0], kvHead = grid.getIds()[1],
        batch = grid.getIds()[2];
  Value queryLen = DimOp::create(b, loc, index,
                                 b.getStringAttr(op.getQueryDimName()));
  Value keyLen = DimOp::create(b, loc, index, b.getStringAttr(op.getKeyDimName()));
  // Bottom-right aligned masks: query i sits at key position i + (M - N).
  Value offset = ib.sub(keyLen, queryLen);
  Value k0 = ib.mul(keyTile, ib.c(tileKv));
  // Under a block mask (the op's own, or a mask_lists pre-pass's) the range
  // says which listed tiles the mask kind leaves whole (a full block's skip
  // mask_mod).
  std::optional<BlockMask> mask = blockMaskOf(op.getOperation());
  const bool walksLists = mask || walksMaskLists(plan);
  auto [lo, hi, fullLo, fullHi] = queryTilesOfKeyTile(
      b, loc, plan.mask, plan.window,
      /*hasMaskMod=*/op.hasMaskMod() && !walksLists, k0, tileQ, tileKv,
      queryLen, keyLen, offset);

  // K and V join the first ring stage's load group.
  Value zero = ib.c(0);
  for (TensorRole tensor : {TensorRole::k, TensorRole::v})
    if (keys || tensor == TensorRole::k)
      TileLoadOp::create(b, loc, tensor, batch, kvHead, keyTile, keyLen, tileKv,
                         zero, /*async=*/true);
  GradInitOp::create(b, loc);
  Value firstHead = ib.mul(kvHead, ib.c(group));
  Value count = ib.max(ib.sub(hi, lo), zero);
  Value total = ib.mul(count, ib.c(group));
  // Under a block mask each query head of the group walks its transposed
  // lists (passes/BlockLists.h): the heads' listed tiles back to back.
  SmallVector<BlockLists> headLists;
  SmallVector<Value> headEnds; // where each head's steps end
  if (walksLists) {
    headLists.push_back(
        mask ? buildTransposedBlockLists(b, loc, *mask, op.getBatchDimName(),
                                         batch, firstHead, keyTile, tileKv,
                                         tileQ, queryLen, keyLen)
             : buildMaskLists(b, loc, maskListsSource(plan), batch, firstHead,
                              keyTile, queryLen, keyLen, /*transposed=*/true));
    for (int64_t g = 1; g < group; ++g)
      headLists.push_back(
          headLists.front().atHead(b, loc, ib.add(firstHead, ib.c(g))));
    total = zero;
    for (const BlockLists &lists : headLists) {
      total = ib.add(total, lists.total);
      headEnds.push_back(total);
    }
  }
  struct Step {
    Value head, queryTile;
    Value fullBlock; ///< under a block mask: the tile is a full block's
  };
  auto decode = [&](Value t) -> Step {
    if (!walksLists) {
      // Step t is query tile lo + t % count of the group's head t / count.
      Value safe = ib.max(count, ib.c(1));
      return {ib.add(firstHead, ib.floorDiv(t, safe)), ib.add(lo, ib.rem(t, safe)),
              Value()};
    }
    // Head g's steps are [headEnds[g-1], headEnds[g]): a select chain over
    // the ends finds t's head and position; the head's partial count is
    // read again there (one cached load a step) rather than kept for every
    // head (the group's counts would hold registers the kernel needs).
    Value head = firstHead, position = t;
    for (int64_t g = 1; g < group; ++g) {
      Value past = ib.le(headEnds[g - 1], t);
      head = arith::SelectOp::create(b, loc, past, headLists[g].head, head);
      position = arith::SelectOp::create(b, loc, past, ib.sub(t, headEnds[g - 1]),
                                         position);
    }
    BlockLists at = group == 1 ? headLists.front()
                               : headLists.front().atHead(b, loc, head);
    Value fullBlock = at.fullIndices ? ib.le(at.partial, position) : Value();
    return {at.head, at.tileAt(b, loc, position), fullBlock};
  };
  auto loadStep = [&](Value t, Value stage) {
    auto [head, queryTile, fullBlock] = decode(t);
    (void)fullBlock;
    for (TensorRole tensor : {TensorRole::q, TensorRole::dout})
      TileLoadOp::create(b, loc, tensor, batch, head, queryTile, queryLen,
                         tileQ, stage, /*async=*/true);
    if (ringRows)
      GradRowsOp::create(b, loc, batch, head, queryTile, queryLen, stage);
  };
  for (int64_t p = 0; p < stages - 1; ++p) {
    auto guardIf = scf::IfOp::create(b, loc, ib.lt(ib.c(p), total), false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(guardIf.thenBlock());
      loadStep(ib.c(p), ib.c(p));
    }
    TileCommitOp::create(b, loc);
  }

  auto loop = scf::ForOp::create(b, loc, zero, total, ib.c(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value t = loop.getInductionVar();
    auto [head, queryTile, fullBlock] = decode(t);
    // The step's lse and D rows come from global memory (L2): their loads
    // are issued before the wait, so they are in flight while it waits; or
    // they arrived in the ring with the step's tiles.
    if (ringRows)
      GradRowsStagedOp::create(b, loc, ib.rem(t, ib.c(stages)));
    else
      GradRowsOp::create(b, loc, batch, head, queryTile, queryLen);
    // The wait's sync also means every warp is done with step t - 1, so its
    // stage (and the staged dS) may be overwritten.
    Operation *wait = TileWaitOp::create(b, loc, stages - 2);
    Value ahead = ib.add(t, ib.c(stages - 1));
    auto prefetch = scf::IfOp::create(b, loc, ib.lt(ahead, total), false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(prefetch.thenBlock());
      loadStep(ahead, ib.rem(ahead, ib.c(stages)));
    }
    TileCommitOp::create(b, loc);
    Value stage = ib.rem(t, ib.c(stages));
    Value unmasked = ib.andI(ib.le(fullLo, queryTile), ib.lt(queryTile, fullHi));
    if (walksLists) {
      // Only a full block's tile goes without the mask, and then only where
      // the mask kind and the ragged ends leave it whole; a list without
      // full blocks masks every tile.
      unmasked = fullBlock ? ib.andI(fullBlock, unmasked)
                           : arith::ConstantIntOp::create(b, loc, 0, 1).getResult();
    }
    buildScoreGradients(b, loc, plan, stage, batch, head, queryTile, keyTile,
                        queryLen, keyLen, offset, unmasked, /*masked=*/true,
                        part, wait, fullBlock);
    // On warpgroup schedules dK += dS^T Q runs while dS^T is staged and dQ
    // (mma.sync) computed and added.
    if (keys)
      TileMmaOp::create(b, loc, TileProduct::dstq, stage,
                        usesWgmma(s.getAlgorithm()));
    if (atomicDq) {
      ScoresStageOp::create(b, loc);
      BarrierOp::create(b, loc);
      TileMmaOp::create(b, loc, TileProduct::dsk, stage);
      AccumAddOp::create(b, loc, TensorRole::dq_accum, batch, head, queryTile,
                         queryLen);
    }
    finishGradStep(b, loc, plan);
  }
  // A key tile no query sees still writes its (zero) dK, dV; its K, V
  // copies were never waited for.
  TileWaitOp::create(b, loc, 0);
  if (atomicDq && usesWgmma(s.getAlgorithm()))
    AccumFlushOp::create(b, loc);
  if (keys)
    GradStoreOp::create(b, loc, TensorRole::dk, batch, kvHead, keyTile, keyLen,
                        llvm::APFloat(op.getEffectiveScale()));
  if (values)
    GradStoreOp::create(b, loc, TensorRole::dv, batch, kvHead, keyTile, keyLen,
                        llvm::APFloat(1.0));
  return kernel;
}

/// dq (flash2_grad_deterministic): one CTA per query tile, Q and dO in
/// shared memory, dQ in registers, key tiles streaming past as in the
/// forward (same tile range and masked / interior loops).
KernelOp buildDqKernel(OpBuilder &b, const AttentionGradKernelPlan &plan,
                       int64_t variant) {
  AttentionGradOp op = plan.op;
  Location loc = op.getLoc();
  ScheduleAttr s = plan.schedule;
  KernelOp kernel =
      startKernel(b, plan, KernelFamily::attention_grad_dq, "dq", variant);
  IndexBuilder ib{b, loc};
  int64_t tileQ = s.getTileQ(), tileKv = s.getTileKv(), stages = s.getStages();
  auto grid = queryTileGrid(b, loc, plan);
  Value queryTile = grid.getIds()[0], head = grid.getIds()[1],
        batch = grid.getIds()[2];
  Value queryLen = DimOp::create(b, loc, b.getIndexType(),
                                 b.getStringAttr(op.getQueryDimName()));
  Value keyLen = DimOp::create(b, loc, b.getIndexType(),
                               b.getStringAttr(op.getKeyDimName()));
  if (plan.mask == MaskKind::causal) {
    // Tiles near the end see the most keys: launch them first.
    Value queryTiles = ib.ceilDiv(queryLen, ib.c(tileQ));
    queryTile = ib.sub(ib.sub(queryTiles, ib.c(1)), queryTile);
  }
  Value kvHead = head;
  if (plan.queryHeads != plan.keyHeads)
    kvHead = arith::DivUIOp::create(b, loc, head,
                                    ib.c(plan.queryHeads / plan.keyHeads));
  Value offset = ib.sub(keyLen, queryLen);
  Value q0 = ib.mul(queryTile, ib.c(tileQ));
  // Under a block mask (the op's own, or a mask_lists pre-pass's) the
  // query tile walks its kv lists, as the forward does: the partial
  // blocks' tiles masked, then the full blocks', whole where the mask kind
  // leaves them so and without mask_mod. (Built first: the kernel then
  // takes the lists before the mask_mod's extras, as the kv kernel does.)
  std::optional<BlockLists> lists;
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation()))
    lists = buildBlockLists(b, loc, *mask, op.getBatchDimName(), batch, head,
                            queryTile, tileQ, tileKv, queryLen, keyLen);
  else if (walksMaskLists(plan))
    lists = buildMaskLists(b, loc, maskListsSource(plan), batch, head,
                           queryTile, queryLen, keyLen, /*transposed=*/false);
  auto [lo, hi, fullLo, fullHi] = keyTilesOfQueryTile(
      b, loc, plan.mask, plan.window, op.hasMaskMod(), q0, tileQ, tileKv,
      queryLen, keyLen, offset, [&](Value row) {
        return buildMaskModKeyBound(b, loc, op.getMaskMod(), batch, head, row);
      });

  Value zero = ib.c(0);
  Operation *firstLoad = TileLoadOp::create(b, loc, TensorRole::q, batch, head,
                                            queryTile, queryLen, tileQ, zero,
                                            /*async=*/true);
  TileLoadOp::create(b, loc, TensorRole::dout, batch, head, queryTile,
                     queryLen, tileQ, zero, /*async=*/true);
  GradInitOp::create(b, loc);
  GradRowsOp::create(b, loc, batch, head, queryTile, queryLen);
  if (lists) {
    TileRange whole = keyTilesOfQueryTile(b, loc, plan.mask, plan.window,
                                          /*hasMaskMod=*/false, q0, tileQ,
                                          tileKv, queryLen, keyLen, offset);
    auto tileOf = [&](Value position) { return lists->tileAt(b, loc, position); };
    buildKeyValuePrologue(b, loc, batch, kvHead, zero, lists->total, keyLen,
                          tileKv, stages, /*pageSize=*/0, tileOf);
    auto loop = [&](Value from, Value to, bool full) {
      auto forOp = scf::ForOp::create(b, loc, from, to, ib.c(1));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(forOp.getBody()->getTerminator());
      Value p = forOp.getInductionVar();
      Value stage = buildKeyValueStep(b, loc, p, zero, lists->total, batch,
                                      kvHead, keyLen, tileKv, stages,
                                      /*pageSize=*/0, tileOf);
      Value tile = lists->tileAt(b, loc, p);
      Value unmasked, fullBlock;
      if (full) {
        unmasked = ib.andI(ib.le(whole.fullLo, tile), ib.lt(tile, whole.fullHi));
        fullBlock = arith::ConstantIntOp::create(b, loc, 1, 1);
      }
      buildScoreGradients(b, loc, plan, stage, batch, head, queryTile, tile,
                          queryLen, keyLen, offset, unmasked, /*masked=*/true,
                          sched::GradKernel::Dq, firstLoad, fullBlock);
      TileMmaOp::create(b, loc, TileProduct::dsk, stage,
                        usesWgmma(plan.schedule.getAlgorithm()));
      finishGradStep(b, loc, plan);
    };
    loop(zero, lists->partial, /*full=*/false);
    if (lists->fullIndices)
      loop(lists->partial, lists->total, /*full=*/true);
    TileWaitOp::create(b, loc, 0);
    GradStoreOp::create(b, loc, TensorRole::dq, batch, head, queryTile,
                        queryLen, llvm::APFloat(op.getEffectiveScale()));
    return kernel;
  }
  buildKeyValuePrologue(b, loc, batch, kvHead, lo, hi, keyLen, tileKv, stages);

  buildKeyTileLoops(b, loc, {lo, hi, fullLo, fullHi}, [&](Value j, bool masked) {
    Value stage = buildKeyValueStep(b, loc, j, lo, hi, batch, kvHead, keyLen,
                                    tileKv, stages);
    buildScoreGradients(b, loc, plan, stage, batch, head, queryTile, j,
                        queryLen, keyLen, offset, /*unmasked=*/Value(), masked,
                        sched::GradKernel::Dq, firstLoad);
    TileMmaOp::create(b, loc, TileProduct::dsk, stage,
                      usesWgmma(plan.schedule.getAlgorithm()));
    finishGradStep(b, loc, plan);
  });

  TileWaitOp::create(b, loc, 0);
  GradStoreOp::create(b, loc, TensorRole::dq, batch, head, queryTile, queryLen,
                      llvm::APFloat(op.getEffectiveScale()));
  return kernel;
}

} // namespace

AttentionGradKernelPlan mlir::flash::attentionGradKernelPlan(AttentionGradOp op) {
  AttentionGradKernelPlan plan;
  plan.op = op;
  plan.queryHeads = op.getQ().getType().getDimSize(1);
  plan.keyHeads = op.getK().getType().getDimSize(1);
  plan.headDim = op.getQ().getType().getDimSize(3);
  plan.valueDim = op.getV().getType().getDimSize(3);
  plan.mask = op.getMask();
  plan.window = op.getWindow().value_or(0);
  auto func = op->getParentOfType<FunctionOpInterface>();
  plan.opName = func ? func.getName().str() : "attention_grad";
  return plan;
}

void mlir::flash::buildAttentionGradKernels(
    OpBuilder &b, const AttentionGradKernelPlan &plan, int64_t variant,
    SmallVectorImpl<KernelOp> &kernels) {
  OpBuilder::InsertionGuard guard(b);
  Block *module = b.getInsertionBlock();
  auto atEnd = [&]() { b.setInsertionPointToEnd(module); };
  // Rotary embedding: q and k rotated into copies first, dq and dk turned
  // back last (LowerAttentionRotary.cpp).
  bool rotary = rotaryOf(plan.op.getOperation()).has_value();
  auto rotateRows = [&](StringRef suffix, TensorRole tensor, int64_t heads) {
    std::string name = plan.opName + "_v" + std::to_string(variant) + "_" + suffix.str();
    kernels.push_back(buildRotateRowsKernel(b, plan.op.getOperation(), plan.schedule,
                                            buildProblem(b, plan, variant), name, tensor,
                                            heads, /*waits=*/false));
    atEnd();
  };
  if (rotary) {
    rotateRows("rotate_q", TensorRole::q, plan.queryHeads);
    rotateRows("rotate_k", TensorRole::k, plan.keyHeads);
  }
  // The schedule library's kernels, in its launch order.
  for (sched::GradKernel k : sched::attentionGradKernels(
           attentionKernelProblem(plan.op), toLibrary(plan.schedule))) {
    switch (k) {
    case sched::GradKernel::KvMaskLists:
    case sched::GradKernel::DqMaskLists:
      kernels.push_back(buildMaskListsPrePass(b, plan, variant, k));
      break;
    case sched::GradKernel::Prep:
      kernels.push_back(buildPrepKernel(b, plan, variant));
      break;
    case sched::GradKernel::Kv:
    case sched::GradKernel::KvDv:
    case sched::GradKernel::KvDk:
      kernels.push_back(buildKvKernel(b, plan, variant, k));
      break;
    case sched::GradKernel::Dq:
      kernels.push_back(buildDqKernel(b, plan, variant));
      break;
    case sched::GradKernel::Convert:
      kernels.push_back(buildConvertKernel(b, plan, variant));
      break;
    }
    atEnd();
  }
  if (rotary) {
    rotateRows("unrotate_dq", TensorRole::dq, plan.queryHeads);
    rotateRows("unrotate_dk", TensorRole::dk, plan.keyHeads);
  }
}
