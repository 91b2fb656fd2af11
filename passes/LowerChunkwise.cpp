//===- LowerChunkwise.cpp - recurrences to flash.kernel ops ---------------===//
//
// The recurrence builder of flash-lower-kernels: builds the chunkwise kernels of docs/semantics.md §4 for one schedule:
//
//   linear_fused    grid (value tile, head, batch). The CTA carries a
//                   Dk x tile_dv slice of the state on chip through every
//                   chunk: load chunk c+1 while computing chunk c (outputs of
//                   each inner query tile = inter-chunk term + inner key
//                   tiles up to the diagonal), then advance the state.
//                   Under chunk_scored each stage also holds the chunk's
//                   gated P (the scores pre-pass's), and the inner key
//                   tiles become one product with it.
//   linear_scores   chunk_scored's pre-pass, grid (chunk, head, batch):
//                   the chunk's q, k and gates, then every inner pair's
//                   scores and decay map, written as P (16-bit) to
//                   scratch, all chunks in parallel.
//   linear_states   the same loop without outputs: writes the state before
//                   every chunk (and the final one) to scratch.
//   linear_outputs  grid (chunk x value tile, head, batch): one chunk's
//                   outputs from its scratch state, all chunks in parallel.
//   delta_prepare   flash.delta_rule, grid (chunk, head, batch): every
//                   chunk's WY factors W and U (docs/semantics.md §7.3)
//                   into scratch, all chunks in parallel.
//                   With l2norm_qk also the rows' 1/|q|, 1/|k| (k is
//                   normalised there, for A and W).
//   recurrent_step  grid (value tile, head, batch), for decoding: the state
//                   slice in registers, one token after the other (load,
//                   gates, rank-one update with the output read on the
//                   way, store); linear and delta rule alike.
//   linear_grad_states  flash.linear_attention_grad, grid (value tile, head,
//                   batch): linear_states' loop over the chunks last first,
//                   on q and dO, carrying the state's gradient (from the
//                   final state's, or zero): writes it after every chunk,
//                   and the initial state's at the end. (Run beside the
//                   state pass through programmatic launch, it measured no
//                   faster on the H100: the launches stay in order.)
//   linear_grad_chunk  grid (chunk, head, batch): one chunk's q, k, v, dO
//                   whole, its gates, then flash.chunk_grad (dq, dk, dv and
//                   the log-decays' gradient from the two scratch states).
//   linear_grad_rows  the normaliser kinds' gradient (mlstm_sig,
//                   mlstm_exp), before linear_grad_states, grid (chunk,
//                   head, batch): from the forward's o and row normalisers
//                   (norm), each row's dO / den and normaliser gradient,
//                   which the two gradient kernels read in dO's place.
//   delta_fused     then linear_fused's loop over them: each chunk stages
//                   q, k, W, U (in v's place) and the row norms; once it
//                   has landed, U is corrected to U~ = U - W S (rows
//                   scaled by 1/|k|), which the outputs and the state
//                   update read as linear_fused reads v.
//
// Index arithmetic is arith on `index`, loops are scf, the gate kind's
// scalar math is cloned into flash.chunk_gates / flash.decay_map regions.
//
//===----------------------------------------------------------------------===//

#include "passes/LowerChunkwise.h"

#include "dialect/Varlen.h"

#include "passes/IndexBuilder.h"
#include "passes/InlineRegion.h"
#include "passes/StagedExtras.h"
#include "schedule/ChunkLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <limits>

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Index (IndexBuilder) and f32 arithmetic helpers.
struct Arith : IndexBuilder {
  Value f(double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat(float(v)));
  }
  Value divU(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remU(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value addF(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value subF(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }

  /// log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): no overflow for any x
  /// (reference/GateMath.h computes it the same way).
  Value logSigmoid(Value x) {
    Value zero = f(0.0);
    Value low = arith::MinimumFOp::create(b, loc, x, zero);
    Value abs = math::AbsFOp::create(b, loc, x);
    Value negAbs = arith::NegFOp::create(b, loc, abs);
    Value exp = math::ExpOp::create(b, loc, negAbs);
    Value tail = math::Log1pOp::create(b, loc, exp);
    return subF(low, tail);
  }
};

bool hasScalarGates(GateKind gate) {
  return gate == GateKind::decay || gate == GateKind::mlstm_exp ||
         gate == GateKind::mlstm_sig;
}

/// The mLSTM kinds' normaliser n (docs/semantics.md §3.1).
bool hasNormalizer(GateKind gate) {
  return gate == GateKind::mlstm_exp || gate == GateKind::mlstm_sig;
}

/// The per-step gate math: raw gate operands -> (log-forget, log-input),
/// for flash.chunk_gates and flash.step_gates alike (the delta rule's
/// log-decay is gate decay's).
template <typename GatesOp>
void buildGateRegion(OpBuilder &b, Location loc, GateKind gate, GatesOp op) {
  OpBuilder::InsertionGuard guard(b);
  unsigned rawCount = gate == GateKind::vector
                          ? 1
                          : LinearAttentionOp::getGateOperandCount(gate);
  Block *body = b.createBlock(&op.getBody());
  for (unsigned i = 0; i < rawCount; ++i)
    body->addArgument(b.getF32Type(), loc);
  Arith a{{b, loc}};
  Value logForget, logInput;
  switch (gate) {
  case GateKind::none:
    logForget = logInput = a.f(0.0);
    break;
  case GateKind::decay:
  case GateKind::vector:
    logForget = body->getArgument(0); // already a log-decay
    logInput = a.f(0.0);
    break;
  case GateKind::mlstm_exp: // operands (i, f); iota = i, stabilised later
    logInput = body->getArgument(0);
    logForget = a.logSigmoid(body->getArgument(1));
    break;
  case GateKind::mlstm_sig: // sigmoid input gate: iota = log sigmoid(i)
    logInput = a.logSigmoid(body->getArgument(0));
    logForget = a.logSigmoid(body->getArgument(1));
    break;
  }
  GateYieldOp::create(b, loc, logForget, logInput);
}

/// The intra-chunk decay matrix: D~_rs = B(r, s) + iota_s with the
/// compensated difference B(r, s) = (hi_r - hi_s) + (lo_r - lo_s), visible
/// for s <= r. `vector` gates already sit in the gated q and k, `none` has
/// none: their log weight is 0.
template <typename RegionOp>
void buildDecayRegion(OpBuilder &b, Location loc, GateKind gate, RegionOp op) {
  OpBuilder::InsertionGuard guard(b);
  Block *body = b.createBlock(&op.getBody());
  Type f32 = b.getF32Type(), index = b.getIndexType();
  body->addArguments({f32, f32, f32, f32, f32, f32, index, index},
                     SmallVector<Location>(8, loc));
  Arith a{{b, loc}};
  Value hiR = body->getArgument(1), loR = body->getArgument(2),
        hiS = body->getArgument(3), loS = body->getArgument(4),
        iotaS = body->getArgument(5), r = body->getArgument(6),
        s = body->getArgument(7);
  Value logWeight;
  if (hasScalarGates(gate)) {
    Value hiDiff = a.subF(hiR, hiS);
    Value loDiff = a.subF(loR, loS);
    logWeight = a.addF(hiDiff, loDiff);
    if (gate != GateKind::decay)
      logWeight = a.addF(logWeight, iotaS);
  } else {
    logWeight = a.f(0.0);
  }
  DecayYieldOp::create(b, loc, logWeight, a.le(s, r));
}

/// Sizes and shared values of the kernel being built.
struct KernelBuilder {
  OpBuilder &b;
  Location loc;
  const LinearKernelPlan &plan;
  Arith a;
  int64_t chunk, innerQ, innerKv, tileDv, stages;
  Value T, batch, head, valueTile;
  /// The kernel's first op once (batch, head, value tile) are known: an
  /// output_mod's per-CTA ops go before it (buildOutputMod).
  Operation *perCta = nullptr;

  KernelBuilder(OpBuilder &b, Location loc, const LinearKernelPlan &plan)
      : b(b), loc(loc), plan(plan), a{b, loc} {
    ScheduleAttr s = plan.schedule;
    chunk = s.getChunk();
    innerQ = s.getInnerQ();
    innerKv = s.getInnerKv();
    tileDv = s.getTileDv();
    stages = s.getStages();
  }

  GateKind gate() const { return plan.gate; }

  /// chunk_scored: the scores pre-pass's P replaces Q K^T in the fused loop.
  bool stagedScores() const {
    return plan.schedule.getAlgorithm() == Algorithm::chunk_scored;
  }
  /// chunk_scored's fused loop over scalar gates stages each chunk's
  /// scanned gate buffer (and key sums) from the pre-pass instead of
  /// fetching and scanning the raw gates in every value slice.
  bool stagedGates(bool queries) const {
    return queries && stagedScores() && hasScalarGates(gate());
  }

  KernelOp createKernel(StringRef name, KernelFamily family, StringRef phase,
                        int64_t variant) {
    SmallVector<NamedAttribute> entries = {
        b.getNamedAttr("op", b.getStringAttr(plan.opName)),
        b.getNamedAttr("variant", b.getI64IntegerAttr(variant)),
        b.getNamedAttr("phase", b.getStringAttr(phase)),
        b.getNamedAttr("element_type", TypeAttr::get(plan.elementType)),
        b.getNamedAttr("heads", b.getI64IntegerAttr(plan.heads)),
        b.getNamedAttr("key_dim", b.getI64IntegerAttr(plan.keyDim)),
        b.getNamedAttr("value_dim", b.getI64IntegerAttr(plan.valueDim)),
        b.getNamedAttr("gate", b.getStringAttr(stringifyGateKind(plan.gate))),
        b.getNamedAttr("scale", b.getF32FloatAttr(plan.scale)),
        b.getNamedAttr("eps", b.getF32FloatAttr(kLinearNormalizerEps)),
        b.getNamedAttr("initial_state", b.getBoolAttr(plan.initialState)),
        b.getNamedAttr("final_state", b.getBoolAttr(plan.finalState)),
        // Packed sequences have no common length: each reads its own.
        b.getNamedAttr("dims", plan.packed
                                   ? b.getStrArrayAttr({plan.batchDim})
                                   : b.getStrArrayAttr({plan.batchDim, plan.lengthDim})),
    };
    if (plan.gradient)
      entries.push_back(b.getNamedAttr("final_grad", b.getBoolAttr(plan.finalGrad)));
    if (plan.delta) {
      entries.push_back(
          b.getNamedAttr("beta_type", TypeAttr::get(plan.betaType)));
      entries.push_back(
          b.getNamedAttr("l2norm_qk", b.getBoolAttr(plan.l2normQk)));
    }
    auto kernel = KernelOp::create(b, loc, name, family, plan.schedule,
                                   b.getDictionaryAttr(entries));
    Block *body = b.createBlock(&kernel.getBody());
    b.setInsertionPointToStart(body);
    return kernel;
  }

  /// Value tiles per head.
  int64_t valueTiles() const { return plan.valueDim / tileDv; }

  /// f32 a row of linear_grad_rows' output.
  int64_t dqnColumns() const { return normalizerGradColumns(gate() == GateKind::mlstm_exp); }

  /// The rows the gradient kernels read as dO: dO / den for the
  /// normaliser kinds (linear_grad_rows writes it), dO for the others.
  TensorRole doutRole() const {
    return hasNormalizer(gate()) ? TensorRole::grad_do : TensorRole::dout;
  }

  /// Async loads of chunk `c`'s tiles into `stage` (q only with outputs;
  /// chunk_scored's scanned gates into gate buffer `buffer`).
  void loadChunk(Value c, Value stage, bool queries, Value buffer = {}) {
    Value zero = a.c(0);
    if (queries)
      ChunkLoadOp::create(b, loc, TensorRole::q, batch, head, c, zero, T, chunk,
                          plan.keyDim, stage, true);
    ChunkLoadOp::create(b, loc, TensorRole::k, batch, head, c, zero, T, chunk,
                        plan.keyDim, stage, true);
    if (plan.delta) {
      // The delta rule's values are the chunk's WY factors (delta_prepare).
      ChunkLoadOp::create(b, loc, TensorRole::delta_w, batch, head, c, zero, T,
                          chunk, plan.keyDim, stage, true);
      ChunkLoadOp::create(b, loc, TensorRole::delta_u, batch, head, c, valueTile,
                          T, chunk, tileDv, stage, true);
      // With l2norm_qk, the rows' 1/|q|, 1/|k| (delta_prepare's, [L, 2]).
      if (plan.l2normQk)
        ChunkLoadOp::create(b, loc, TensorRole::delta_norm, batch, head, c,
                            zero, T, chunk, 2, stage, true);
      return;
    }
    ChunkLoadOp::create(b, loc, TensorRole::v, batch, head, c, valueTile, T, chunk,
                        tileDv, stage, true);
    if (queries && stagedScores())
      ChunkLoadOp::create(b, loc, TensorRole::scores, batch, head, c, zero, T, chunk,
                          chunk, stage, true);
    if (stagedGates(queries)) {
      ChunkLoadOp::create(b, loc, TensorRole::score_gates, batch, head, c, zero, T, chunk,
                          scalarGateBufferFloats(chunk), buffer, true);
      if (hasNormalizer(gate()))
        ChunkLoadOp::create(b, loc, TensorRole::score_key_sums, batch, head, c, zero, T,
                            chunk, plan.keyDim, stage, true);
    }
    // The f32 g tile has one buffer: it is scanned at the top of its chunk,
    // before the next chunk's tile is requested.
    if (gate() == GateKind::vector)
      ChunkLoadOp::create(b, loc, TensorRole::g, batch, head, c, zero, T, chunk,
                          plan.keyDim, zero, true);
  }

  /// flash.chunk_gates for chunk `c` into gate buffer `buffer`.
  void chunkGates(Value c, Value buffer, Value stage) {
    auto op = ChunkGatesOp::create(b, loc, batch, head, c, T, buffer, stage,
                                   gate());
    buildGateRegion(b, loc, gate(), op);
  }

  /// The op's output_mod cloned into `store`'s region when it stores o:
  /// (o: f32, b, h, t, d) -> f32 with the CTA's batch and head, its
  /// per-CTA ops (an extra's address, a per-head constant) hoisted before
  /// `perCta`.
  template <typename StoreOp> void buildOutputMod(StoreOp store) {
    if (!plan.outputMod || store.getTensor() != TensorRole::o)
      return;
    buildElementRegion(b, loc, *plan.outputMod, store.getOutputMod(), batch, head, perCta);
  }

  /// The op's feature map on chunk `c`'s staged q (where the kernel
  /// computes outputs) and k tiles in `stage`, then a barrier: every warp
  /// reads them after (the vector gates' scan too, which gates them in
  /// place). Nothing without a feature map.
  void mapFeatures(Value c, Value stage, bool queries) {
    if (!plan.featureMap)
      return;
    for (TensorRole role : {TensorRole::q, TensorRole::k}) {
      if (role == TensorRole::q && !queries)
        continue;
      auto map = ChunkFeatureMapOp::create(b, loc, role, batch, head, c, T, stage);
      buildElementRegion(b, loc, *plan.featureMap, map.getBody(), batch, head, perCta);
    }
    BarrierOp::create(b, loc);
  }

  /// Once a kernel with outputs is built: the output_mod reads that
  /// qualify (StagedExtras.h) become flash.chunk_extra_read of a tile that
  /// a flash.chunk_extra_load beside every v chunk_load copies with the
  /// chunk, in the same stage. Every store holds a clone of the same
  /// region, so its reads qualify in the same order; the first store's
  /// per-CTA indices (hoisted before the state is set up) serve the loads.
  void stageOutputModExtras(KernelOp kernel) {
    if (!plan.outputMod)
      return;
    SmallVector<ChunkStoreOp> stores;
    kernel.walk([&](ChunkStoreOp store) {
      if (!store.getOutputMod().empty())
        stores.push_back(store);
    });
    if (stores.empty())
      return;
    SmallVector<StagedExtraRead> staged =
        stagedExtraReads(stores.front(), plan.lengthDim, plan.valueDim);
    if (staged.empty())
      return;
    SmallVector<ChunkLoadOp> valueLoads;
    kernel.walk([&](ChunkLoadOp load) {
      if (load.getTensor() == TensorRole::v)
        valueLoads.push_back(load);
    });
    for (ChunkLoadOp load : valueLoads) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfter(load);
      for (auto [slot, read] : llvm::enumerate(staged)) {
        SmallVector<Value> fixed;
        for (auto [dim, index] : llvm::enumerate(read.read.getIndices()))
          if (dim != read.rowDim && dim != read.colDim)
            fixed.push_back(index);
        ChunkExtraLoadOp::create(b, loc, read.read.getTensor(), fixed, read.rowDim,
                                 read.colDim, load.getChunk(), load.getColTile(),
                                 load.getExtent(), load.getStage(), int64_t(slot), chunk,
                                 tileDv);
      }
    }
    for (ChunkStoreOp store : stores) {
      SmallVector<StagedExtraRead> reads =
          stagedExtraReads(store, plan.lengthDim, plan.valueDim);
      assert(reads.size() == staged.size() && "every store clones the same output_mod");
      for (auto [slot, read] : llvm::enumerate(reads)) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(read.read);
        Value value = ChunkExtraReadOp::create(b, loc, b.getF32Type(), int64_t(slot),
                                               read.read.getIndices()[read.rowDim],
                                               read.read.getIndices()[read.colDim]);
        read.read.getResult().replaceAllUsesWith(value);
        read.read.erase();
      }
    }
  }

  /// scf.if (cond) { body() }.
  template <typename F> void ifThen(Value cond, F body) {
    auto branch = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(branch.thenBlock());
    body();
  }

  /// scf.for %iv = lo to hi { body(%iv) }.
  template <typename F> void forLoop(Value lo, Value hi, F body) {
    auto loop = scf::ForOp::create(b, loc, lo, hi, a.c(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }

  /// The inner key tiles query tile `qt` reaches: those starting before
  /// its end (the rest are all above the diagonal).
  Value keyTilesThrough(Value qt) {
    Value qEnd = a.mul(a.add(qt, a.c(1)), a.c(innerQ));
    return a.min(a.ceilDiv(qEnd, a.c(innerKv)), a.c(chunk / innerKv));
  }

  /// Outputs of chunk `c`: inner query tiles, each from the carried state
  /// plus the inner key tiles up to its last row (TFLA's second level).
  void chunkOutputs(Value c, Value stage, Value buffer,
                    TensorRole out = TensorRole::o) {
    Value zero = a.c(0);
    Value queryTiles = a.c(chunk / innerQ);
    forLoop(zero, queryTiles, [&](Value qt) {
      ChunkInterOp::create(b, loc, qt, stage, buffer, gate());
      if (stagedScores()) {
        ChunkStagedAccumulateOp::create(b, loc, qt, stage, gate());
        buildOutputMod(ChunkStoreOp::create(b, loc, out, batch, head, c, qt, valueTile, T,
                                            stage, gate()));
        return;
      }
      forLoop(zero, keyTilesThrough(qt), [&](Value kt) {
        ChunkScoresOp::create(b, loc, qt, kt, stage, gate());
        auto map = DecayMapOp::create(b, loc, qt, kt, buffer);
        buildDecayRegion(b, loc, gate(), map);
        ChunkAccumulateOp::create(b, loc, kt, stage, gate());
      });
      buildOutputMod(ChunkStoreOp::create(b, loc, out, batch, head, c, qt, valueTile, T,
                                          stage, gate()));
    });
  }

  /// The recurrent loop of `linear_fused` (queries = true) and
  /// `linear_states` (queries = false).
  void buildRecurrentLoop(bool queries) {
    bool scalarGates = hasScalarGates(gate());
    Value zero = a.c(0), one = a.c(1), two = a.c(2);
    Value chunks = a.ceilDiv(T, a.c(chunk));
    perCta = StateInitOp::create(b, loc,
                                 plan.initialState ? StateSource::initial
                                                   : StateSource::zero,
                                 batch, head, valueTile, Value(), gate());

    // Chunk 0 in flight before the loop; its scalar gates ready in buffer 0
    // (chunk_scored: staged with its tiles).
    const bool stagedGates = this->stagedGates(queries);
    loadChunk(zero, zero, queries, zero);
    TileCommitOp::create(b, loc);
    if (scalarGates && !stagedGates) {
      GateFetchOp::create(b, loc, batch, head, zero, T, gate());
      chunkGates(zero, zero, zero);
    }

    forLoop(zero, chunks, [&](Value c) {
      // Chunk c has landed, and every warp is done with chunk c - 1: its
      // stage, its gate buffer and the old 16-bit state copy are free.
      TileWaitOp::create(b, loc, 0);
      Value next = a.add(c, one);
      Value more = a.lt(next, chunks);
      Value stage = stages == 1 ? zero : a.rem(c, a.c(stages));
      // Gate buffers alternate for scalar gates only (the others keep
      // none, or one table rebuilt at the top of each chunk).
      Value buffer = scalarGates ? a.rem(c, two) : zero;
      mapFeatures(c, stage, queries);
      if (gate() == GateKind::vector) {
        // Per-key-dim gates: scan the staged g tile and gate q, k in place
        // before anyone reads them.
        chunkGates(c, zero, stage);
        BarrierOp::create(b, loc);
      }
      if (stages > 1) {
        Value nextStage = a.rem(next, a.c(stages));
        ifThen(more, [&] { loadChunk(next, nextStage, queries, a.rem(next, two)); });
        TileCommitOp::create(b, loc);
      }
      if (scalarGates && !stagedGates)
        ifThen(more, [&] {
          GateFetchOp::create(b, loc, batch, head, next, T, gate());
        });

      if (plan.delta) {
        // Every warp is past the previous chunk and the state copy is
        // current: correct U in place.
        ChunkDeltaOp::create(b, loc, stage);
      }
      if (queries) {
        chunkOutputs(c, stage, buffer);
        // Every warp has read the 16-bit state copy before it is replaced.
        BarrierOp::create(b, loc);
      } else {
        StateStoreOp::create(b, loc, StateTarget::scratch, batch, head, valueTile, c,
                             gate());
      }
      StateUpdateOp::create(b, loc, stage, buffer, gate());
      if (scalarGates && !stagedGates)
        ifThen(more, [&] { chunkGates(next, a.rem(next, two), zero); });
      if (stages == 1) {
        // One stage: the next chunk may only overwrite it now.
        BarrierOp::create(b, loc);
        ifThen(more, [&] { loadChunk(next, zero, queries, a.rem(next, two)); });
        TileCommitOp::create(b, loc);
      }
    });

    if (!queries)
      StateStoreOp::create(b, loc, StateTarget::scratch, batch, head, valueTile, chunks,
                           gate());
    if (plan.finalState)
      StateStoreOp::create(b, loc, StateTarget::final, batch, head, valueTile, chunks,
                           gate());
  }

  /// Grid (value tile, head, batch) of the kernels with a recurrent loop.
  void mapValueTileGrid() {
    Type index = b.getIndexType();
    auto grid = GridMapOp::create(
        b, loc, TypeRange{index, index, index},
        b.getStrArrayAttr({"value_tile", "head", "batch"}),
        b.getStrArrayAttr({std::to_string(valueTiles()),
                           std::to_string(plan.heads), plan.batchDim}));
    valueTile = grid.getIds()[0];
    head = grid.getIds()[1];
    batch = grid.getIds()[2];
    if (plan.packed) {
      // Sequence `batch` of the packed batch: its own length, its rows
      // addressed from its first (every tensor but the states).
      auto sequence = SequenceOp::create(
          b, loc, index, index, batch, b.getStringAttr(plan.lengthDim),
          /*packed_queries=*/true, b.getStringAttr(plan.lengthDim), /*packed_keys=*/false);
      T = sequence.getQueries();
      return;
    }
    T = DimOp::create(b, loc, index, b.getStringAttr(plan.lengthDim));
  }

  /// Grid (chunk, head, batch) of the kernels with one chunk per CTA; the
  /// chunk index. At least one chunk of CTAs: T = 0 still launches (and
  /// writes nothing). Packed sequences: T in the grid is the longest
  /// sequence's (a launch value; mapChunkLength).
  Value mapChunkGrid() {
    Type index = b.getIndexType();
    auto grid = GridMapOp::create(
        b, loc, TypeRange{index, index, index},
        b.getStrArrayAttr({"chunk", "head", "batch"}),
        b.getStrArrayAttr({"max(cdiv(" + plan.lengthDim + "," +
                               std::to_string(chunk) + "),1)",
                           std::to_string(plan.heads), plan.batchDim}));
    head = grid.getIds()[1];
    batch = grid.getIds()[2];
    Value c = grid.getIds()[0];
    mapChunkLength(c);
    return c;
  }

  /// T of a grid with one chunk per CTA (chunk `c`): the op's length, or,
  /// for packed sequences, the CTA's sequence's (flash.sequence), with the
  /// insertion point left inside `if (c < max(cdiv(T, L), 1))`: the grid
  /// covers the longest sequence's chunks and a CTA past its own
  /// sequence's last chunk does nothing.
  void mapChunkLength(Value c) {
    Type index = b.getIndexType();
    if (!plan.packed) {
      T = DimOp::create(b, loc, index, b.getStringAttr(plan.lengthDim));
      return;
    }
    auto sequence = SequenceOp::create(
        b, loc, index, index, batch, b.getStringAttr(plan.lengthDim),
        /*packed_queries=*/true, b.getStringAttr(plan.lengthDim), /*packed_keys=*/false);
    T = sequence.getQueries();
    Value chunks = a.max(a.ceilDiv(T, a.c(chunk)), a.c(1));
    auto inside = scf::IfOp::create(b, loc, a.lt(c, chunks), /*withElse=*/false);
    b.setInsertionPointToStart(inside.thenBlock());
  }

  KernelOp buildFused(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(
        name, plan.delta ? KernelFamily::delta_fused : KernelFamily::linear_fused,
        "fused", variant);
    mapValueTileGrid();
    buildRecurrentLoop(/*queries=*/true);
    stageOutputModExtras(kernel);
    return kernel;
  }

  /// recurrent_step, grid (value tile, head, batch): the state slice in
  /// registers through every token, one rank-one update each.
  KernelOp buildStep(StringRef name, int64_t variant) {
    KernelOp kernel =
        createKernel(name, KernelFamily::recurrent_step, "step", variant);
    mapValueTileGrid();
    perCta = StateInitOp::create(b, loc,
                                 plan.initialState ? StateSource::initial
                                                   : StateSource::zero,
                                 batch, head, valueTile, Value(), gate());
    forLoop(a.c(0), T, [&](Value t) {
      auto load = StepLoadOp::create(b, loc, batch, head, t, valueTile, T, gate());
      if (plan.featureMap)
        buildElementRegion(b, loc, *plan.featureMap, load.getFeatureMap(), batch, head,
                           perCta);
      auto gates = StepGatesOp::create(b, loc, batch, head, t, gate());
      buildGateRegion(b, loc, gate(), gates);
      StepUpdateOp::create(b, loc, gate());
      buildOutputMod(
          StepStoreOp::create(b, loc, TensorRole::o, batch, head, t, valueTile, gate()));
    });
    // Boundary T: the state after the last token.
    if (plan.finalState)
      StateStoreOp::create(b, loc, StateTarget::final, batch, head, valueTile,
                           T, gate());
    return kernel;
  }

  KernelOp buildStates(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_states, "states", variant);
    mapValueTileGrid();
    buildRecurrentLoop(/*queries=*/false);
    return kernel;
  }

  /// linear_scores (chunk_scored): one chunk of one (batch, head) per CTA,
  /// its q and k in stage 0, its gates in buffer 0; each inner pair up to
  /// the diagonal scored, mapped and written as P.
  KernelOp buildScores(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_scores, "scores", variant);
    Value c = mapChunkGrid();
    Value zero = a.c(0);
    for (TensorRole role : {TensorRole::q, TensorRole::k})
      ChunkLoadOp::create(b, loc, role, batch, head, c, zero, T, chunk, plan.keyDim, zero,
                          true);
    TileCommitOp::create(b, loc);
    if (hasScalarGates(gate())) {
      GateFetchOp::create(b, loc, batch, head, c, T, gate());
      chunkGates(c, zero, zero);
    }
    TileWaitOp::create(b, loc, 0);
    // The scanned gates (and key sums) for the fused loop's value slices.
    if (hasScalarGates(gate()))
      ChunkGatesStoreOp::create(b, loc, batch, head, c, gate());
    forLoop(zero, a.c(chunk / innerQ), [&](Value qt) {
      forLoop(zero, keyTilesThrough(qt), [&](Value kt) {
        ChunkScoresOp::create(b, loc, qt, kt, zero, gate());
        auto map = DecayMapOp::create(b, loc, qt, kt, zero);
        buildDecayRegion(b, loc, gate(), map);
        ChunkScoresStoreOp::create(b, loc, batch, head, c, qt, kt, gate());
      });
    });
    return kernel;
  }

  /// delta_prepare: one chunk of one (batch, head) per CTA, its k and its
  /// whole v rows in stage 0, its gates in buffer 0.
  KernelOp buildPrepare(StringRef name, int64_t variant) {
    KernelOp kernel =
        createKernel(name, KernelFamily::delta_prepare, "prepare", variant);
    Value c = mapChunkGrid();
    Value zero = a.c(0);
    ChunkLoadOp::create(b, loc, TensorRole::k, batch, head, c, zero, T, chunk,
                        plan.keyDim, zero, true);
    ChunkLoadOp::create(b, loc, TensorRole::v, batch, head, c, zero, T, chunk,
                        plan.valueDim, zero, true);
    TileCommitOp::create(b, loc);
    if (hasScalarGates(gate())) {
      GateFetchOp::create(b, loc, batch, head, c, T, gate());
      chunkGates(c, zero, zero);
    }
    TileWaitOp::create(b, loc, 0);
    if (plan.l2normQk)
      ChunkL2NormOp::create(b, loc, batch, head, c, T, zero);
    ChunkWYOp::create(b, loc, batch, head, c, T, zero, gate());
    return kernel;
  }

  /// linear_grad_states, grid (value tile, head, batch): the chunks last
  /// first, q and dO in the update's key and value stages; the gradient of
  /// the state after chunk c goes to scratch boundary c + 1 before the
  /// chunk's update, the initial state's gradient (boundary 0) last.
  KernelOp buildGradStates(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_grad_states,
                                   "grad_states", variant);
    mapValueTileGrid();
    bool scalarGates = hasScalarGates(gate());
    Value zero = a.c(0), one = a.c(1), two = a.c(2);
    Value chunks = a.ceilDiv(T, a.c(chunk));
    // The last chunk (chunk 0 of an empty sequence: its rows load as zeros).
    Value last = a.sub(a.max(chunks, one), one);
    // mlstm_exp's final-state gradient reads the final state (boundary NC)
    // for its stabiliser's gradient (docs/semantics.md §4.7).
    const bool stabilized = gate() == GateKind::mlstm_exp;
    StateInitOp::create(b, loc,
                        plan.finalGrad ? StateSource::final_grad : StateSource::zero,
                        batch, head, valueTile,
                        plan.finalGrad && stabilized ? chunks : Value(), gate());
    auto load = [&](Value c, Value stage) {
      ChunkLoadOp::create(b, loc, TensorRole::q, batch, head, c, zero, T, chunk,
                          plan.keyDim, stage, true);
      ChunkLoadOp::create(b, loc, doutRole(), batch, head, c, valueTile, T,
                          chunk, tileDv, stage, true);
      // The normaliser's gradient per row (its shares; mlstm_exp's
      // stabiliser's beside them), for the n part.
      if (hasNormalizer(gate()))
        ChunkLoadOp::create(b, loc, TensorRole::grad_dqn, batch, head, c, zero, T,
                            chunk, dqnColumns(), stage, true);
      // Vector gates: the f32 g tile has one buffer (scanned at the top of
      // its chunk, before the next chunk's is requested), as in the forward.
      if (gate() == GateKind::vector)
        ChunkLoadOp::create(b, loc, TensorRole::g, batch, head, c, zero, T, chunk,
                            plan.keyDim, zero, true);
    };
    load(last, zero);
    TileCommitOp::create(b, loc);
    if (scalarGates) {
      GateFetchOp::create(b, loc, batch, head, last, T, gate());
      chunkGates(last, zero, zero);
    }
    forLoop(zero, chunks, [&](Value i) {
      TileWaitOp::create(b, loc, 0);
      Value c = a.sub(last, i);
      Value prev = a.sub(c, one);
      Value more = a.lt(a.add(i, one), chunks);
      Value stage = stages == 1 ? zero : a.rem(i, a.c(stages));
      Value buffer = scalarGates ? a.rem(i, two) : zero;
      if (gate() == GateKind::vector) {
        // Gate the staged q in place (it sits in k's stage) before anyone
        // reads it or the next g tile lands.
        chunkGates(c, zero, stage);
        BarrierOp::create(b, loc);
      }
      if (stages > 1) {
        Value nextStage = a.rem(a.add(i, one), a.c(stages));
        ifThen(more, [&] { load(prev, nextStage); });
        TileCommitOp::create(b, loc);
      }
      if (scalarGates)
        ifThen(more, [&] { GateFetchOp::create(b, loc, batch, head, prev, T, gate()); });
      StateStoreOp::create(b, loc, StateTarget::scratch, batch, head, valueTile,
                           a.add(c, one), gate());
      StateUpdateOp::create(b, loc, stage, buffer, gate(), /*gradient=*/true);
      if (scalarGates)
        ifThen(more, [&] { chunkGates(prev, a.rem(a.add(i, one), two), zero); });
      if (stages == 1) {
        BarrierOp::create(b, loc);
        ifThen(more, [&] { load(prev, zero); });
        TileCommitOp::create(b, loc);
      }
    });
    // mlstm_exp: the gradient at boundary 0 and what the chunks carry
    // into m0 too, for the chunk kernel's dm0.
    if (stabilized)
      StateStoreOp::create(b, loc, StateTarget::scratch, batch, head, valueTile, zero,
                           gate());
    if (plan.initialState)
      StateStoreOp::create(b, loc, StateTarget::initial_grad, batch, head, valueTile,
                           zero, gate());
    return kernel;
  }

  /// linear_grad_chunk, grid (chunk, head, batch): the chunk's rows whole
  /// in stage 0 and its boundary states (flash.chunk_grad_stage), its
  /// gates in buffer 0, then flash.chunk_grad. Where the
  /// schedule passes over value slices (value_slice < Dv), v and dO are
  /// flash.chunk_grad's to stage, a slice a pass beside the states'.
  KernelOp buildGradChunk(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_grad_chunk,
                                   "grad_chunk", variant);
    if (plan.schedule.getPersistent())
      return buildGradChunkRounds(kernel);
    Value c = mapChunkGrid();
    Value zero = a.c(0);
    stageGradRows(c, zero);
    // The boundary states in the same group as the rows: one round trip.
    ChunkGradStageOp::create(b, loc, batch, head, c, gate());
    TileCommitOp::create(b, loc);
    if (hasScalarGates(gate())) {
      GateFetchOp::create(b, loc, batch, head, c, T, gate());
      chunkGates(c, zero, zero);
    }
    TileWaitOp::create(b, loc, 0);
    if (gate() == GateKind::vector) {
      // q and k gated in place, g replaced by the exponents that gated q.
      chunkGates(c, zero, zero);
      BarrierOp::create(b, loc);
    }
    auto grad = ChunkGradOp::create(b, loc, batch, head, c, T, zero, zero, gate());
    buildDecayRegion(b, loc, gate(), grad);
    return kernel;
  }

  /// The rows the chunk kernel stages whole for chunk `c` of the current
  /// (batch, head) into `stage`: q and k, v and dO unless the schedule
  /// passes over value slices (flash.chunk_grad stages those), a
  /// normaliser's dN rows, vector gates' g tile.
  void stageGradRows(Value c, Value stage) {
    Value zero = a.c(0);
    const bool valueSlices =
        gradValueSlice(plan.valueDim, plan.schedule.getValueSlice()) < plan.valueDim;
    SmallVector<std::pair<TensorRole, int64_t>> rows = {{TensorRole::q, plan.keyDim},
                                                        {TensorRole::k, plan.keyDim}};
    if (!valueSlices)
      rows.append({{TensorRole::v, plan.valueDim}, {doutRole(), plan.valueDim}});
    for (auto [role, cols] : rows)
      ChunkLoadOp::create(b, loc, role, batch, head, c, zero, T, chunk, cols, stage, true);
    if (hasNormalizer(gate()))
      ChunkLoadOp::create(b, loc, TensorRole::grad_dqn, batch, head, c, zero, T,
                          chunk, dqnColumns(), stage, true);
    if (gate() == GateKind::vector)
      ChunkLoadOp::create(b, loc, TensorRole::g, batch, head, c, zero, T, chunk,
                          plan.keyDim, zero, true);
  }

  /// The persistent chunk kernel (persistent = 1; whole values, scalar or
  /// no gates, unpacked): one CTA an SM, rounds over (chunk, head, batch)
  /// (flash.chunk_rounds). Round r computes in row stage r % 2 while the
  /// next round's rows land in the other; the next round's states (one S,
  /// one G: chunk_grad reads them to its end) are staged after this
  /// round's chunk_grad and its barrier, its gates fetched and scanned into
  /// the one gate buffer there too. Copy groups, oldest first: round 0's
  /// rows and states (the first round's own), then per round the next
  /// rows, then the next states; `wait 1` at a round's top leaves only the
  /// next rows in flight.
  KernelOp buildGradChunkRounds(KernelOp kernel) {
    Type index = b.getIndexType();
    T = DimOp::create(b, loc, index, b.getStringAttr(plan.lengthDim));
    auto rounds = ChunkRoundsOp::create(
        b, loc, b.getStrArrayAttr({"chunk", "head", "batch"}),
        b.getStrArrayAttr({"max(cdiv(" + plan.lengthDim + "," + std::to_string(chunk) + "),1)",
                           std::to_string(plan.heads), plan.batchDim}));
    SmallVector<Type> types(7, index);
    types.push_back(b.getI1Type());
    Block *body = b.createBlock(&rounds.getBody(), {}, types,
                                SmallVector<Location>(types.size(), loc));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);
    Value c = body->getArgument(0), round = body->getArgument(3);
    Value nextChunk = body->getArgument(4), more = body->getArgument(7);
    Value thisHead = body->getArgument(1), thisBatch = body->getArgument(2);
    Value nextHead = body->getArgument(5), nextBatch = body->getArgument(6);
    Value zero = a.c(0), two = a.c(2);
    auto at = [&](Value h, Value bt) {
      head = h;
      batch = bt;
    };
    const bool scalarGates = hasScalarGates(gate());
    // The gates of chunk `cc` of the current (batch, head) into buffer 0.
    auto gates = [&](Value cc) {
      GateFetchOp::create(b, loc, batch, head, cc, T, gate());
      chunkGates(cc, zero, zero);
    };
    at(thisHead, thisBatch);
    ifThen(a.eq(round, zero), [&] {
      stageGradRows(c, zero);
      ChunkGradStageOp::create(b, loc, batch, head, c, gate());
      TileCommitOp::create(b, loc);
      if (scalarGates)
        gates(c);
    });
    at(nextHead, nextBatch);
    ifThen(more, [&] { stageGradRows(nextChunk, a.rem(a.add(round, a.c(1)), two)); });
    TileCommitOp::create(b, loc);
    TileWaitOp::create(b, loc, 1);
    at(thisHead, thisBatch);
    auto grad = ChunkGradOp::create(b, loc, batch, head, c, T, a.rem(round, two), zero, gate());
    buildDecayRegion(b, loc, gate(), grad);
    // Every warp is past its last read of S, G, the gate buffer and this
    // round's row stage.
    BarrierOp::create(b, loc);
    at(nextHead, nextBatch);
    ifThen(more, [&] { ChunkGradStageOp::create(b, loc, batch, head, nextChunk, gate()); });
    TileCommitOp::create(b, loc);
    if (scalarGates)
      ifThen(more, [&] { gates(nextChunk); });
    at(thisHead, thisBatch);
    return kernel;
  }

  /// linear_grad_rows, grid (chunk, head, batch): the chunk's rows' dO /
  /// den and normaliser gradients from the forward's o and norm
  /// (flash.normalizer_grad_rows).
  KernelOp buildGradRows(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_grad_rows, "grad_rows", variant);
    Type index = b.getIndexType();
    auto grid = GridMapOp::create(
        b, loc, TypeRange{index, index, index}, b.getStrArrayAttr({"chunk", "head", "batch"}),
        // At least one chunk: T = 0 still launches (and writes nothing).
        b.getStrArrayAttr({"max(cdiv(" + plan.lengthDim + "," + std::to_string(chunk) + "),1)",
                           std::to_string(plan.heads), plan.batchDim}));
    Value c = grid.getIds()[0];
    head = grid.getIds()[1];
    batch = grid.getIds()[2];
    mapChunkLength(c);
    NormalizerGradRowsOp::create(b, loc, batch, head, c, T, gate());
    return kernel;
  }

  /// linear_outputs, grid (chunk x value tile, head, batch): one chunk's
  /// outputs from its scratch state.
  KernelOp buildOutputs(StringRef name, int64_t variant) {
    KernelOp kernel = createKernel(name, KernelFamily::linear_outputs, "outputs", variant);
    const std::string &batchDim = plan.batchDim, &lengthDim = plan.lengthDim;
    Type index = b.getIndexType();
    std::string tiles = std::to_string(valueTiles());
    auto grid = GridMapOp::create(
        b, loc, TypeRange{index, index, index},
        b.getStrArrayAttr({"chunk_value_tile", "head", "batch"}),
        // At least one chunk of CTAs: T = 0 still launches (and writes
        // nothing) instead of asking for an empty grid.
        b.getStrArrayAttr({"max(cdiv(" + lengthDim + "," +
                               std::to_string(chunk) + "),1)*" + tiles,
                           std::to_string(plan.heads), batchDim}));
    Value id = grid.getIds()[0];
    head = grid.getIds()[1];
    batch = grid.getIds()[2];
    Value c = a.divU(id, a.c(valueTiles()));
    valueTile = a.remU(id, a.c(valueTiles()));
    // (Packed: the gradient's rows kernel over each sequence's chunks.)
    mapChunkLength(c);
    Value zero = a.c(0);

    perCta =
        StateInitOp::create(b, loc, StateSource::scratch, batch, head, valueTile, c, gate());
    loadChunk(c, zero, /*queries=*/true);
    TileCommitOp::create(b, loc);
    if (hasScalarGates(gate())) {
      GateFetchOp::create(b, loc, batch, head, c, T, gate());
      chunkGates(c, zero, zero);
    }
    TileWaitOp::create(b, loc, 0);
    mapFeatures(c, zero, /*queries=*/true);
    if (gate() == GateKind::vector) {
      chunkGates(c, zero, zero);
      BarrierOp::create(b, loc);
    }
    chunkOutputs(c, zero, zero, TensorRole::o);
    stageOutputModExtras(kernel);
    return kernel;
  }
};

} // namespace

/// The plan fields every recurrence op (and the gradient) gives the same
/// way; the final state is the caller's.
template <typename OpT>
static LinearKernelPlan recurrencePlan(OpT op, StringRef fallbackName) {
  LinearKernelPlan plan;
  plan.op = op;
  plan.elementType = op.getQ().getType().getElementType();
  plan.scale = op.getEffectiveScale();
  plan.batchDim = op.getBatchDimName();
  plan.lengthDim = op.getLengthDimName();
  plan.heads = op.getQ().getType().getDimSize(1);
  plan.keyDim = op.getQ().getType().getDimSize(3);
  plan.valueDim = op.getV().getType().getDimSize(3);
  auto func = op->template getParentOfType<FunctionOpInterface>();
  plan.opName = func ? func.getName().str() : fallbackName.str();
  return plan;
}

LinearKernelPlan mlir::flash::linearKernelPlan(LinearAttentionOp op) {
  LinearKernelPlan plan = recurrencePlan(op, "linear_attention");
  plan.gate = op.getGate();
  plan.initialState = !op.getInitialState().empty();
  plan.finalState = op.getReturnFinalState();
  plan.packed = linearVarlenOf(op.getOperation()).has_value();
  if (op.hasOutputMod())
    plan.outputMod = &op.getOutputMod();
  if (op.hasFeatureMap())
    plan.featureMap = &op.getFeatureMap();
  return plan;
}

LinearKernelPlan mlir::flash::linearKernelPlan(LinearAttentionGradOp op) {
  LinearKernelPlan plan = recurrencePlan(op, "linear_attention_grad");
  plan.gate = op.getGate();
  plan.initialState = !op.getInitialState().empty();
  plan.gradient = true;
  plan.finalGrad = !op.getFinalGrad().empty();
  plan.packed = linearVarlenOf(op.getOperation()).has_value();
  return plan;
}

LinearKernelPlan mlir::flash::linearKernelPlan(DeltaRuleOp op) {
  LinearKernelPlan plan = recurrencePlan(op, "delta_rule");
  plan.gate = op.getLogDecay() ? GateKind::decay : GateKind::none;
  plan.initialState = bool(op.getInitialState());
  plan.finalState = op.getReturnFinalState();
  plan.delta = true;
  plan.l2normQk = op.getL2normQk();
  plan.betaType = op.getBeta().getType().getElementType();
  plan.packed = linearVarlenOf(op.getOperation()).has_value();
  return plan;
}

void mlir::flash::buildLinearKernels(OpBuilder &b, const LinearKernelPlan &plan,
                                     int64_t variant,
                                     SmallVectorImpl<KernelOp> &kernels) {
  Location loc = plan.op->getLoc();
  std::string name = plan.opName + "_v" + std::to_string(variant);
  if (plan.schedule.getAlgorithm() == Algorithm::recurrent_step) {
    KernelBuilder builder(b, loc, plan);
    kernels.push_back(builder.buildStep(name, variant));
    return;
  }
  if (plan.schedule.getAlgorithm() == Algorithm::chunk_grad) {
    // The forward's chunk states, (with a normaliser) dO / den and the
    // rows' normaliser gradients, the state gradients, then every chunk's.
    using Build = KernelOp (KernelBuilder::*)(StringRef, int64_t);
    SmallVector<std::pair<const char *, Build>> steps = {
        {"_states", &KernelBuilder::buildStates}};
    if (hasNormalizer(plan.gate))
      steps.push_back({"_grad_rows", &KernelBuilder::buildGradRows});
    steps.push_back({"_grad_states", &KernelBuilder::buildGradStates});
    steps.push_back({"_grad_chunk", &KernelBuilder::buildGradChunk});
    for (auto [suffix, build] : steps) {
      if (!kernels.empty())
        b.setInsertionPointAfter(kernels.back());
      KernelBuilder builder(b, loc, plan);
      kernels.push_back((builder.*build)(name + suffix, variant));
    }
    return;
  }
  if (plan.schedule.getAlgorithm() == Algorithm::chunk_two_pass) {
    {
      KernelBuilder builder(b, loc, plan);
      kernels.push_back(builder.buildStates(name + "_states", variant));
    }
    b.setInsertionPointAfter(kernels.back());
    KernelBuilder builder(b, loc, plan);
    kernels.push_back(builder.buildOutputs(name + "_outputs", variant));
    return;
  }
  if (plan.schedule.getAlgorithm() == Algorithm::chunk_scored) {
    // Every chunk's P first, then the recurrence staging it.
    {
      KernelBuilder builder(b, loc, plan);
      kernels.push_back(builder.buildScores(name + "_scores", variant));
    }
    b.setInsertionPointAfter(kernels.back());
  }
  if (plan.delta) {
    // Every chunk's W and U first, then the recurrence over them.
    {
      KernelBuilder builder(b, loc, plan);
      kernels.push_back(builder.buildPrepare(name + "_prepare", variant));
    }
    b.setInsertionPointAfter(kernels.back());
  }
  KernelBuilder builder(b, loc, plan);
  kernels.push_back(builder.buildFused(name, variant));
}
