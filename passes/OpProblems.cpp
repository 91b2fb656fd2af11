//===- OpProblems.cpp - flash ops as schedule-library problems -----------===//

#include "passes/OpProblems.h"
#include "passes/StagedExtras.h"

#include "dialect/BlockMask.h"
#include "passes/MaskModTiles.h"

#include <type_traits>
#include "dialect/PagedKv.h"
#include "dialect/Rotary.h"
#include "dialect/RegionOps.h"
#include "dialect/ScoreBias.h"
#include "dialect/Varlen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::flash;

/// Bytes a per-element region (an output_mod, a feature_map) is counted to
/// read per element it computes: one element of every tensor extra (which
/// extras it reads is not told apart; a broadcast table reads less, so
/// the modeled traffic errs high, and the IO bounds leave them out).
static int64_t extraTensorBytes(ArrayRef<ExtraOperand> extras) {
  int64_t bytes = 0;
  for (const ExtraOperand &extra : extras)
    if (!extra.isScalar())
      bytes += extra.type.getElementTypeBitWidth() / 8;
  return bytes;
}
namespace sched = flashgen::schedule;

/// Bytes of one element of a tensor value.
static int64_t elementBytes(Value value) {
  return cast<RankedTensorType>(value.getType())
             .getElementType()
             .getIntOrFloatBitWidth() /
         8;
}

/// Per score element work of a score_mod or mask_mod region: math-dialect
/// ops run on the special-function units, arith ops on the FP32/INT pipes.
/// Only ops that read the score or the positions (arguments 0, 3, 4 of a
/// score_mod; 2, 3 of a mask_mod) count: the lowering hoists what reads
/// the batch and head alone out of the element loop (ALiBi's slope).
static void countRegionWork(Region &region, ArrayRef<bool> argIsPerElement,
                            int64_t &sfuOps, int64_t &aluOps) {
  sfuOps = aluOps = 0;
  for (Operation *op : perElementOps(region.front(), argIsPerElement)) {
    StringRef dialect = op->getName().getDialectNamespace();
    if (dialect == "math")
      ++sfuOps;
    else if (dialect == "arith")
      ++aluOps;
  }
}

/// True when a region of `op` loads from an extra tensor (not a scalar).
template <typename OpT> static bool regionsReadTables(OpT op) {
  bool reads = false;
  for (Region *region : {&op.getScoreMod(), &op.getMaskMod()})
    region->walk([&](tensor::ExtractOp extract) {
      reads |= extract.getTensor().getType().getRank() > 0;
    });
  return reads;
}

/// True when `op` has a score_mod that reads q_idx or kv_idx (its
/// arguments 3 and 4), not the score alone.
template <typename OpT> static bool scoreModReadsPositions(OpT op) {
  if (!op.hasScoreMod())
    return false;
  Block &body = op.getScoreMod().front();
  return !body.getArgument(3).use_empty() || !body.getArgument(4).use_empty();
}

/// What the kernels of an attention or attention_grad op specialise on;
/// batch and lengths keep the problem's defaults.
template <typename OpT> static sched::AttentionProblem kernelProblemOf(OpT op) {
  sched::AttentionProblem p;
  p.queryHeads = op.getQ().getType().getDimSize(1);
  p.keyHeads = op.getK().getType().getDimSize(1);
  p.headDim = op.getQ().getType().getDimSize(3);
  p.valueDim = op.getV().getType().getDimSize(3);
  p.elementBytes = elementBytes(op.getQ());
  p.mask = *sched::parseMaskKind(stringifyMaskKind(op.getMask()));
  p.window = op.getWindow().value_or(0);
  p.hasScoreMod = op.hasScoreMod();
  p.hasMaskMod = op.hasMaskMod();
  p.regionsReadTables = regionsReadTables(op);
  p.scoreModReadsPositions = scoreModReadsPositions(op);
  if (std::optional<PagedKv> paged = pagedKvOf(op.getOperation()))
    p.pageSize = paged->pageSize;
  if (std::optional<Rotary> rotary = rotaryOf(op.getOperation()))
    p.rotaryDims = rotary->dims;
  p.varlen = varlenOf(op.getOperation()).has_value();
  if (std::optional<BlockMask> mask = blockMaskOf(op.getOperation())) {
    p.blockQ = mask->queryBlock;
    p.blockKv = mask->keyBlock;
  }
  // Tiles can be sorted by the mask_mod at launch (Schedule::maskLists),
  // the forward's and the gradient's alike.
  p.maskModTiles = op.hasMaskMod() && maskModClassifiesTiles(op.getMaskMod());
  if constexpr (std::is_same_v<OpT, AttentionOp>) {
    p.hasOutputMod = op.hasOutputMod();
    if (p.hasOutputMod)
      p.outputModReadBytes = extraTensorBytes(op.getExtraOperands());
  }
  if (p.hasScoreMod) {
    countRegionWork(op.getScoreMod(), {true, false, false, true, true},
                    p.scoreModSfuOps, p.scoreModAluOps);
    p.scoreModIsPositionBias = matchScoreBias(op.getScoreMod()).has_value();
  }
  if constexpr (std::is_same_v<OpT, AttentionGradOp>)
    p.scoreGradHasFactor = scoreGradHasFactor(op);
  if (p.hasMaskMod) {
    int64_t sfu = 0;
    countRegionWork(op.getMaskMod(), {false, false, true, true}, sfu,
                    p.maskModAluOps);
    p.maskModAluOps += sfu;
  }
  return p;
}

/// flash.attention and flash.attention_grad describe the same problem.
template <typename OpT>
static FailureOr<sched::AttentionProblem>
problemOf(OpT op, const DimValues &dims, StringRef passName) {
  llvm::Expected<AttentionSizes> sizes = resolveSizes(op, dims);
  if (!sizes) {
    op.emitError() << llvm::toString(sizes.takeError())
                   << " (" << passName << " option dims=\"NAME=VALUE,...\")";
    return failure();
  }
  sched::AttentionProblem p = kernelProblemOf(op);
  p.batch = sizes->batch;
  p.queryHeads = sizes->queryHeads;
  p.keyHeads = sizes->keyHeads;
  p.queryLen = sizes->queryLen;
  p.keyLen = sizes->keyLen;
  p.headDim = sizes->headDim;
  p.valueDim = sizes->valueDim;
  return p;
}

bool mlir::flash::scoreGradHasFactor(AttentionGradOp op) {
  if (!op.hasScoreGrad())
    return false;
  auto yield = cast<YieldOp>(op.getScoreGrad().front().getTerminator());
  auto constant = yield.getValue().getDefiningOp<arith::ConstantFloatOp>();
  return !constant || constant.value().convertToDouble() != 1.0;
}

bool mlir::flash::scoreGradReadsScore(AttentionGradOp op) {
  return scoreGradHasFactor(op) && !op.getScoreGrad().front().getArgument(0).use_empty();
}

sched::AttentionProblem mlir::flash::attentionKernelProblem(AttentionOp op) {
  return kernelProblemOf(op);
}

sched::AttentionProblem mlir::flash::attentionKernelProblem(AttentionGradOp op) {
  return kernelProblemOf(op);
}

FailureOr<sched::AttentionProblem>
mlir::flash::attentionProblem(AttentionOp op, const DimValues &dims,
                              StringRef passName) {
  return problemOf(op, dims, passName);
}

FailureOr<sched::AttentionProblem>
mlir::flash::attentionProblem(AttentionGradOp op, const DimValues &dims,
                              StringRef passName) {
  return problemOf(op, dims, passName);
}

sched::ElementMods mlir::flash::attentionElementMods(AttentionOp op) {
  return kernelProblemOf(op).elementMods();
}

/// What flash.linear_attention and its gradient share: heads, dims, gate
/// kind, element sizes, the initial state.
template <typename OpT> static sched::LinearProblem linearOperandsProblem(OpT op) {
  sched::LinearProblem p;
  p.heads = op.getQ().getType().getDimSize(1);
  p.keyDim = op.getQ().getType().getDimSize(3);
  p.valueDim = op.getV().getType().getDimSize(3);
  p.gate = *sched::parseGateKind(stringifyGateKind(op.getGate()));
  p.elementBytes = elementBytes(op.getQ());
  if (!op.getGates().empty())
    p.gateElementBytes = elementBytes(op.getGates().front());
  p.hasInitialState = !op.getInitialState().empty();
  return p;
}

sched::LinearProblem mlir::flash::linearKernelProblem(LinearAttentionOp op) {
  sched::LinearProblem p = linearOperandsProblem(op);
  p.returnsFinalState = op.getReturnFinalState();
  p.packed = linearVarlenOf(op.getOperation()).has_value();
  p.hasOutputMod = op.hasOutputMod();
  p.hasFeatureMap = op.hasFeatureMap();
  int64_t extraBytes = extraTensorBytes(op.getExtraOperands());
  if (p.hasOutputMod)
    p.outputModReadBytes = extraBytes;
  if (!p.packed)
    p.stagedOutputModExtras = int64_t(stagedExtraReads(op).size());
  if (p.hasFeatureMap)
    p.featureMapReadBytes = extraBytes;
  return p;
}

/// The bound sizes of a recurrence op; an unbound one is an error on the
/// op naming `passName`'s dims option.
template <typename OpT>
static FailureOr<LinearAttentionSizes>
recurrenceSizes(OpT op, const DimValues &dims, StringRef passName) {
  llvm::Expected<LinearAttentionSizes> sizes = resolveSizes(op, dims);
  if (!sizes) {
    op.emitError() << llvm::toString(sizes.takeError())
                   << " (" << passName << " option dims=\"NAME=VALUE,...\")";
    return failure();
  }
  return *sizes;
}

/// `kernel` (a recurrence op's kernel problem) with the op's batch and
/// length bound.
template <typename OpT>
static FailureOr<sched::LinearProblem>
boundRecurrence(OpT op, sched::LinearProblem kernel, const DimValues &dims,
                StringRef passName) {
  FailureOr<LinearAttentionSizes> sizes = recurrenceSizes(op, dims, passName);
  if (failed(sizes))
    return failure();
  kernel.batch = sizes->batch;
  kernel.length = sizes->length;
  return kernel;
}

FailureOr<sched::LinearProblem>
mlir::flash::linearProblem(LinearAttentionOp op, const DimValues &dims,
                           StringRef passName) {
  return boundRecurrence(op, linearKernelProblem(op), dims, passName);
}

FailureOr<sched::LinearProblem>
mlir::flash::deltaRuleProblem(DeltaRuleOp op, const DimValues &dims,
                              StringRef passName) {
  return boundRecurrence(op, deltaKernelProblem(op), dims, passName);
}

sched::LinearProblem mlir::flash::linearGradKernelProblem(LinearAttentionGradOp op) {
  sched::LinearProblem p = linearOperandsProblem(op);
  // The gradient reads the final state's where the forward writes it.
  p.returnsFinalState = !op.getFinalGrad().empty();
  p.packed = linearVarlenOf(op.getOperation()).has_value();
  return p;
}

FailureOr<sched::LinearProblem>
mlir::flash::linearGradProblem(LinearAttentionGradOp op, const DimValues &dims,
                               StringRef passName) {
  return boundRecurrence(op, linearGradKernelProblem(op), dims, passName);
}

std::optional<sched::LinearProblem>
mlir::flash::recurrenceKernelProblem(Operation *op) {
  if (auto linear = dyn_cast<LinearAttentionOp>(op))
    return linearKernelProblem(linear);
  if (auto delta = dyn_cast<DeltaRuleOp>(op))
    return deltaKernelProblem(delta);
  return std::nullopt;
}

FailureOr<sched::LinearProblem>
mlir::flash::recurrenceProblem(Operation *op, const DimValues &dims,
                               StringRef passName) {
  if (auto delta = dyn_cast<DeltaRuleOp>(op))
    return deltaRuleProblem(delta, dims, passName);
  return linearProblem(cast<LinearAttentionOp>(op), dims, passName);
}

sched::LinearProblem mlir::flash::deltaKernelProblem(DeltaRuleOp op) {
  sched::LinearProblem p;
  p.heads = op.getQ().getType().getDimSize(1);
  p.keyDim = op.getQ().getType().getDimSize(3);
  p.valueDim = op.getV().getType().getDimSize(3);
  p.elementBytes = elementBytes(op.getQ());
  p.betaBytes = elementBytes(op.getBeta());
  p.l2normQk = op.getL2normQk();
  if (Value g = op.getLogDecay()) {
    p.gate = sched::GateKind::Decay;
    p.gateElementBytes = elementBytes(g);
  }
  p.hasInitialState = bool(op.getInitialState());
  p.returnsFinalState = op.getReturnFinalState();
  p.packed = linearVarlenOf(op.getOperation()).has_value();
  return p;
}
