//===- OpProblems.cpp - flash ops as schedule-library problems -----------===//

#include "passes/OpProblems.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::flash;
namespace fs = flashgen::schedule;

/// Bytes of one element of a tensor value.
static int64_t elementBytes(Value value) {
  return cast<RankedTensorType>(value.getType())
             .getElementType()
             .getIntOrFloatBitWidth() /
         8;
}

/// Per score element work of a score_mod or mask_mod region: math-dialect
/// ops run on the special-function units, arith ops on the FP32/INT pipes.
static void countRegionWork(Region &region, int64_t &sfuOps, int64_t &aluOps) {
  sfuOps = aluOps = 0;
  region.walk([&](Operation *op) {
    if (isa<arith::ConstantOp>(op) || op->hasTrait<OpTrait::IsTerminator>())
      return;
    StringRef dialect = op->getName().getDialectNamespace();
    if (dialect == "math")
      ++sfuOps;
    else if (dialect == "arith")
      ++aluOps;
  });
}

FailureOr<fs::AttentionProblem>
mlir::flash::attentionProblem(AttentionOp op, const DimValues &dims,
                              StringRef passName) {
  llvm::Expected<AttentionSizes> sizes = resolveSizes(op, dims);
  if (!sizes) {
    op.emitError() << llvm::toString(sizes.takeError())
                   << " (" << passName << " option dims=\"NAME=VALUE,...\")";
    return failure();
  }
  fs::AttentionProblem p;
  p.batch = sizes->batch;
  p.queryHeads = sizes->queryHeads;
  p.keyHeads = sizes->keyHeads;
  p.queryLen = sizes->queryLen;
  p.keyLen = sizes->keyLen;
  p.headDim = sizes->headDim;
  p.valueDim = sizes->valueDim;
  p.elementBytes = elementBytes(op.getQ());
  p.mask = *fs::parseMaskKind(stringifyMaskKind(op.getMask()));
  p.window = op.getWindow().value_or(0);
  p.hasScoreMod = op.hasScoreMod();
  p.hasMaskMod = op.hasMaskMod();
  if (p.hasScoreMod)
    countRegionWork(op.getScoreMod(), p.scoreModSfuOps, p.scoreModAluOps);
  if (p.hasMaskMod) {
    int64_t sfu = 0;
    countRegionWork(op.getMaskMod(), sfu, p.maskModAluOps);
    p.maskModAluOps += sfu;
  }
  return p;
}

FailureOr<fs::LinearProblem>
mlir::flash::linearProblem(LinearAttentionOp op, const DimValues &dims,
                           StringRef passName) {
  llvm::Expected<LinearAttentionSizes> sizes = resolveSizes(op, dims);
  if (!sizes) {
    op.emitError() << llvm::toString(sizes.takeError())
                   << " (" << passName << " option dims=\"NAME=VALUE,...\")";
    return failure();
  }
  fs::LinearProblem p;
  p.batch = sizes->batch;
  p.heads = sizes->heads;
  p.length = sizes->length;
  p.keyDim = sizes->keyDim;
  p.valueDim = sizes->valueDim;
  p.gate = *fs::parseGateKind(stringifyGateKind(op.getGate()));
  p.elementBytes = elementBytes(op.getQ());
  if (!op.getGates().empty())
    p.gateElementBytes = elementBytes(op.getGates().front());
  p.hasInitialState = !op.getInitialState().empty();
  p.returnsFinalState = op.getReturnFinalState();
  return p;
}

