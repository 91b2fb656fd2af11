//===- StagedExtras.cpp - output_mod reads a chunk kernel stages ----------===//

#include "passes/StagedExtras.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::flash;

SmallVector<StagedExtraRead>
mlir::flash::stagedExtraReads(Block &body, int64_t valueDim,
                              function_ref<bool(Value)> isPerCta,
                              function_ref<bool(Value, unsigned)> spansLength) {
  if (body.getNumArguments() < 5)
    return {};
  Value row = body.getArgument(3), col = body.getArgument(4);
  SmallVector<StagedExtraRead> reads;
  for (auto read : body.getOps<tensor::ExtractOp>()) {
    RankedTensorType type = read.getTensor().getType();
    if (!type.getElementType().isF32())
      continue;
    std::optional<unsigned> rowDim, colDim;
    bool qualifies = true;
    for (auto [dim, index] : llvm::enumerate(read.getIndices())) {
      if (index == row && !rowDim)
        rowDim = dim;
      else if (index == col && !colDim)
        colDim = dim;
      else if (!isPerCta(index))
        qualifies = false;
    }
    if (!qualifies || !rowDim || !colDim || type.getDimSize(*colDim) != valueDim ||
        !spansLength(read.getTensor(), *rowDim))
      continue;
    reads.push_back({read, *rowDim, *colDim});
  }
  if (reads.size() > kMaxStagedExtras)
    return {};
  return reads;
}

SmallVector<StagedExtraRead> mlir::flash::stagedExtraReads(LinearAttentionOp op) {
  if (!op.hasOutputMod())
    return {};
  Block &body = op.getOutputMod().front();
  // What inlineScalarRegion hoists out of the store: values that depend on
  // no per-element argument (o, t, d).
  std::function<bool(Value)> perCta = [&](Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner() != &body ||
             (arg.getArgNumber() != 0 && arg.getArgNumber() != 3 && arg.getArgNumber() != 4);
    Operation *def = v.getDefiningOp();
    return def && llvm::all_of(def->getOperands(), perCta);
  };
  SmallVector<ExtraOperand> extras = op.getExtraOperands();
  std::string length = op.getLengthDimName();
  auto spansLength = [&](Value tensor, unsigned dim) {
    auto arg = dyn_cast<BlockArgument>(tensor);
    if (!arg || arg.getOwner() != &body || arg.getArgNumber() < 5)
      return false;
    const ExtraOperand &extra = extras[arg.getArgNumber() - 5];
    return dim < extra.dimNames.size() && extra.dimNames[dim] == length;
  };
  int64_t valueDim = op.getV().getType().getDimSize(3);
  return stagedExtraReads(body, valueDim, perCta, spansLength);
}

SmallVector<StagedExtraRead> mlir::flash::stagedExtraReads(ChunkStoreOp store,
                                                           StringRef lengthDim,
                                                           int64_t valueDim) {
  if (store.getOutputMod().empty())
    return {};
  Region &region = store.getOutputMod();
  auto perCta = [&](Value v) { return !region.isAncestor(v.getParentRegion()); };
  auto spansLength = [&](Value tensor, unsigned dim) {
    auto extra = tensor.getDefiningOp<ExtraOp>();
    RankedTensorType type = extra ? extra.getTensor().getType() : RankedTensorType();
    if (!type || !ShapedType::isDynamic(type.getDimSize(dim)))
      return false;
    unsigned dynamic = 0;
    for (unsigned d = 0; d < dim; ++d)
      dynamic += ShapedType::isDynamic(type.getDimSize(d));
    auto size = extra.getSizes()[dynamic].getDefiningOp<DimOp>();
    return size && size.getName() == lengthDim;
  };
  return stagedExtraReads(region.front(), valueDim, perCta, spansLength);
}
