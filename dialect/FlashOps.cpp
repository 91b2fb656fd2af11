//===- FlashOps.cpp - verifiers and helpers of the flash ops --------------===//
//
// Every verifier message names the operand and the numbers involved, so a
// user can fix the spec without reading the dialect's source.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashDialect.h"
#include "dialect/BlockMask.h"
#include "dialect/PagedKv.h"
#include "dialect/Rotary.h"
#include "dialect/Varlen.h"
#include "dialect/RegionOps.h"

#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flash;

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

/// Checks that `value` is rank `rank`; `layout` names the dims for the message.
static LogicalResult checkRank(Operation *op, llvm::StringRef name, Type type,
                               int64_t rank, llvm::StringRef layout) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  if (tensor.getRank() != rank)
    return op->emitOpError() << name << " must be a rank-" << rank
                             << " tensor " << layout << ", got rank "
                             << tensor.getRank();
  return success();
}

/// Checks that dimension `index` of `type` is static (kernels specialise on
/// head counts and head dimensions).
static LogicalResult checkStatic(Operation *op, llvm::StringRef name,
                                 RankedTensorType type, unsigned index,
                                 llvm::StringRef what) {
  if (type.isDynamicDim(index))
    return op->emitOpError() << name << "'s " << what << " (dim " << index
                             << ") must be static";
  return success();
}

/// The largest static size of any dimension: kernels take sizes as 32-bit
/// ints (schedule/Problem.h, kMaxExtent).
constexpr int64_t kMaxStaticSize = 2147483647;

/// Checks that every static dimension of `type` is in [1, kMaxStaticSize].
static LogicalResult checkExtents(Operation *op, llvm::StringRef name,
                                  Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  for (int64_t i = 0; i < tensor.getRank(); ++i) {
    int64_t size = tensor.getDimSize(i);
    if (!ShapedType::isDynamic(size) && (size < 1 || size > kMaxStaticSize))
      return op->emitOpError()
             << name << " has size " << size << " in dim " << i
             << "; static sizes must be in [1, " << kMaxStaticSize
             << "] (kernels take 32-bit sizes)";
  }
  return success();
}

/// Checks every operand and result of `op` with checkExtents, naming them
/// by position.
static LogicalResult checkAllExtents(Operation *op) {
  for (auto [index, value] : llvm::enumerate(op->getOperands()))
    if (failed(checkExtents(op, "operand #" + std::to_string(index),
                            value.getType())))
      return failure();
  for (auto [index, value] : llvm::enumerate(op->getResults()))
    if (failed(checkExtents(op, "result #" + std::to_string(index),
                            value.getType())))
      return failure();
  return success();
}

/// Checks that two dimensions agree where both are static.
static LogicalResult checkSameDim(Operation *op, llvm::StringRef what,
                                  llvm::StringRef aName, RankedTensorType a,
                                  unsigned aIndex, llvm::StringRef bName,
                                  RankedTensorType b, unsigned bIndex) {
  int64_t x = a.getDimSize(aIndex), y = b.getDimSize(bIndex);
  if (!ShapedType::isDynamic(x) && !ShapedType::isDynamic(y) && x != y)
    return op->emitOpError() << aName << " has " << what << " " << x << ", "
                             << bName << " has " << y << ": they must match";
  return success();
}

/// Checks a `dims` attribute: `count` distinct-purpose, non-empty identifiers.
static LogicalResult checkDimNames(Operation *op, std::optional<ArrayAttr> dims,
                                   unsigned count, llvm::StringRef roles) {
  if (!dims)
    return success();
  if (dims->size() != count)
    return op->emitOpError() << "dims names " << dims->size()
                             << " dimensions, expected " << count << " ("
                             << roles << ")";
  for (Attribute attr : *dims) {
    llvm::StringRef name = llvm::cast<StringAttr>(attr).getValue();
    if (!isIdentifier(name))
      return op->emitOpError() << "dims entry \"" << name
                               << "\" is not an identifier";
  }
  return success();
}

static std::string dimName(std::optional<ArrayAttr> dims, unsigned index,
                           llvm::StringRef fallback) {
  if (!dims || index >= dims->size())
    return fallback.str();
  return llvm::cast<StringAttr>((*dims)[index]).getValue().str();
}

static LogicalResult checkScale(Operation *op, std::optional<llvm::APFloat> scale) {
  if (!scale)
    return success();
  double value = scale->convertToDouble();
  if (!std::isfinite(value) || value == 0.0)
    return op->emitOpError() << "scale must be finite and non-zero, got "
                             << value;
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp and AttentionGradOp: shared attributes and shapes
//===----------------------------------------------------------------------===//

/// What flash.attention and flash.attention_grad both carry: q, k, v, the
/// forward output o (a result of the one, an operand of the other) and the
/// attributes. One verifier checks it for both, so the backward op accepts
/// exactly the forward ops there are.
struct AttentionOperands {
  RankedTensorType q, k, v, o;
  /// How messages name o: "result" (forward) or "o" (backward).
  llvm::StringRef oName;
  MaskKind mask;
  std::optional<uint64_t> window;
  std::optional<llvm::APFloat> scale;
  std::optional<ArrayAttr> dims;
};

static double attentionEffectiveScale(std::optional<llvm::APFloat> scale,
                                      Value q) {
  if (scale)
    return scale->convertToDouble();
  return 1.0 /
         std::sqrt(double(llvm::cast<RankedTensorType>(q.getType()).getDimSize(3)));
}

double AttentionOp::getEffectiveScale() {
  return attentionEffectiveScale(getScale(), getQ());
}
std::string AttentionOp::getBatchDimName() { return dimName(getDims(), 0, "B"); }
std::string AttentionOp::getQueryDimName() { return dimName(getDims(), 1, "N"); }
std::string AttentionOp::getKeyDimName() { return dimName(getDims(), 2, "M"); }

double AttentionGradOp::getEffectiveScale() {
  return attentionEffectiveScale(getScale(), getQ());
}
std::string AttentionGradOp::getBatchDimName() {
  return dimName(getDims(), 0, "B");
}
std::string AttentionGradOp::getQueryDimName() {
  return dimName(getDims(), 1, "N");
}
std::string AttentionGradOp::getKeyDimName() {
  return dimName(getDims(), 2, "M");
}

/// Every shape, element-type and attribute rule of flash.attention.
static LogicalResult verifyAttentionOperands(Operation *op,
                                             const AttentionOperands &a) {
  if (failed(checkRank(op, "q", a.q, 4, "[B, Hq, N, D]")) ||
      failed(checkRank(op, "k", a.k, 4, "[B, Hkv, M, D]")) ||
      failed(checkRank(op, "v", a.v, 4, "[B, Hkv, M, Dv]")) ||
      failed(checkRank(op, a.oName, a.o, 4, "[B, Hq, N, Dv]")))
    return failure();
  if (failed(checkAllExtents(op)))
    return failure();
  RankedTensorType q = a.q, k = a.k, v = a.v, o = a.o;

  Type elem = q.getElementType();
  for (auto [name, type] : {std::pair<llvm::StringRef, RankedTensorType>{"k", k},
                            {"v", v}, {a.oName, o}})
    if (type.getElementType() != elem)
      return op->emitOpError() << name << " has element type "
                               << type.getElementType() << ", q has " << elem
                               << ": they must match";

  for (auto [name, type] : {std::pair<llvm::StringRef, RankedTensorType>{"q", q},
                            {"k", k}, {"v", v}}) {
    if (failed(checkStatic(op, name, type, 1, "head count")) ||
        failed(checkStatic(op, name, type, 3, "head dimension")))
      return failure();
  }

  int64_t hq = q.getDimSize(1), hk = k.getDimSize(1), hv = v.getDimSize(1);
  if (hk != hv)
    return op->emitOpError() << "k has " << hk << " heads, v has " << hv
                             << ": key and value head counts must match";
  if (hk <= 0 || hq % hk != 0)
    return op->emitOpError()
           << "q has " << hq << " heads, k has " << hk
           << ": query heads must be a multiple of key/value heads";
  if (q.getDimSize(3) != k.getDimSize(3))
    return op->emitOpError() << "q has head dimension " << q.getDimSize(3)
                             << ", k has " << k.getDimSize(3)
                             << ": they must match";
  if (q.getDimSize(3) <= 0 || v.getDimSize(3) <= 0)
    return op->emitOpError() << "head dimensions must be positive";

  if (failed(checkSameDim(op, "batch size", "q", q, 0, "k", k, 0)) ||
      failed(checkSameDim(op, "batch size", "k", k, 0, "v", v, 0)) ||
      failed(checkSameDim(op, "key length", "k", k, 2, "v", v, 2)) ||
      failed(checkSameDim(op, "batch size", "q", q, 0, a.oName, o, 0)) ||
      failed(checkSameDim(op, "query length", "q", q, 2, a.oName, o, 2)))
    return failure();
  if (o.getDimSize(1) != hq || o.getDimSize(3) != v.getDimSize(3))
    return op->emitOpError()
           << a.oName << " has shape [" << dimText(o.getDimSize(0)) << ", "
           << dimText(o.getDimSize(1)) << ", " << dimText(o.getDimSize(2))
           << ", " << dimText(o.getDimSize(3)) << "], expected [B, " << hq
           << ", N, " << v.getDimSize(3) << "] (query heads, value dim)";

  if (a.mask == MaskKind::sliding_window) {
    if (!a.window)
      return op->emitOpError()
             << "mask sliding_window needs a window size (window N)";
    if (*a.window <= 0)
      return op->emitOpError() << "window must be positive, got " << *a.window;
    if (*a.window > kMaxStaticSize)
      return op->emitOpError()
             << "window " << *a.window << " exceeds " << kMaxStaticSize
             << " (kernels take 32-bit sizes)";
  } else if (a.window) {
    return op->emitOpError() << "window " << *a.window
                             << " is given but mask is "
                             << stringifyMaskKind(a.mask)
                             << ": window needs mask sliding_window";
  }
  if (failed(checkScale(op, a.scale)))
    return failure();
  if (failed(checkDimNames(op, a.dims, 3, "batch, query length, key length")))
    return failure();
  // A shared name for two dims states that they are equal.
  std::string queryDim = dimName(a.dims, 1, "N"), keyDim = dimName(a.dims, 2, "M");
  if (queryDim == keyDim)
    if (failed(checkSameDim(op, "length bound to " + queryDim, "q", q, 2, "k",
                            k, 2)))
      return failure();
  return success();
}

/// The extras of an attention op: names, dims and types
/// (dialect/ExtraOperands.h); the verifier has checked that they agree.
template <typename Op>
static llvm::SmallVector<ExtraOperand> extraOperandsOf(Op op) {
  llvm::SmallVector<ExtraOperand> extras;
  std::optional<ArrayAttr> names = op.getExtraNames(),
                           dims = op.getExtraDims();
  for (auto [index, value] : llvm::enumerate(op.getExtras())) {
    ExtraOperand extra;
    extra.type = llvm::cast<RankedTensorType>(value.getType());
    if (names && index < names->size())
      extra.name = llvm::cast<StringAttr>((*names)[index]).getValue().str();
    auto dynamic = dims && index < dims->size()
                       ? llvm::dyn_cast<ArrayAttr>((*dims)[index])
                       : ArrayAttr();
    unsigned next = 0;
    for (int64_t size : extra.type.getShape()) {
      std::string dim;
      if (ShapedType::isDynamic(size) && dynamic && next < dynamic.size())
        if (auto text = llvm::dyn_cast<StringAttr>(dynamic[next++]))
          dim = text.getValue().str();
      extra.dimNames.push_back(dim);
    }
    extras.push_back(std::move(extra));
  }
  return extras;
}

llvm::SmallVector<ExtraOperand> AttentionOp::getExtraOperands() {
  return extraOperandsOf(*this);
}
llvm::SmallVector<ExtraOperand> AttentionGradOp::getExtraOperands() {
  return extraOperandsOf(*this);
}

/// Names the runtime and the kernels already use for an attention op's own
/// tensors and sizes (a paged cache's too, dialect/PagedKv.h); an extra may
/// not take one.
static constexpr llvm::StringLiteral kReservedExtraNames[] = {
    "q", "k", "v", "o", "lse", "do", "dq", "dk", "dv", kPageTableName,
    kPoolPagesDim, kCuSeqlensQ, kCuSeqlensK, kMaxSeqlenQ, kMaxSeqlenK};

/// The dims an attention op's extras may name: batch, query and key length.
template <typename Op>
static llvm::SmallVector<std::string> attentionDimNames(Op op) {
  return {op.getBatchDimName(), op.getQueryDimName(), op.getKeyDimName()};
}

/// Names a recurrence's own tensors take in the bundle (q, k, v, the gates,
/// the states and their gradients, o, a packed batch's offsets); an extra
/// may not take one.
static constexpr llvm::StringLiteral kReservedRecurrenceExtraNames[] = {
    "q",  "k",  "v",  "o",  "g",  "igate", "fgate", "beta", "c0",
    "n0", "m0", "cf", "nf", "mf", "do",   "dq",    "dk",   "dv", kCuSeqlensQ};

/// The rules of `extras`, `names` and `extra_dims` (docs/semantics.md §2.7).
template <typename Op>
static LogicalResult verifyExtras(Op op, llvm::ArrayRef<std::string> dimNames,
                                  llvm::ArrayRef<llvm::StringLiteral> reserved) {
  size_t count = op.getExtras().size();
  std::optional<ArrayAttr> names = op.getExtraNames(), dims = op.getExtraDims();
  if (count == 0) {
    if (names || dims)
      return op.emitOpError() << "has extra names or extra_dims but no extras";
    return success();
  }
  if (!names || names->size() != count)
    return op.emitOpError() << "has " << count << " extras but "
                            << (names ? names->size() : 0)
                            << " names: each extra needs a name";
  if (!dims || dims->size() != count)
    return op.emitOpError() << "has " << count << " extras but "
                            << (dims ? dims->size() : 0)
                            << " extra_dims lists: each extra needs one (the "
                               "dims names of its dynamic sizes; [] for none)";
  llvm::StringSet<> seen;
  for (auto [index, extra] : llvm::enumerate(op.getExtraOperands())) {
    llvm::StringRef name = extra.name;
    if (!isIdentifier(name))
      return op.emitOpError() << "extra #" << index << " name \"" << name
                              << "\" is not an identifier";
    if (llvm::is_contained(reserved, name) || llvm::is_contained(dimNames, name))
      return op.emitOpError()
             << "extra #" << index << " is named \"" << name
             << "\", which names one of the op's own tensors or dims";
    if (!seen.insert(name).second)
      return op.emitOpError() << "two extras are named \"" << name << "\"";
    auto list = llvm::dyn_cast<ArrayAttr>((*dims)[index]);
    if (!list || !llvm::all_of(list, [](Attribute a) {
          return llvm::isa<StringAttr>(a);
        }))
      return op.emitOpError() << "extra_dims entry #" << index << " (" << name
                              << ") must be a list of dims names";
    int64_t dynamic = extra.type.getNumDynamicDims();
    if (int64_t(list.size()) != dynamic)
      return op.emitOpError()
             << "extra " << name << " has " << dynamic
             << " dynamic sizes but extra_dims names " << list.size()
             << ": name each dynamic size (in order) with one of the op's "
                "dims";
    for (Attribute attr : list) {
      llvm::StringRef dim = llvm::cast<StringAttr>(attr).getValue();
      if (!llvm::is_contained(dimNames, dim))
        return op.emitOpError()
               << "extra " << name << " names dim \"" << dim
               << "\", which is not one of the op's dims ("
               << llvm::join(dimNames, ", ") << ")";
    }
    for (int64_t size : extra.type.getShape())
      if (!ShapedType::isDynamic(size) && (size <= 0 || size > kMaxStaticSize))
        return op.emitOpError() << "extra " << name << " has static size "
                                << size << ": sizes must be in [1, "
                                << kMaxStaticSize << "]";
  }
  return success();
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyAttentionOperands(
          getOperation(), {getQ().getType(), getK().getType(), getV().getType(),
                           getO().getType(), "result", getMask(), getWindow(),
                           getScale(), getDims()})))
    return failure();
  if (failed(verifyPagedKv(*this)) || failed(verifyVarlen(*this)) ||
      failed(verifyBlockMask(*this)))
    return failure();
  if (failed(verifyExtras(*this, attentionDimNames(*this), kReservedExtraNames)))
    return failure();
  return verifyRotary(getOperation());
}

LogicalResult AttentionGradOp::verify() {
  Operation *op = getOperation();
  auto typeOf = [](Value value) {
    return llvm::cast<RankedTensorType>(value.getType());
  };
  RankedTensorType q = typeOf(getQ()), o = typeOf(getO()),
                   dout = typeOf(getDout()), lse = typeOf(getLse());
  if (failed(verifyAttentionOperands(
          op, {q, typeOf(getK()), typeOf(getV()), o, "o", getMask(),
               getWindow(), getScale(), getDims()})))
    return failure();
  // do is the gradient of o: o's shape and element type.
  if (dout.getElementType() != o.getElementType())
    return emitOpError() << "do has element type " << dout.getElementType()
                         << ", o has " << o.getElementType()
                         << ": they must match";
  if (dout.getRank() != o.getRank() ||
      failed(verifyCompatibleShape(dout.getShape(), o.getShape())))
    return emitOpError() << "do has shape " << shapeText(dout)
                         << ", o has shape " << shapeText(o)
                         << ": do is o's gradient and must have its shape";
  // lse is [B, Hq, N] in f32 (Flash_StateTensor already requires f32).
  if (lse.getRank() != 3)
    return emitOpError() << "lse must be a rank-3 tensor [B, Hq, N], got rank "
                         << lse.getRank();
  if (lse.getDimSize(1) != q.getDimSize(1))
    return emitOpError() << "lse has " << dimText(lse.getDimSize(1))
                         << " heads, q has " << q.getDimSize(1)
                         << ": lse is [B, Hq, N]";
  if (failed(checkSameDim(op, "batch size", "q", q, 0, "lse", lse, 0)) ||
      failed(checkSameDim(op, "query length", "q", q, 2, "lse", lse, 2)))
    return failure();
  // Each gradient has its operand's type.
  for (auto [name, result, operand] :
       {std::tuple<llvm::StringRef, Value, Value>{"dq", getDq(), getQ()},
        {"dk", getDk(), getK()},
        {"dv", getDv(), getV()}})
    if (result.getType() != operand.getType())
      return emitOpError() << name << " has type " << result.getType()
                           << ", " << name.drop_front() << " has "
                           << operand.getType() << ": they must match";
  if (failed(verifyBlockMask(*this)) ||
      failed(verifyExtras(*this, attentionDimNames(*this), kReservedExtraNames)))
    return failure();
  return verifyRotary(getOperation());
}

/// Checks a mod region's block arguments, terminator and ops.
/// The region's own arguments come first, then one per extra operand.
static LogicalResult verifyModRegion(Operation *op, Region &region,
                                     llvm::StringRef name,
                                     llvm::ArrayRef<Type> ownTypes,
                                     llvm::StringRef ownText, Type resultType,
                                     ValueRange extras) {
  if (region.empty())
    return success();
  Block &block = region.front();
  llvm::SmallVector<Type> argTypes(ownTypes);
  llvm::append_range(argTypes, extras.getTypes());
  std::string argText = ownText.str();
  if (!extras.empty())
    argText.insert(argText.size() - 1, ", then each extra");
  if (block.getNumArguments() != argTypes.size())
    return op->emitOpError() << name << " takes " << argTypes.size()
                             << " arguments " << argText << ", got "
                             << block.getNumArguments();
  for (auto [index, arg] : llvm::enumerate(block.getArguments()))
    if (arg.getType() != argTypes[index])
      return op->emitOpError()
             << name << " argument #" << index << " must be "
             << argTypes[index] << " " << argText << ", got " << arg.getType();
  for (Operation &inner : block) {
    if (!isSupportedRegionOp(&inner))
      return inner.emitOpError()
             << "is not supported in " << name
             << " (allowed: arith and math scalar ops, see "
                "dialect/RegionOps.cpp)";
    for (Type type : inner.getResultTypes())
      if (!type.isIntOrIndexOrFloat())
        return inner.emitOpError() << "in " << name
                                   << " must produce scalars, got " << type;
    // A shift's result depends on the width, and index's is the target's
    // (32 bits in the kernels, 64 in the reference).
    if (inner.getName().getStringRef().starts_with("arith.sh") &&
        !(inner.getResult(0).getType().isInteger(32) ||
          inner.getResult(0).getType().isInteger(64)))
      return inner.emitOpError()
             << "in " << name << " shifts i32 or i64 values, got "
             << inner.getResult(0).getType()
             << " (index_cast the operands first)";
  }
  auto yield = llvm::dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError() << name << " must end in flash.yield";
  if (yield.getValue().getType() != resultType)
    return yield.emitOpError() << "in " << name << " must yield "
                               << resultType << ", got "
                               << yield.getValue().getType();
  return success();
}

/// Checks a region with score_mod's signature: (s: f32, b, h, i, j: index)
/// -> f32. score_grad has it too.
static LogicalResult verifyScoreRegion(Operation *op, Region &region,
                                       llvm::StringRef name, ValueRange extras) {
  MLIRContext *ctx = op->getContext();
  Type f32 = Float32Type::get(ctx), index = IndexType::get(ctx);
  return verifyModRegion(op, region, name, {f32, index, index, index, index},
                         "(score: f32, b, h, i, j: index)", f32, extras);
}

/// Checks a per-element region `name` (an output_mod, a recurrence's
/// feature_map): (x: f32, b, h, row, d: index) -> f32, its arguments named
/// as the op names them (`argText`).
static LogicalResult verifyElementRegion(Operation *op, Region &region, llvm::StringRef name,
                                         llvm::StringRef argText, ValueRange extras) {
  MLIRContext *ctx = op->getContext();
  Type f32 = Float32Type::get(ctx), index = IndexType::get(ctx);
  return verifyModRegion(op, region, name, {f32, index, index, index, index}, argText, f32,
                         extras);
}

static LogicalResult verifyMaskRegion(Operation *op, Region &region,
                                      ValueRange extras) {
  MLIRContext *ctx = op->getContext();
  Type index = IndexType::get(ctx), i1 = IntegerType::get(ctx, 1);
  return verifyModRegion(op, region, "mask_mod", {index, index, index, index},
                         "(b, h, i, j: index)", i1, extras);
}

LogicalResult AttentionOp::verifyRegions() {
  if (failed(verifyScoreRegion(getOperation(), getScoreMod(), "score_mod",
                               getExtras())) ||
      failed(verifyMaskRegion(getOperation(), getMaskMod(), getExtras())))
    return failure();
  return verifyElementRegion(getOperation(), getOutputMod(), "output_mod",
                             "(o: f32, b, h, i, d: index)", getExtras());
}

LogicalResult AttentionGradOp::verifyRegions() {
  if (failed(verifyScoreRegion(getOperation(), getScoreMod(), "score_mod",
                               getExtras())) ||
      failed(verifyMaskRegion(getOperation(), getMaskMod(), getExtras())) ||
      failed(verifyScoreRegion(getOperation(), getScoreGrad(), "score_grad",
                               getExtras())))
    return failure();
  // Without score_mod the score's derivative is 1 everywhere; a score_grad
  // there, or a score_mod without its derivative, is a mistake.
  if (hasScoreMod() && !hasScoreGrad())
    return emitOpError() << "has a score_mod but no score_grad (d score_mod / "
                            "d score): flash-derive-backward builds it";
  if (!hasScoreMod() && hasScoreGrad())
    return emitOpError() << "has a score_grad but no score_mod: score_grad is "
                            "score_mod's derivative";
  return success();
}

/// The scale a recurrence op applies to q: its attribute, or 1/sqrt(Dk).
static double recurrenceScale(std::optional<llvm::APFloat> scale, RankedTensorType q) {
  if (scale)
    return scale->convertToDouble();
  return 1.0 / std::sqrt(double(q.getDimSize(3)));
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

double LinearAttentionOp::getEffectiveScale() {
  return recurrenceScale(getScale(), getQ().getType());
}

std::string LinearAttentionOp::getBatchDimName() {
  return dimName(getDims(), 0, "B");
}
std::string LinearAttentionOp::getLengthDimName() {
  return dimName(getDims(), 1, "T");
}

unsigned LinearAttentionOp::getGateOperandCount(GateKind kind) {
  switch (kind) {
  case GateKind::none:
    return 0;
  case GateKind::decay:
  case GateKind::vector:
    return 1;
  case GateKind::mlstm_exp:
  case GateKind::mlstm_sig:
    return 2;
  }
  return 0;
}

unsigned LinearAttentionOp::getStateTensorCount(GateKind kind) {
  switch (kind) {
  case GateKind::mlstm_exp:
    return 3;
  case GateKind::mlstm_sig:
    return 2;
  default:
    return 1;
  }
}

/// Expected shape of gate operand `index` for `kind` (-1 = any size there).
static llvm::SmallVector<int64_t> expectedGateShape(GateKind kind,
                                                    int64_t heads,
                                                    int64_t keyDim) {
  if (kind == GateKind::vector)
    return {ShapedType::kDynamic, heads, ShapedType::kDynamic, keyDim};
  return {ShapedType::kDynamic, heads, ShapedType::kDynamic};
}

/// Expected shape of state tensor `index` (C, n, m).
static llvm::SmallVector<int64_t> expectedStateShape(unsigned index,
                                                     int64_t heads,
                                                     int64_t keyDim,
                                                     int64_t valueDim) {
  if (index == 0)
    return {ShapedType::kDynamic, heads, keyDim, valueDim};
  if (index == 1)
    return {ShapedType::kDynamic, heads, keyDim};
  return {ShapedType::kDynamic, heads};
}

static std::string shapeText(llvm::ArrayRef<int64_t> shape,
                             llvm::StringRef dynamicName) {
  std::string text = "[";
  for (auto [i, size] : llvm::enumerate(shape)) {
    if (i)
      text += ", ";
    text += ShapedType::isDynamic(size) ? (i == 0 ? std::string("B")
                                                  : dynamicName.str())
                                        : std::to_string(size);
  }
  return text + "]";
}

/// Checks `type` against `expected` where dynamic entries match anything but
/// batch and length must agree with q's where both are static.
static LogicalResult checkShape(Operation *op, llvm::StringRef name,
                                RankedTensorType type,
                                llvm::ArrayRef<int64_t> expected,
                                RankedTensorType q) {
  bool ok = type.getRank() == int64_t(expected.size());
  for (unsigned i = 0; ok && i < expected.size(); ++i) {
    int64_t got = type.getDimSize(i);
    int64_t want = expected[i];
    if (ShapedType::isDynamic(want)) {
      // Batch (dim 0) and length (dim 2) follow q's.
      int64_t fromQ = i == 0 || i == 2 ? q.getDimSize(i) : ShapedType::kDynamic;
      if (!ShapedType::isDynamic(got) && !ShapedType::isDynamic(fromQ) &&
          got != fromQ)
        ok = false;
    } else if (got != want) {
      ok = false;
    }
  }
  if (!ok) {
    std::string got = "[";
    for (int64_t i = 0; i < type.getRank(); ++i)
      got += (i ? ", " : "") + dimText(type.getDimSize(i));
    return op->emitOpError() << name << " has shape " << got << "], expected "
                             << shapeText(expected, "T");
  }
  return success();
}

/// The operand rules flash.linear_attention and flash.delta_rule share:
/// q, k [B, H, T, Dk], v [B, H, T, Dv] and the result [B, H, T, Dv] of one
/// element type, static heads and head dims, equal head counts (`family`
/// names the op in that message), batch and length agreeing.
static LogicalResult verifyRecurrenceTensors(Operation *op, Value qValue,
                                             Value kValue, Value vValue,
                                             Value oValue,
                                             llvm::StringRef family) {
  if (failed(checkRank(op, "q", qValue.getType(), 4, "[B, H, T, Dk]")) ||
      failed(checkRank(op, "k", kValue.getType(), 4, "[B, H, T, Dk]")) ||
      failed(checkRank(op, "v", vValue.getType(), 4, "[B, H, T, Dv]")) ||
      failed(checkRank(op, "result", oValue.getType(), 4, "[B, H, T, Dv]")))
    return failure();
  if (failed(checkAllExtents(op)))
    return failure();
  auto q = llvm::cast<RankedTensorType>(qValue.getType()),
       k = llvm::cast<RankedTensorType>(kValue.getType()),
       v = llvm::cast<RankedTensorType>(vValue.getType()),
       o = llvm::cast<RankedTensorType>(oValue.getType());
  for (auto [name, type] : {std::pair<llvm::StringRef, RankedTensorType>{"q", q},
                            {"k", k}, {"v", v}})
    if (failed(checkStatic(op, name, type, 1, "head count")) ||
        failed(checkStatic(op, name, type, 3, "head dimension")))
      return failure();
  Type elem = q.getElementType();
  for (auto [name, type] : {std::pair<llvm::StringRef, RankedTensorType>{"k", k},
                            {"v", v}, {"result", o}})
    if (type.getElementType() != elem)
      return op->emitOpError() << name << " has element type "
                               << type.getElementType() << ", q has " << elem
                               << ": they must match";
  int64_t heads = q.getDimSize(1), keyDim = q.getDimSize(3),
          valueDim = v.getDimSize(3);
  if (k.getDimSize(1) != heads || v.getDimSize(1) != heads)
    return op->emitOpError() << "q has " << heads << " heads, k has "
                             << k.getDimSize(1) << ", v has "
                             << v.getDimSize(1) << ": " << family
                             << " needs equal head counts";
  if (k.getDimSize(3) != keyDim)
    return op->emitOpError() << "q has key dimension " << keyDim
                             << ", k has " << k.getDimSize(3)
                             << ": they must match";
  return failure(
      failed(checkSameDim(op, "batch size", "q", q, 0, "k", k, 0)) ||
      failed(checkSameDim(op, "batch size", "q", q, 0, "v", v, 0)) ||
      failed(checkSameDim(op, "length", "q", q, 2, "k", k, 2)) ||
      failed(checkSameDim(op, "length", "q", q, 2, "v", v, 2)) ||
      failed(checkShape(op, "result", o,
                        {ShapedType::kDynamic, heads, ShapedType::kDynamic,
                         valueDim},
                        q)));
}

/// The gate operands of a recurrence op of kind `gate` (as many as the kind
/// takes, each of its shape); `gradients`, where given, must match them in
/// number and type (flash.linear_attention_grad's results).
static LogicalResult checkGateOperands(Operation *op, GateKind gate, ValueRange gates,
                                       RankedTensorType q,
                                       std::optional<ValueRange> gradients = std::nullopt) {
  unsigned gateCount = LinearAttentionOp::getGateOperandCount(gate);
  if (gates.size() != gateCount)
    return op->emitOpError() << "gate " << stringifyGateKind(gate) << " takes "
                             << gateCount << " gate operand(s), got " << gates.size();
  if (gradients && gradients->size() != gateCount)
    return op->emitOpError() << "gate " << stringifyGateKind(gate) << " has "
                             << gateCount << " gate gradient(s), got "
                             << gradients->size();
  int64_t heads = q.getDimSize(1), keyDim = q.getDimSize(3);
  for (auto [index, value] : llvm::enumerate(gates)) {
    auto type = llvm::cast<RankedTensorType>(value.getType());
    std::string name = gateCount == 2 ? (index == 0 ? "input gate" : "forget gate")
                                      : "log-decay";
    if (failed(checkShape(op, name, type, expectedGateShape(gate, heads, keyDim), q)))
      return failure();
    if (gradients && (*gradients)[index].getType() != type)
      return op->emitOpError() << "the gradient of the " << name << " has type "
                               << (*gradients)[index].getType() << ", its operand has "
                               << type << ": they must match";
  }
  return success();
}

/// A recurrence state (`what`: "initial state", ...) of kind `gate`: none,
/// or C (and n, m for the mLSTM kinds) of their shapes.
static LogicalResult checkRecurrenceStates(Operation *op, GateKind gate, ValueRange values,
                                           llvm::StringRef what, RankedTensorType q,
                                           int64_t valueDim) {
  if (values.empty())
    return success();
  unsigned stateCount = LinearAttentionOp::getStateTensorCount(gate);
  static const char *kStateNames[] = {"C", "n", "m"};
  if (values.size() != stateCount)
    return op->emitOpError() << what << " has " << values.size() << " tensor(s), gate "
                             << stringifyGateKind(gate) << " carries " << stateCount;
  for (auto [index, value] : llvm::enumerate(values))
    if (failed(checkShape(op, (what + " " + kStateNames[index]).str(),
                          llvm::cast<RankedTensorType>(value.getType()),
                          expectedStateShape(index, q.getDimSize(1), q.getDimSize(3),
                                             valueDim),
                          q)))
      return failure();
  return success();
}

LogicalResult LinearAttentionOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyRecurrenceTensors(op, getQ(), getK(), getV(), getO(),
                                     "a linear recurrence")))
    return failure();
  RankedTensorType q = getQ().getType();
  int64_t valueDim = getV().getType().getDimSize(3);
  GateKind gate = getGate();
  if (failed(checkGateOperands(op, gate, getGates(), q)) ||
      failed(checkRecurrenceStates(op, gate, getInitialState(), "initial state", q, valueDim)))
    return failure();
  unsigned stateCount = getStateTensorCount(gate);
  if (getReturnFinalState() && getFinalState().size() != stateCount)
    return emitOpError() << "return_final_state needs " << stateCount
                         << " state result(s) for gate "
                         << stringifyGateKind(gate) << ", got "
                         << getFinalState().size();
  if (!getReturnFinalState() && !getFinalState().empty())
    return emitOpError() << "state results need return_final_state";
  if (failed(checkRecurrenceStates(op, gate, getFinalState(), "final state", q, valueDim)))
    return failure();
  if (failed(checkScale(op, getScale())) || failed(verifyLinearVarlen(*this)))
    return failure();
  if (failed(checkDimNames(op, getDims(), 2, "batch, length")))
    return failure();
  // Packed rows have no [B, T] position for an extra to be indexed by,
  // nor a region's (b, t).
  if ((hasOutputMod() || hasFeatureMap() || !getExtras().empty()) && linearVarlenOf(op))
    return emitOpError() << "has an output_mod, a feature_map or extras over packed "
                            "sequences (flash.varlen_view), which are not supported: "
                            "pad the batch to [B, H, T, D], or apply the modifier "
                            "outside";
  return verifyExtras(*this, {getBatchDimName(), getLengthDimName()},
                      kReservedRecurrenceExtraNames);
}

llvm::SmallVector<ExtraOperand> LinearAttentionOp::getExtraOperands() {
  return extraOperandsOf(*this);
}

LogicalResult LinearAttentionOp::verifyRegions() {
  if (failed(verifyElementRegion(getOperation(), getFeatureMap(), "feature_map",
                                 "(x: f32, b, h, t, d: index)", getExtras())))
    return failure();
  return verifyElementRegion(getOperation(), getOutputMod(), "output_mod",
                             "(o: f32, b, h, t, d: index)", getExtras());
}

//===----------------------------------------------------------------------===//
// LinearAttentionGradOp
//===----------------------------------------------------------------------===//

double LinearAttentionGradOp::getEffectiveScale() {
  return recurrenceScale(getScale(), getQ().getType());
}

std::string LinearAttentionGradOp::getBatchDimName() {
  return dimName(getDims(), 0, "B");
}
std::string LinearAttentionGradOp::getLengthDimName() {
  return dimName(getDims(), 1, "T");
}

LogicalResult LinearAttentionGradOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyRecurrenceTensors(op, getQ(), getK(), getV(), getDout(),
                                     "a linear recurrence's gradient")))
    return failure();
  RankedTensorType q = getQ().getType();
  int64_t valueDim = getV().getType().getDimSize(3);
  // Each gradient has its operand's type.
  auto sameType = [&](llvm::StringRef what, Value grad, Value of) -> LogicalResult {
    if (grad.getType() == of.getType())
      return success();
    return emitOpError() << what << " has type " << grad.getType()
                         << ", its operand has " << of.getType()
                         << ": they must match";
  };
  if (failed(sameType("dq", getDq(), getQ())) ||
      failed(sameType("dk", getDk(), getK())) ||
      failed(sameType("dv", getDv(), getV())))
    return failure();
  GateKind gate = getGate();
  if (failed(checkGateOperands(op, gate, getGates(), q, ValueRange(getDgates()))) ||
      failed(checkRecurrenceStates(op, gate, getInitialState(), "initial state", q,
                                   valueDim)) ||
      failed(checkRecurrenceStates(op, gate, getFinalGrad(), "final-state gradient", q,
                                   valueDim)))
    return failure();
  if (getDinitialState().size() != getInitialState().size())
    return emitOpError() << "the initial state has " << getInitialState().size()
                         << " tensor(s) and " << getDinitialState().size()
                         << " gradient(s): one gradient per tensor";
  for (auto [grad, state] : llvm::zip(getDinitialState(), getInitialState()))
    if (failed(sameType("an initial-state gradient", grad, state)))
      return failure();
  // The normaliser kinds read the forward's o and row normalisers
  // (docs/semantics.md §4.6); the other kinds have neither.
  const bool normalizer = gate == GateKind::mlstm_sig || gate == GateKind::mlstm_exp;
  if (normalizer && !getO())
    return emitOpError() << "gate " << stringifyGateKind(gate)
                         << " needs the forward's o and norm (saved(%o, %norm : ...)): the "
                            "normaliser kinds read dO / den and dL/dN from them";
  if (!normalizer && getO())
    return emitOpError() << "gate " << stringifyGateKind(gate)
                         << " does not read the forward's o and norm: only the normaliser "
                            "kinds mlstm_sig and mlstm_exp take saved(%o, %norm : ...)";
  if (Value o = getO()) {
    if (o.getType() != getDout().getType())
      return emitOpError() << "o has type " << o.getType() << " and do " << getDout().getType()
                           << ": the forward's output and its gradient have one type";
    auto norm = cast<RankedTensorType>(getNorm().getType());
    RankedTensorType dout = getDout().getType();
    if (norm.getRank() != 4 || norm.getDimSize(3) != 2 ||
        norm.getShape().take_front(3) != dout.getShape().take_front(3))
      return emitOpError() << "norm has type " << norm
                           << ": the rows' normalisers are [B, H, T, 2] f32 (N_r, floor_r) "
                              "with do's B, H and T";
  }
  if (failed(checkScale(op, getScale())) || failed(verifyLinearVarlen(*this)))
    return failure();
  return checkDimNames(op, getDims(), 2, "batch, length");
}

#define GET_OP_CLASSES
#include "dialect/FlashOps.cpp.inc"

//===----------------------------------------------------------------------===//
// DeltaRuleOp
//===----------------------------------------------------------------------===//

double DeltaRuleOp::getEffectiveScale() {
  return recurrenceScale(getScale(), getQ().getType());
}

std::string DeltaRuleOp::getBatchDimName() { return dimName(getDims(), 0, "B"); }
std::string DeltaRuleOp::getLengthDimName() {
  return dimName(getDims(), 1, "T");
}

LogicalResult DeltaRuleOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyRecurrenceTensors(op, getQ(), getK(), getV(), getO(),
                                     "the delta rule")) ||
      failed(checkRank(op, "beta", getBeta().getType(), 3, "[B, H, T]")))
    return failure();
  RankedTensorType q = getQ().getType();
  int64_t heads = q.getDimSize(1), keyDim = q.getDimSize(3),
          valueDim = getV().getType().getDimSize(3);
  const llvm::SmallVector<int64_t> perStep = {ShapedType::kDynamic, heads,
                                              ShapedType::kDynamic};
  const llvm::SmallVector<int64_t> state = {ShapedType::kDynamic, heads,
                                            keyDim, valueDim};
  if (failed(checkShape(op, "beta", getBeta().getType(), perStep, q)))
    return failure();
  if (Value g = getLogDecay())
    if (failed(checkShape(op, "log-decay",
                          llvm::cast<RankedTensorType>(g.getType()), perStep,
                          q)))
      return failure();
  if (Value s0 = getInitialState())
    if (failed(checkShape(op, "initial state",
                          llvm::cast<RankedTensorType>(s0.getType()), state,
                          q)))
      return failure();
  if (getReturnFinalState() != bool(getFinalState()))
    return emitOpError() << (getReturnFinalState()
                                 ? "return_final_state needs a state result"
                                 : "a state result needs return_final_state");
  if (Value s = getFinalState())
    if (failed(checkShape(op, "final state",
                          llvm::cast<RankedTensorType>(s.getType()), state,
                          q)))
      return failure();
  if (failed(checkScale(op, getScale())) || failed(verifyLinearVarlen(*this)))
    return failure();
  return checkDimNames(op, getDims(), 2, "batch, length");
}
