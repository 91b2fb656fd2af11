//===- FlashWarpSpecialize.cpp - flash-warp-specialize --------------------===//
//
// Rewrites each flash3 attention kernel whose schedule has a producer
// warpgroup (schedule/Flash3Layout.h) from the form flash-lower-kernels
// builds -- every thread copies, a multi-stage cp.async pipeline with CTA
// barriers, qk / score_map / softmax / pv per key tile -- into
// FlashAttention-3's warp-specialized form (FlashPipelineOps.td):
//
//   flash.warp_specialize consumer_groups G producer_registers Rp
//                         consumer_registers Rc
//   producer {  pipe_produce q; for t: pipe_produce k, v (slot it); drain }
//   consumers { output_init; pipe_wait q; turn_open;
//               for t (each of the lowering's masked / unmasked loops):
//                 the turn of tile it = t - lo (below);
//                 score_map; softmax_update; probabilities
//               the last turn: O += P V of the last tile; output_store }
//
// A turn is rotated so that a warpgroup's two products are issued back to
// back inside its turn: O += P(it-1) V(it-1), then S = Q K(it)^T, both
// waited; K(it) and V(it-1) released; the softmax of S then runs while the
// next warpgroup's products run (ping-pong). With inner_q = 1 the turn
// issues S first and waits for it alone: the softmax also overlaps the
// warpgroup's own P V, the O rescale is deferred until that completes.
//
// Under a block mask (passes/BlockLists.h) the loops count list positions:
// the producer copies the key tile the lowering's loop computes for the
// position (its index math and list reads cloned), the consumers clone the
// same index math ahead of their turn's waits and the score section (the
// ops that hold score maps: a full block's tile chooses between two) after.
//
// Persistent schedules: the grid_map becomes a flash.tile_rounds loop in
// each region (one CTA per SM loops over the query tiles, Q in two slots),
// the per-tile prologue is cloned into both, and the key tiles are numbered
// across rounds (the loop's carry) so the rings run on without a drain.
//
// The register budgets come from schedule/Flash3Layout.h (the same split the
// cost model and the checker use); `copies=tma` (default) marks the split for
// TMA copies with the cp.async fallback in the same kernel (the runtime
// decides per launch whether it can encode the tensor maps). The emitter
// prints what this pass built.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/ScheduleConversion.h"
#include "passes/GradTmaCopies.h"
#include "passes/IndexBuilder.h"
#include "schedule/Flash3Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHWARPSPECIALIZE
#include "passes/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// What the lowering's kernel body holds, in order: grid ids and the key
/// range (`prologue`), the query load, the K/V prologue loads, the key loops
/// and the output store.
struct KernelParts {
  GridMapOp grid;
  SmallVector<Operation *> prologue; ///< before the query load, minus grid
  TileLoadOp queryLoad;
  TileLoadOp keyLoad; ///< any K load: K/V batch, head and extent
  /// Rotary embedding: the query tile's rotation, and any of K's.
  TileRotateOp queryRotate, keyRotate;
  SmallVector<scf::ForOp> loops;
  OutputStoreOp store;
  OutputInitOp init;
  SmallVector<Operation *> pipelineOps; ///< the copy pipeline, erased
};

FailureOr<KernelParts> findParts(KernelOp kernel) {
  KernelParts parts;
  Block &block = kernel.getBody().front();
  for (Operation &op : block) {
    if (auto grid = dyn_cast<GridMapOp>(op)) {
      parts.grid = grid;
    } else if (auto load = dyn_cast<TileLoadOp>(op)) {
      if (load.getTensor() != TensorRole::q || parts.queryLoad)
        return kernel.emitError("flash-warp-specialize: a top-level tile load "
                                "other than the query's");
      parts.queryLoad = load;
    } else if (auto init = dyn_cast<OutputInitOp>(op)) {
      parts.init = init;
    } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
      parts.loops.push_back(loop);
    } else if (auto store = dyn_cast<OutputStoreOp>(op)) {
      parts.store = store;
    } else if (!parts.queryLoad) {
      parts.prologue.push_back(&op);
    } else if (auto rotate = dyn_cast<TileRotateOp>(op)) {
      parts.queryRotate = rotate; // the producer rotates Q before publishing it
      parts.pipelineOps.push_back(&op);
    } else if (isa<scf::IfOp, TileCommitOp, TileWaitOp, BarrierOp>(op)) {
      parts.pipelineOps.push_back(&op); // the K/V prologue loads (Q's wait)
    } else if (parts.loops.empty()) {
      parts.prologue.push_back(&op); // index math between the loads
    } else if (!isa<arith::ConstantOp>(op)) {
      return op.emitError("flash-warp-specialize: unexpected op between the "
                          "key loops");
    }
  }
  kernel.walk([&](TileLoadOp load) {
    if (load.getTensor() == TensorRole::k && !parts.keyLoad)
      parts.keyLoad = load;
  });
  kernel.walk([&](TileRotateOp rotate) {
    if (rotate.getTensor() == TensorRole::k && !parts.keyRotate)
      parts.keyRotate = rotate;
  });
  // Rotary embedding rotates q and k tiles, or q alone where a pre-pass
  // rotated K (Schedule rotary_prepass).
  bool prepass = kernel.getSchedule().getRotaryPrepass() != 0;
  if (parts.keyRotate && !parts.queryRotate)
    return kernel.emitError("flash-warp-specialize: rotary embedding rotates "
                            "k tiles and not the q tile");
  if (parts.queryRotate && !parts.keyRotate && !prepass)
    return kernel.emitError("flash-warp-specialize: rotary embedding rotates "
                            "the q tile and no k tile, without a rotary_prepass "
                            "schedule");
  if (!parts.grid || !parts.queryLoad || !parts.keyLoad ||
      parts.loops.empty() || !parts.store || !parts.init)
    return kernel.emitError("flash-warp-specialize: the kernel is not in the "
                            "form flash-lower-kernels builds (grid map, query "
                            "load, output init, key loops, output store)");
  return parts;
}

/// `op` is or holds a flash.score_map.
bool holdsScoreMap(Operation *op) {
  bool holds = false;
  op->walk([&](ScoreMapOp) { holds = true; });
  return holds;
}

/// The consumer turns of one kernel (index math from IndexBuilder).
struct SplitBuilder : IndexBuilder {
  int64_t stages;
  bool pipelined;
  /// Q's and K's slots are rotated in place (rotary embedding; K not with
  /// a pre-pass): waited for through their ready barriers.
  bool queryRotated = false, keysRotated = false;

  /// Ops under `cond` (an scf.if without else).
  template <typename Fn> void when(Value cond, Fn &&fn) {
    auto branch = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    fn();
  }

  /// One consumer turn for key tile `it` (the first of the query tile when
  /// `hasPrev` is false), then the tile's mask and softmax (`scoreMap`,
  /// cloned) and its P.
  void consumerTurn(Value it, Value hasPrev, ArrayRef<Operation *> scoreOps,
                    SoftmaxUpdateOp softmax, IRMapping &mapping) {
    // The index math the masks read (a block list's key tile: a global
    // read) first, so that its latency hides behind the turn's waits.
    for (Operation *op : scoreOps)
      if (!holdsScoreMap(op))
        b.clone(*op, mapping);
    Value stagesV = c(stages);
    Value prev = sub(it, c(1));
    Value stage = rem(it, stagesV);
    PipeWaitOp::create(b, loc, TensorRole::k, it, keysRotated);
    when(hasPrev, [&] { PipeWaitOp::create(b, loc, TensorRole::v, prev); });
    TurnWaitOp::create(b, loc);
    auto issuePv = [&] {
      TileMmaOp::create(b, loc, TileProduct::pv, rem(prev, stagesV), /*async=*/true);
    };
    if (pipelined) {
      TileMmaOp::create(b, loc, TileProduct::qk, stage, /*async=*/true);
      auto branch = scf::IfOp::create(b, loc, hasPrev, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(branch.thenBlock());
        issuePv();
        b.setInsertionPointToStart(branch.elseBlock());
        MmaEmptyGroupOp::create(b, loc);
      }
      TurnPassOp::create(b, loc, flag(false));
      MmaWaitOp::create(b, loc, 1, /*score=*/true, /*output=*/false);
      PipeReleaseOp::create(b, loc, TensorRole::k, it);
    } else {
      when(hasPrev, issuePv);
      TileMmaOp::create(b, loc, TileProduct::qk, stage, /*async=*/true);
      TurnPassOp::create(b, loc, flag(false));
      MmaWaitOp::create(b, loc, 0, /*score=*/true, /*output=*/true);
      PipeReleaseOp::create(b, loc, TensorRole::k, it);
      when(hasPrev, [&] { PipeReleaseOp::create(b, loc, TensorRole::v, prev); });
    }
    for (Operation *op : scoreOps)
      if (holdsScoreMap(op))
        b.clone(*op, mapping);
    SoftmaxUpdateOp::create(b, loc, softmax.getMasked(), /*deferred=*/pipelined,
                            softmax.getFmaExp2EveryAttr());
    if (pipelined) {
      MmaWaitOp::create(b, loc, 0, /*score=*/false, /*output=*/true);
      when(hasPrev, [&] { PipeReleaseOp::create(b, loc, TensorRole::v, prev); });
      OutputRescaleOp::create(b, loc);
    }
    ProbabilitiesOp::create(b, loc);
  }

  /// The query tile's last turn: O += P V of its last key tile `last` (if
  /// it had one), waited; `final`: the CTA's last turn. In persistent
  /// kernels V's slot is released (the ring runs on into the next round).
  void lastTurn(Value last, Value hadTiles, Value final, bool releaseV) {
    when(hadTiles, [&] { PipeWaitOp::create(b, loc, TensorRole::v, last); });
    TurnWaitOp::create(b, loc);
    when(hadTiles, [&] {
      TileMmaOp::create(b, loc, TileProduct::pv, rem(last, c(stages)), /*async=*/true);
    });
    TurnPassOp::create(b, loc, final);
    MmaWaitOp::create(b, loc, 0, /*score=*/false, /*output=*/true);
    if (releaseV)
      when(hadTiles, [&] { PipeReleaseOp::create(b, loc, TensorRole::v, last); });
  }
};

/// `op` and the ops of `body` it reads (transitively, its nested ops'
/// operands too), added to `keep` operands first.
void addWithOperands(Operation *op, Block *body, llvm::SetVector<Operation *> &keep) {
  if (op->getBlock() != body || keep.contains(op))
    return;
  op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands())
      if (Operation *def = operand.getDefiningOp())
        addWithOperands(def, body, keep);
  });
  keep.insert(op);
}

/// The ops of `body` among `roots` (null entries skipped) with the ops of
/// `body` they read, in body order: what a clone of them needs.
SmallVector<Operation *> withOperandsInOrder(ArrayRef<Operation *> roots, Block *body) {
  llvm::SetVector<Operation *> keep;
  for (Operation *root : roots)
    if (root)
      addWithOperands(root, body, keep);
  SmallVector<Operation *> ordered(keep.begin(), keep.end());
  llvm::sort(ordered, [](Operation *x, Operation *y) { return x->isBeforeInBlock(y); });
  return ordered;
}

/// The ops of a lowered key loop's body that mask and modify its score
/// tile: each one that is or holds a flash.score_map (a block mask's full
/// tiles choose between two), after the index math they read (a block
/// list's key tile), in body order. The consumer turn clones these.
SmallVector<Operation *> scoreOpsOf(scf::ForOp loop) {
  SmallVector<Operation *> roots;
  for (Operation &op : loop.getBody()->without_terminator())
    if (holdsScoreMap(&op))
      roots.push_back(&op);
  return withOperandsInOrder(roots, loop.getBody());
}

/// The key tile a lowered loop's position `t` maps to, built at b's
/// insertion point: the first score map's key tile with the loop's
/// induction variable mapped to `t` (the position itself, or a block
/// list's tile: passes/BlockLists.h) and the per-tile values it reads to
/// the round's (`round`).
Value keyTileAt(OpBuilder &b, scf::ForOp loop, Value t, const IRMapping &round) {
  ScoreMapOp first;
  loop.walk([&](ScoreMapOp op) {
    if (!first)
      first = op;
  });
  IRMapping m = round;
  m.map(loop.getInductionVar(), t);
  for (Operation *op :
       withOperandsInOrder({first.getKeyTile().getDefiningOp()}, loop.getBody()))
    b.clone(*op, m);
  return m.lookupOrDefault(first.getKeyTile());
}

/// The consumers' key loops of one query tile, rebuilt from the lowering's:
/// same bounds, the turn in place of the copy pipeline. `base`: key tiles of
/// earlier rounds (0 without rounds). Returns nothing; inserts at b.
void buildConsumerLoops(SplitBuilder &bld, const KernelParts &parts, Value lo,
                        Value base, IRMapping &mapping) {
  OpBuilder &b = bld.b;
  for (scf::ForOp loop : parts.loops) {
    SmallVector<Operation *> scoreOps = scoreOpsOf(loop);
    SoftmaxUpdateOp softmax;
    loop.walk([&](SoftmaxUpdateOp op) { softmax = op; });
    auto rebuilt = scf::ForOp::create(
        b, bld.loc, mapping.lookupOrDefault(loop.getLowerBound()),
        mapping.lookupOrDefault(loop.getUpperBound()),
        mapping.lookupOrDefault(loop.getStep()));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(rebuilt.getBody()->getTerminator());
    Value t = rebuilt.getInductionVar();
    mapping.map(loop.getInductionVar(), t);
    Value it = bld.add(base, bld.sub(t, lo));
    bld.consumerTurn(it, bld.gt(t, lo), scoreOps, softmax, mapping);
  }
}

LogicalResult specialize(KernelOp kernel, bool tma) {
  ScheduleAttr s = kernel.getSchedule();
  sched::Schedule lib = toLibrary(s);
  sched::Flash3Shape shape = sched::flash3Shape(lib);
  auto problem = kernel.getProblem();
  int64_t valueDim = cast<IntegerAttr>(problem.get("value_dim")).getInt();
  sched::RegisterSplit split =
      sched::flash3RegisterSplit(lib, valueDim, problem.get("block_mask") != nullptr,
                                 problem.get("rotary_dims") != nullptr);

  FailureOr<KernelParts> found = findParts(kernel);
  if (failed(found))
    return failure();
  KernelParts &parts = *found;
  bool persistent = s.getPersistent() != 0;
  Location loc = kernel.getLoc();
  OpBuilder b(kernel.getContext());
  SplitBuilder bld{{b, loc}, s.getStages(), s.getInnerQ() == 1};
  // Rotary embedding: the consumers wait for Q and K slots the producer
  // rotated in place; with the key pre-pass K lands rotated and each
  // consumer warpgroup turns its own Q rows (flash.pipe_rotate).
  bool prepass = s.getRotaryPrepass() != 0;
  bld.queryRotated = bool(parts.queryRotate) && !prepass;
  bld.keysRotated = bool(parts.keyRotate);
  Block &block = kernel.getBody().front();

  Value lo = parts.loops.front().getLowerBound();
  Value hi = parts.loops.back().getUpperBound();
  TileLoadOp q = parts.queryLoad, key = parts.keyLoad;

  b.setInsertionPoint(parts.loops.front());
  auto split2 = WarpSpecializeOp::create(
      b, loc, shape.consumerGroups, split.producer, split.consumer, tma);
  Block *producer = b.createBlock(&split2.getProducer());
  Block *consumers = b.createBlock(&split2.getConsumers());

  // The body of one query tile in each role; `mapping` maps the lowering's
  // values (identity without rounds, the round's clones with them).
  // Rotary embedding: the producer rotates each Q and K tile in its slot
  // before it publishes it, as the lowering's tile_rotate ops say.
  auto produce = [&](TensorRole ring, Value batch, Value head, Value rowTile,
                     Value extent, int64_t rows, Value slot, TileRotateOp rotate,
                     Value offset, IRMapping &m) {
    if (!rotate) {
      PipeProduceOp::create(b, loc, ring, batch, head, rowTile, extent, rows, slot);
      return;
    }
    PipeProduceOp::create(b, loc, ring, batch, head, rowTile, extent,
                          uint64_t(rows), slot, offset,
                          m.lookupOrDefault(rotate.getCos()),
                          m.lookupOrDefault(rotate.getSin()), rotate.getStyleAttr(),
                          rotate.getDimsAttr());
  };
  TileRotateOp qRotate = prepass ? TileRotateOp() : parts.queryRotate,
               kRotate = parts.keyRotate;
  auto producerTile = [&](IRMapping &m, Value qSlot, Value base) {
    auto map = [&](Value v) { return m.lookupOrDefault(v); };
    produce(TensorRole::q, map(q.getBatch()), map(q.getHead()),
            map(q.getRowTile()), map(q.getExtent()), q.getRows(), qSlot, qRotate,
            qRotate ? map(qRotate.getOffset()) : Value(), m);
    auto loop = scf::ForOp::create(b, loc, map(lo), map(hi), bld.c(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value t = loop.getInductionVar();
    Value it = bld.add(base, bld.sub(t, map(lo)));
    // The position's key tile, as the lowering's loops compute it.
    Value tile = keyTileAt(b, parts.loops.front(), t, m);
    produce(TensorRole::k, map(key.getBatch()), map(key.getHead()), tile,
            map(key.getExtent()), key.getRows(), it, kRotate, bld.c(0), m);
    PipeProduceOp::create(b, loc, TensorRole::v, map(key.getBatch()),
                          map(key.getHead()), tile, map(key.getExtent()),
                          key.getRows(), it);
  };
  auto consumerTile = [&](IRMapping &m, Value qSlot, Value base, Value final) {
    auto map = [&](Value v) { return m.lookupOrDefault(v); };
    OutputInitOp::create(b, loc);
    PipeWaitOp::create(b, loc, TensorRole::q, qSlot, bld.queryRotated);
    if (TileRotateOp rotate = parts.queryRotate; rotate && prepass)
      PipeRotateOp::create(b, loc, map(q.getBatch()), map(q.getRowTile()), map(q.getExtent()),
                           uint64_t(q.getRows()), qSlot, map(rotate.getOffset()),
                           map(rotate.getCos()), map(rotate.getSin()), rotate.getStyle(),
                           uint64_t(rotate.getDims()));
    buildConsumerLoops(bld, parts, map(lo), base, m);
    Value tiles = bld.sub(map(hi), map(lo));
    bld.lastTurn(bld.add(base, bld.sub(tiles, bld.c(1))),
                 bld.gt(tiles, bld.c(0)), final, /*releaseV=*/persistent);
    b.clone(*parts.store, m);
    return tiles;
  };

  if (!persistent) {
    // A packed batch's CTA past its sequence (flash.exit_if) exits in each
    // role, after the split's register reallocation: an exit before the
    // warpgroups' setmaxnreg made ptxas keep the launch's register split
    // and cost 25% at equal lengths (H200, bench_varlen.py).
    SmallVector<ExitIfOp> exits;
    for (auto exit : block.getOps<ExitIfOp>())
      exits.push_back(exit);
    IRMapping identity;
    b.setInsertionPointToStart(producer);
    for (ExitIfOp exit : exits)
      b.clone(*exit);
    producerTile(identity, bld.c(0), bld.c(0));
    PipeDrainOp::create(b, loc);
    b.setInsertionPointToStart(consumers);
    for (ExitIfOp exit : exits)
      b.clone(*exit);
    TurnOpenOp::create(b, loc);
    consumerTile(identity, bld.c(0), bld.c(0), bld.flag(true));
    for (ExitIfOp exit : exits)
      exit.erase();
  } else {
    GridMapOp grid = parts.grid;
    auto rounds = [&](Block *region, bool isProducer) {
      b.setInsertionPointToEnd(region);
      if (!isProducer)
        TurnOpenOp::create(b, loc);
      auto loop = TileRoundsOp::create(b, loc, grid.getRoles(),
                                       grid.getExtents(), bld.c(0),
                                       /*claimed=*/grid.getUneven());
      Block *body = b.createBlock(&loop.getBody());
      SmallVector<Type> types(grid.getIds().size(), b.getIndexType());
      types.append({b.getIndexType(), b.getI1Type(), b.getIndexType()});
      body->addArguments(types, SmallVector<Location>(types.size(), loc));
      IRMapping m;
      for (auto [id, arg] : llvm::zip(grid.getIds(), body->getArguments()))
        m.map(id, arg);
      size_t n = grid.getIds().size();
      Value round = body->getArgument(n), last = body->getArgument(n + 1),
            carry = body->getArgument(n + 2);
      b.setInsertionPointToStart(body);
      for (Operation *op : parts.prologue)
        b.clone(*op, m);
      Value tiles;
      if (isProducer) {
        producerTile(m, round, carry);
        tiles = bld.sub(m.lookupOrDefault(hi), m.lookupOrDefault(lo));
      } else {
        // Claimed rounds learn of their last one only by claiming past the
        // end: every turn passes on, and turn_close balances the last.
        tiles = consumerTile(m, round, carry,
                             loop.getClaimed() ? bld.flag(false) : last);
        PipeReleaseOp::create(b, loc, TensorRole::q, round);
      }
      RoundsYieldOp::create(b, loc, bld.add(carry, tiles));
      b.setInsertionPointAfter(loop);
      if (isProducer)
        PipeDrainOp::create(b, loc);
      else if (loop.getClaimed())
        TurnCloseOp::create(b, loc);
    };
    rounds(producer, /*isProducer=*/true);
    rounds(consumers, /*isProducer=*/false);
  }

  // What the two regions replaced: the copy pipeline, the loops, the store;
  // with rounds also the grid and the per-tile prologue (cloned per round).
  parts.store.erase();
  for (scf::ForOp loop : llvm::reverse(parts.loops))
    loop.erase();
  for (Operation *op : llvm::reverse(parts.pipelineOps))
    op->erase();
  parts.init.erase();
  parts.queryLoad.erase();
  if (persistent) {
    for (Operation *op : llvm::reverse(parts.prologue))
      if (op->use_empty())
        op->erase();
    if (!parts.grid->use_empty())
      return kernel.emitError("flash-warp-specialize: the grid ids are used "
                              "outside the per-tile prologue");
    parts.grid.erase();
  }
  // Nothing may follow the split (the warpgroups never meet again); a
  // constant between the lowering's loops (a loop step) moves before it.
  for (Operation &op : llvm::make_early_inc_range(
           llvm::make_range(std::next(split2->getIterator()), block.end())))
    if (isa<arith::ConstantOp>(op))
      op.moveBefore(split2);
  return success();
}

struct FlashWarpSpecialize
    : public mlir::flash::impl::FlashWarpSpecializeBase<FlashWarpSpecialize> {
  using FlashWarpSpecializeBase::FlashWarpSpecializeBase;

  void runOnOperation() override {
    for (auto [option, value] : {std::pair<StringRef, StringRef>{"copies", copies},
                                 {"grad-copies", gradCopies}})
      if (value != "tma" && value != "cp_async") {
        getOperation().emitError() << "flash-warp-specialize: " << option << "="
                                   << value << " is not tma or cp_async";
        return signalPassFailure();
      }
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp kernel) {
      ScheduleAttr s = kernel.getSchedule();
      if (kernel.getFamily() == KernelFamily::attention &&
          s.getAlgorithm() == Algorithm::flash3 &&
          sched::flash3Shape(toLibrary(s)).producer &&
          kernel.getBody().front().getOps<WarpSpecializeOp>().empty())
        kernels.push_back(kernel);
    });
    for (KernelOp kernel : kernels)
      if (failed(specialize(kernel, copies == "tma")))
        return signalPassFailure();
    // The backward's warpgroup kernels keep their CTA-wide ring (no split
    // yet); their ring copies go to TMA the same way.
    if (gradCopies == "tma")
      getOperation().walk([&](KernelOp kernel) {
        if (gradRingTakesTma(kernel))
          markGradTmaCopies(kernel);
      });
  }
};

} // namespace
