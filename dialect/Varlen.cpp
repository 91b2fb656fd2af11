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
/// sequence, known at launch). A recurrence's scalar gates are packed [T,
/// H], seen as [B, H, N].
static LogicalResult verifyPackedPair(Operation *op, RankedTensorType packed,
                                      RankedTensorType cu,
                                      RankedTensorType view) {
  auto fail = [&]() { return op->emitOpError(); };
  if (packed.getRank() != 3 && packed.getRank() != 2)
    return fail() << "packed tensor has shape " << shapeText(packed)
                  << ": a packed batch is [T, H, D] (or a recurrence's scalar "
                     "gates, [T, H])";
  for (auto [index, what] :
       {std::pair<int, const char *>{1, "head count"}, {2, "head dimension"}})
    if (index < packed.getRank() && packed.isDynamicDim(index))
      return fail() << "packed dim " << index << " (" << what
                    << ") must be static, packed is " << shapeText(packed);
  if (cu.getRank() != 1)
    return fail() << "cu_seqlens has shape " << shapeText(cu)
                  << ": the offsets are [B + 1]";
  if (!cu.isDynamicDim(0) && cu.getDimSize(0) < 2)
    return fail() << "cu_seqlens has " << cu.getDimSize(0)
                  << " entries: B + 1 offsets need at least 2";
  const bool rows = packed.getRank() == 3;
  if (view.getRank() != packed.getRank() + 1 ||
      view.getElementType() != packed.getElementType())
    return fail() << "view must be a rank-" << packed.getRank() + 1 << " tensor of "
                  << packed.getElementType() << (rows ? " [B, H, N, D]" : " [B, H, N]");
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
      (!rows || succeeded(expect(3, packed.getDimSize(2), "the packed head dimension"))));
}

LogicalResult VarlenViewOp::verify() {
  if (failed(verifyPackedPair(*this, getPacked().getType(),
                              getCuSeqlens().getType(), getView().getType())))
    return failure();
  for (Operation *user : getView().getUsers())
    if (!isa<AttentionOp, LinearAttentionOp, LinearAttentionGradOp, DeltaRuleOp>(user))
      return emitOpError() << "result is used by " << user->getName()
                           << ": a varlen view is read only as the q, k or v "
                              "of a flash.attention, the q, k, v or gates of "
                              "a flash.linear_attention (or dO, o, norm of its gradient) "
                              "or the q, k, v, beta or log-decay of a flash.delta_rule";
  if (getPacked().getType().getRank() == 2)
    for (Operation *user : getView().getUsers())
      if (!isa<LinearAttentionOp, LinearAttentionGradOp, DeltaRuleOp>(user))
        return emitOpError() << "a packed [T, H] tensor is a recurrence's per-step "
                                "scalars (gates, beta): only a flash.linear_attention "
                                "or flash.delta_rule reads it";
  return success();
}

LogicalResult VarlenPackOp::verify() {
  if (failed(verifyPackedPair(*this, getPacked().getType(),
                              getCuSeqlens().getType(), getView().getType())))
    return failure();
  Value query;
  if (auto attention = getView().getDefiningOp<AttentionOp>())
    query = attention.getQ();
  else if (auto linear = getView().getDefiningOp<LinearAttentionOp>();
           linear && getView() == linear.getO())
    query = linear.getQ();
  else if (auto grad = getView().getDefiningOp<LinearAttentionGradOp>();
           grad && !llvm::is_contained(grad.getDinitialState(), getView()))
    query = grad.getQ(); // a row gradient: dq, dk, dv or a gate's
  else if (auto delta = getView().getDefiningOp<DeltaRuleOp>();
           delta && getView() == delta.getO())
    query = delta.getQ();
  auto q = query ? query.getDefiningOp<VarlenViewOp>() : VarlenViewOp();
  if (!q)
    return emitOpError() << "packs a value that is not the output of a "
                            "flash.attention, flash.linear_attention or "
                            "flash.delta_rule whose q is a flash.varlen_view";
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

/// The packed operands of a recurrence or its gradient: q, k, v, the
/// gates, and the row result (o, or dq) that leaves through a varlen_pack.
static std::optional<LinearVarlen> packedOperands(Value qValue, Value kValue, Value vValue,
                                                 ValueRange gates, Value rows) {
  auto q = qValue.getDefiningOp<VarlenViewOp>();
  if (!q)
    return std::nullopt;
  LinearVarlen varlen;
  varlen.cu = q.getCuSeqlens();
  varlen.qPacked = q.getPacked();
  if (auto k = kValue.getDefiningOp<VarlenViewOp>())
    varlen.kPacked = k.getPacked();
  if (auto v = vValue.getDefiningOp<VarlenViewOp>())
    varlen.vPacked = v.getPacked();
  for (Value gate : gates)
    if (auto g = gate.getDefiningOp<VarlenViewOp>())
      varlen.gatesPacked.push_back(g.getPacked());
  for (Operation *user : rows.getUsers())
    if (auto pack = dyn_cast<VarlenPackOp>(user))
      varlen.oPacked = pack.getPacked();
  return varlen;
}

std::optional<LinearVarlen> mlir::flash::linearVarlenOf(Operation *op) {
  if (auto linear = dyn_cast<LinearAttentionOp>(op))
    return packedOperands(linear.getQ(), linear.getK(), linear.getV(), linear.getGates(),
                          linear.getO());
  if (auto grad = dyn_cast<LinearAttentionGradOp>(op))
    return packedOperands(grad.getQ(), grad.getK(), grad.getV(), grad.getGates(),
                          grad.getDq());
  if (auto delta = dyn_cast<DeltaRuleOp>(op)) {
    // beta and the optional log-decay are its per-step operands.
    llvm::SmallVector<Value, 2> perStep = {delta.getBeta()};
    if (Value g = delta.getLogDecay())
      perStep.push_back(g);
    return packedOperands(delta.getQ(), delta.getK(), delta.getV(), perStep, delta.getO());
  }
  return std::nullopt;
}

/// The rules both ops share: every row operand packed alike with q's
/// cu_seqlens, every row result leaving through one varlen_pack.
static LogicalResult
verifyPackedRecurrence(Operation *op, Value qValue,
                       llvm::ArrayRef<std::pair<Value, std::string>> operands,
                       llvm::ArrayRef<std::pair<Value, std::string>> results) {
  auto q = qValue.getDefiningOp<VarlenViewOp>();
  for (auto &[value, what] : operands) {
    auto view = value.getDefiningOp<VarlenViewOp>();
    if (bool(view) != bool(q))
      return op->emitOpError() << (q ? "q is a varlen view and " + what + " is not"
                                     : what + " is a varlen view and q is not")
                               << ": a packed recurrence packs q, k, v and its gates alike";
    if (view && view.getCuSeqlens() != q.getCuSeqlens())
      return op->emitOpError() << what << " is packed with other cu_seqlens than q: "
                                          "one set of offsets serves every operand";
  }
  if (!q)
    return success();
  for (auto &[value, what] : results)
    if (!value.hasOneUse() || !isa<VarlenPackOp>(*value.getUsers().begin()))
      return op->emitOpError() << "q is a varlen view, so " << what
                               << " (one row per packed step) must be used once, by a "
                                  "flash.varlen_pack with q's cu_seqlens";
  return success();
}

LogicalResult mlir::flash::verifyLinearVarlen(LinearAttentionOp op) {
  llvm::SmallVector<std::pair<Value, std::string>> operands = {{op.getK(), "k"},
                                                               {op.getV(), "v"}};
  for (auto [i, gate] : llvm::enumerate(op.getGates()))
    operands.push_back({gate, "gate operand #" + std::to_string(i)});
  return verifyPackedRecurrence(op, op.getQ(), operands, {{op.getO(), "the output"}});
}

LogicalResult mlir::flash::verifyLinearVarlen(DeltaRuleOp op) {
  llvm::SmallVector<std::pair<Value, std::string>> operands = {
      {op.getK(), "k"}, {op.getV(), "v"}, {op.getBeta(), "beta"}};
  if (Value g = op.getLogDecay())
    operands.push_back({g, "the log-decay"});
  return verifyPackedRecurrence(op, op.getQ(), operands, {{op.getO(), "the output"}});
}

LogicalResult mlir::flash::verifyLinearVarlen(LinearAttentionGradOp op) {
  llvm::SmallVector<std::pair<Value, std::string>> operands = {
      {op.getK(), "k"}, {op.getV(), "v"}, {op.getDout(), "do"}};
  if (Value o = op.getO())
    operands.push_back({o, "o"});
  if (Value norm = op.getNorm())
    operands.push_back({norm, "norm"});
  for (auto [i, gate] : llvm::enumerate(op.getGates()))
    operands.push_back({gate, "gate operand #" + std::to_string(i)});
  llvm::SmallVector<std::pair<Value, std::string>> results = {
      {op.getDq(), "dq"}, {op.getDk(), "dk"}, {op.getDv(), "dv"}};
  for (auto [i, grad] : llvm::enumerate(op.getDgates()))
    results.push_back({grad, "the gradient of gate operand #" + std::to_string(i)});
  return verifyPackedRecurrence(op, op.getQ(), operands, results);
}
