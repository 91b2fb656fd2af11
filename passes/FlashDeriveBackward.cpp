//===- FlashDeriveBackward.cpp - flash-derive-backward --------------------===//
//
// Adds, after each function holding one flash.attention, the function
// `<name>_backward(q, k, v, o, do, lse) -> (dq, dk, dv)` holding its
// flash.attention_grad. The backward op copies the forward's attributes and
// regions, so both kernels see the same mask and score_mod, and gets
// score_grad from ScoreModDerivative. The function's argument order is the
// one flashgen-ref writes reference data for; a block-sparse op's backward
// also takes its lists after lse, the kv lists and then their transposes
// (FlexAttention's q_num_blocks / q_indices), which its k's flash.block_mask
// view carries. A function holding one flash.linear_attention gets
// `<name>_backward(q, k, v, gates..., do [, initial state] [, final-state
// gradient]) -> (dq, dk, dv, gate gradients [, initial-state gradient])`
// holding its flash.linear_attention_grad.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "passes/ScoreModDerivative.h"

#include "dialect/BlockMask.h"
#include "dialect/PagedKv.h"
#include "dialect/Varlen.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHDERIVEBACKWARD
#include "passes/Passes.h.inc"
} // namespace mlir::flash

using namespace mlir;
using namespace mlir::flash;

namespace {

/// lse [B, Hq, N] f32, with q's batch and query length (static or not).
RankedTensorType lseType(RankedTensorType q) {
  return RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), q.getDimSize(2)},
                               Float32Type::get(q.getContext()));
}

/// `<forward>_backward`, or an error on `op` (and failure) where a symbol
/// of that name exists.
FailureOr<std::string> backwardName(func::FuncOp forward, Operation *op,
                                    SymbolTable &symbols) {
  std::string name = (forward.getName() + "_backward").str();
  if (Operation *existing = symbols.lookup(name)) {
    InFlightDiagnostic error = op->emitError()
                               << "flash-derive-backward: @" << name
                               << " already exists; cannot add the backward "
                                  "function of @"
                               << forward.getName() << " under that name";
    error.attachNote(existing->getLoc()) << "the existing @" << name;
    return failure();
  }
  return name;
}

/// Builds `@<name>_backward` for `forward`'s single attention right after
/// `forward`; fails (having emitted why, and built nothing) when the name
/// is taken or score_mod cannot be differentiated.
LogicalResult deriveBackward(func::FuncOp forward, AttentionOp attention,
                             SymbolTable &symbols, bool deterministic) {
  FailureOr<std::string> name = backwardName(forward, attention, symbols);
  if (failed(name))
    return failure();

  if (pagedKvOf(attention.getOperation()))
    return attention.emitError()
           << "flash-derive-backward: k and v are paged caches "
              "(flash.paged_view), which serve decoding and prefill; a "
              "backward takes contiguous k and v [B, Hkv, M, D]";
  if (varlenOf(attention.getOperation()))
    return attention.emitError()
           << "flash-derive-backward: packed (varlen) sequences "
              "(flash.varlen_view) have no backward yet; a backward takes "
              "[B, H, N, D] tensors (pad the batch, or train without "
              "--backward on this op)";
  if (attention.hasOutputMod())
    return attention.emitError()
           << "flash-derive-backward: the op has an output_mod, whose "
              "gradient is not built yet; derive the backward of the op "
              "without it and apply the modifier outside";
  auto q = attention.getQ().getType(), k = attention.getK().getType(),
       v = attention.getV().getType(), o = attention.getO().getType();
  Location loc = attention.getLoc();
  OpBuilder b(forward.getContext());
  b.setInsertionPointAfter(forward);
  // A block mask's lists follow lse: the forward's kv lists (the
  // deterministic dq kernel walks them) and their transposes (the kv
  // kernel's), each transposed pair with its kv pair's batch and heads.
  std::optional<BlockMask> mask = blockMaskOf(attention.getOperation());
  SmallVector<Type> inputs = {q, k, v, o, o, lseType(q)};
  SmallVector<Type> listTypes;
  if (mask) {
    auto transposed = [&](Value list, bool isIndices) {
      return transposedListType(cast<RankedTensorType>(list.getType()),
                                isIndices, *mask, q.getDimSize(2),
                                k.getDimSize(2));
    };
    listTypes = {mask->counts.getType(), mask->indices.getType()};
    if (mask->hasFull())
      llvm::append_range(listTypes, SmallVector<Type>{mask->fullCounts.getType(),
                                                      mask->fullIndices.getType()});
    listTypes.push_back(transposed(mask->counts, false));
    listTypes.push_back(transposed(mask->indices, true));
    if (mask->hasFull()) {
      listTypes.push_back(transposed(mask->fullCounts, false));
      listTypes.push_back(transposed(mask->fullIndices, true));
    }
  }
  llvm::append_range(inputs, listTypes);
  // The extras the regions read are the backward's inputs too, last.
  llvm::append_range(inputs, attention.getExtras().getTypes());
  auto type = b.getFunctionType(inputs, {q, k, v});
  auto backward = func::FuncOp::create(b, forward.getLoc(), *name, type);
  Block *body = backward.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value keys = body->getArgument(1);
  if (mask) {
    // kv pair, full kv pair, then their transposes in the same order.
    ValueRange lists = body->getArguments().slice(6, listTypes.size());
    bool full = mask->hasFull();
    size_t t = full ? 4 : 2; // the transposed lists start here
    keys = BlockMaskOp::create(
        b, loc, k, keys, lists[0], lists[1], full ? lists[2] : Value(),
        full ? lists[3] : Value(), lists[t], lists[t + 1],
        full ? lists[t + 2] : Value(), full ? lists[t + 3] : Value(),
        b.getDenseI64ArrayAttr({mask->queryBlock, mask->keyBlock}));
  }
  auto grad = AttentionGradOp::create(
      b, loc, TypeRange{q, k, v}, body->getArgument(0), keys,
      body->getArgument(2), body->getArgument(3), body->getArgument(4),
      body->getArgument(5), attention.getMaskAttr(), attention.getWindowAttr(),
      attention.getScaleAttr(), attention.getDimsAttr(),
      deterministic ? b.getUnitAttr() : UnitAttr(),
      body->getArguments().drop_front(6 + listTypes.size()),
      attention.getExtraNamesAttr(), attention.getExtraDimsAttr(),
      attention.getRotaryAttr(), attention.getRotaryTablesAttr());
  // Both ops are isolated from above: the regions clone without a mapping.
  IRMapping none;
  attention.getScoreMod().cloneInto(&grad.getScoreMod(), none);
  attention.getMaskMod().cloneInto(&grad.getMaskMod(), none);
  if (attention.hasScoreMod() &&
      failed(buildScoreModDerivative(attention.getScoreMod(),
                                     grad.getScoreGrad()))) {
    backward.erase();
    return failure();
  }
  func::ReturnOp::create(b, loc, grad.getResults());
  symbols.insert(backward, Block::iterator(backward));
  return success();
}

/// Builds `@<name>_backward(q, k, v, gates..., [o,] do [, norm] [,
/// initial state...] [, final-state gradient...]) -> (dq, dk, dv, gate
/// gradients... [, initial-state gradients...])` for `forward`'s single
/// flash.linear_attention; the final state's gradient is an input where
/// the forward returns the final state. The normaliser kinds (mlstm_sig,
/// mlstm_exp) take the forward's output o and its rows' normalisers norm
/// [B, H, T, 2] f32 (N_r, floor_r), which their forward kernels write, as
/// FlashAttention's backward takes o and lse: the gradient needs dO / den
/// and dO . h per row, and without them it recomputes every output. Over packed sequences
/// (dialect/Varlen.h) the row tensors are the packed ones and cu_seqlens
/// follows dO: the function views them, and packs the row gradients, with
/// it, as the forward does.
LogicalResult deriveLinearBackward(func::FuncOp forward, LinearAttentionOp linear,
                                   SymbolTable &symbols) {
  if (linear.hasOutputMod())
    return linear.emitError()
           << "flash-derive-backward: the op has an output_mod, whose "
              "gradient is not built yet; derive the backward of the op "
              "without it and apply the modifier outside";
  if (linear.hasFeatureMap())
    return linear.emitError()
           << "flash-derive-backward: the op has a feature_map, whose "
              "gradient is not built yet; derive the backward of the op "
              "without it and map q and k outside";
  std::optional<LinearVarlen> packed = linearVarlenOf(linear.getOperation());
  FailureOr<std::string> name = backwardName(forward, linear, symbols);
  if (failed(name))
    return failure();
  Location loc = linear.getLoc();
  OpBuilder b(forward.getContext());
  b.setInsertionPointAfter(forward);
  TypeRange gates = linear.getGates().getTypes(),
            initial = linear.getInitialState().getTypes(),
            final = linear.getFinalState().getTypes();
  Type q = linear.getQ().getType(), k = linear.getK().getType(),
       v = linear.getV().getType(), o = linear.getO().getType();
  // The row tensors' types at the function's boundary (packed or not).
  SmallVector<Type> rowTypes = {q, k, v};
  llvm::append_range(rowTypes, gates);
  Type doutType = o;
  if (packed) {
    rowTypes = {packed->qPacked.getType(), packed->kPacked.getType(),
                packed->vPacked.getType()};
    for (Value gate : packed->gatesPacked)
      rowTypes.push_back(gate.getType());
    doutType = packed->oPacked.getType();
  }
  const bool normalizer =
      linear.getGate() == GateKind::mlstm_sig || linear.getGate() == GateKind::mlstm_exp;
  // norm: [B, H, T, 2] f32 beside the rows (packed [<T>_total, H, 2]).
  auto normType = [&](Type rowsType) {
    auto rows = cast<RankedTensorType>(rowsType);
    SmallVector<int64_t> shape(rows.getShape().drop_back());
    shape.push_back(2);
    return RankedTensorType::get(shape, b.getF32Type());
  };
  SmallVector<Type> inputs(rowTypes);
  if (normalizer)
    inputs.push_back(doutType);
  inputs.push_back(doutType);
  if (normalizer)
    inputs.push_back(normType(doutType));
  if (packed)
    inputs.push_back(packed->cu.getType());
  llvm::append_range(inputs, initial);
  llvm::append_range(inputs, final);
  SmallVector<Type> results(rowTypes);
  llvm::append_range(results, initial);
  auto backward = func::FuncOp::create(b, forward.getLoc(), *name,
                                       b.getFunctionType(inputs, results));
  Block *body = backward.addEntryBlock();
  b.setInsertionPointToStart(body);
  ValueRange args = body->getArguments();
  size_t rowCount = 3 + gates.size();
  size_t at = rowCount;
  Value savedO = normalizer ? args[at++] : Value();
  Value dout = args[at++];
  Value norm = normalizer ? args[at++] : Value();
  Value cu = packed ? args[at++] : Value();
  ValueRange initialArgs = args.slice(at, initial.size());
  at += initial.size();
  ValueRange finalArgs = args.slice(at, final.size());
  // Row operands as the op sees them: views of the packed rows.
  SmallVector<Type> viewTypes = {q, k, v};
  llvm::append_range(viewTypes, gates);
  SmallVector<Value> rowArgs(args.take_front(rowCount));
  if (packed) {
    for (auto [i, type] : llvm::enumerate(viewTypes))
      rowArgs[i] = VarlenViewOp::create(b, loc, type, rowArgs[i], cu);
    dout = VarlenViewOp::create(b, loc, o, dout, cu);
    if (normalizer) {
      savedO = VarlenViewOp::create(b, loc, o, savedO, cu);
      norm = VarlenViewOp::create(b, loc, normType(o), norm, cu);
    }
  }
  auto grad = LinearAttentionGradOp::create(
      b, loc, q, k, v, gates, initial, rowArgs[0], rowArgs[1], rowArgs[2], dout, savedO, norm,
      ValueRange(rowArgs).drop_front(3), initialArgs, finalArgs, linear.getGateAttr(),
      linear.getScaleAttr(), linear.getDimsAttr());
  SmallVector<Value> returned(grad.getResults());
  if (packed)
    for (size_t i = 0; i < rowCount; ++i)
      returned[i] = VarlenPackOp::create(b, loc, rowTypes[i], returned[i], cu);
  func::ReturnOp::create(b, loc, returned);
  symbols.insert(backward, Block::iterator(backward));
  return success();
}

struct FlashDeriveBackward
    : public mlir::flash::impl::FlashDeriveBackwardBase<FlashDeriveBackward> {
  using FlashDeriveBackwardBase::FlashDeriveBackwardBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // Collected first: the functions added must not be visited.
    llvm::SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    bool failed = false;
    for (func::FuncOp function : functions) {
      llvm::SmallVector<AttentionOp> attentions;
      function.walk([&](AttentionOp op) { attentions.push_back(op); });
      llvm::SmallVector<LinearAttentionOp> linears;
      function.walk([&](LinearAttentionOp op) { linears.push_back(op); });
      function.walk([&](DeltaRuleOp op) {
        op.emitWarning() << "flash-derive-backward: the delta rule has no "
                            "backward yet; @"
                         << function.getName() << " gets no backward function";
      });
      if (attentions.empty() && linears.size() == 1) {
        if (mlir::failed(deriveLinearBackward(function, linears.front(), symbols)))
          failed = true;
        continue;
      }
      if (!linears.empty())
        function.emitWarning()
            << "flash-derive-backward: @" << function.getName() << " holds "
            << attentions.size() + linears.size()
            << " attention and recurrence ops; only functions with exactly one "
               "get a backward function";
      if (attentions.empty() || !linears.empty())
        continue;
      if (attentions.size() > 1) {
        function.emitWarning()
            << "flash-derive-backward: @" << function.getName() << " holds "
            << attentions.size()
            << " flash.attention ops; only functions with exactly one get a "
               "backward function";
        continue;
      }
      if (mlir::failed(deriveBackward(function, attentions.front(), symbols,
                                      deterministic)))
        failed = true;
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
