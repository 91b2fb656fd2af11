//===- Varlen.cpp - flash.varlen_view/pack and an op's packed sides ------===//

#include "dialect/Varlen.h"

#include "dialect/FlashDialect.h"

using namespace mlir;
using namespace mlir::flash;

std::string mlir::flash::packedRowsDimName(llvm::StringRef seqDim) {
  return (seqDim + "_total").str();
}

/// The rules both ops share: packed [T, H, D] with static H and D, offsets
/// [B + 1], the view [B, H, N, D] with N dynamic (the lengths are per
/// sequence, known at launch).
static LogicalResult verifyPackedPair(Operation *op, RankedTensorType packed,
                                      RankedTensorType cu,
                                      RankedTensorType view) {
  auto fail = [&]() { return op->emitOpError(); };
  if (packed.getRank() != 3)
    return fail() << "packed tensor has shape " << shapeText(packed)
                  << ": a packed batch is [T, H, D]";
  for (auto [index, what] :
       {std::pair<int, const char *>{1, "head count"}, {2, "head dimension"}})
    if (packed.isDynamicDim(index))
      return fail() << "packed dim " << index << " (" << what
                    << ") must be static, packed is " << shapeText(packed);
  if (cu.getRank() != 1)
    return fail() << "cu_seqlens has shape " << shapeText(cu)
                  << ": the offsets are [B + 1]";
  if (!cu.isDynamicDim(0) && cu.getDimSize(0) < 2)
    return fail() << "cu_seqlens has " << cu.getDimSize(0)
                  << " entries: B + 1 offsets need at least 2";
  if (view.getRank() != 4 || view.getElementType() != packed.getElementType())
    return fail() << "view must be a rank-4 tensor of "
                  << packed.getElementType() << " [B, H, N, D]";
  int64_t batch = cu.isDynamicDim(0) ? ShapedType::kDynamic : cu.getDimSize(0) - 1;
  auto expect = [&](int64_t index, int64_t size, const char *what) -> LogicalResult {
    int64_t got = view.getDimSize(index);
    if (ShapedType::isDynamic(size) != ShapedType::isDynamic(got) ||
        (!ShapedType::isDynamic(size) && size != got))
      return fail() << "view has shape " << shapeText(view) << ", its dim "
                    << index << " (" << what << ") must be " << dimText(size);
    return success();
  };
  return success(
      succeeded(expect(0, batch, "cu_seqlens' entries - 1")) &&
      succeeded(expect(1, packed.getDimSize(1), "the packed heads")) &&
      succeeded(expect(2, ShapedType::kDynamic,
                       "the longest sequence, given at launch")) &&
      succeeded(expect(3, packed.getDimSize(2), "the packed head dimension")));
}

LogicalResult VarlenViewOp::verify() {
  if (failed(verifyPackedPair(*this, getPacked().getType(),
                              getCuSeqlens().getType(), getView().getType())))
    return failure();
  for (Operation *user : getView().getUsers())
    if (!isa<AttentionOp>(user))
      return emitOpError() << "result is used by " << user->getName()
                           << ": a varlen view is read only as the q, k or v "
                              "of a flash.attention";
  return success();
}

LogicalResult VarlenPackOp::verify() {
  if (failed(verifyPackedPair(*this, getPacked().getType(),
                              getCuSeqlens().getType(), getView().getType())))
    return failure();
  auto attention = getView().getDefiningOp<AttentionOp>();
  auto q = attention ? attention.getQ().getDefiningOp<VarlenViewOp>()
                     : VarlenViewOp();
  if (!q)
    return emitOpError() << "packs a value that is not the result of a "
                            "flash.attention whose q is a flash.varlen_view";
  if (q.getCuSeqlens() != getCuSeqlens())
    return emitOpError() << "packs with other cu_seqlens than the attention's "
                            "q: the output rows are the query rows";
  return success();
}

std::optional<Varlen> mlir::flash::varlenOf(Operation *attention) {
  auto op = dyn_cast<AttentionOp>(attention);
  if (!op)
    return std::nullopt;
  Varlen varlen;
  if (auto q = op.getQ().getDefiningOp<VarlenViewOp>()) {
    varlen.qPacked = q.getPacked();
    varlen.cuQ = q.getCuSeqlens();
    for (Operation *user : op.getO().getUsers())
      if (auto pack = dyn_cast<VarlenPackOp>(user))
        varlen.oPacked = pack.getPacked();
  }
  auto k = op.getK().getDefiningOp<VarlenViewOp>();
  auto v = op.getV().getDefiningOp<VarlenViewOp>();
  if (k && v) {
    varlen.kPacked = k.getPacked();
    varlen.vPacked = v.getPacked();
    varlen.cuK = k.getCuSeqlens();
  }
  if (!varlen.packedQueries() && !varlen.packedKeys())
    return std::nullopt;
  return varlen;
}

LogicalResult mlir::flash::verifyVarlen(AttentionOp op) {
  auto k = op.getK().getDefiningOp<VarlenViewOp>();
  auto v = op.getV().getDefiningOp<VarlenViewOp>();
  if (bool(k) != bool(v))
    return op.emitOpError() << (k ? "k" : "v") << " is a varlen view and "
                            << (k ? "v" : "k")
                            << " is not: keys and values are packed together";
  if (k && k.getCuSeqlens() != v.getCuSeqlens())
    return op.emitOpError() << "k and v are packed with different cu_seqlens: "
                               "one set of offsets serves both";
  if (op.getQ().getDefiningOp<VarlenViewOp>()) {
    if (!op.getO().hasOneUse() || !isa<VarlenPackOp>(*op.getO().getUsers().begin()))
      return op.emitOpError()
             << "q is a varlen view, so the result (one row per packed query) "
                "must be used once, by a flash.varlen_pack with q's cu_seqlens";
  }
  // (A flash.varlen_pack of an op whose q is not packed is its own error.)
  return success();
}
