//===- DimBindings.cpp - bind named dynamic dimensions to values ----------===//

#include "dialect/DimBindings.h"

#include "dialect/PagedKv.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::flash;

llvm::Error mlir::flash::parseDimBinding(llvm::StringRef text,
                                         DimValues &values) {
  auto [name, value] = text.trim().split('=');
  name = name.trim();
  value = value.trim();
  if (name.empty() || value.empty())
    return llvm::createStringError("dimension binding '" + text.str() +
                                   "' is not of the form NAME=VALUE");
  // Kernels take sizes as 32-bit ints; the scheduler's arithmetic on them
  // (tile counts, next powers of two) stays in range below this.
  constexpr int64_t kMaxDim = 2147483647;
  int64_t number = 0;
  if (value.getAsInteger(10, number) || number <= 0)
    return llvm::createStringError("dimension " + name.str() + " = '" +
                                   value.str() +
                                   "' is not a positive integer");
  if (number > kMaxDim)
    return llvm::createStringError(
        "dimension " + name.str() + " = " + value.str() + " exceeds " +
        std::to_string(kMaxDim) + " (kernels take 32-bit sizes)");
  values[name] = number;
  return llvm::Error::success();
}

llvm::Error mlir::flash::parseDimBindingList(llvm::StringRef text,
                                             DimValues &values) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef part : parts)
    if (llvm::Error error = parseDimBinding(part, values))
      return error;
  return llvm::Error::success();
}

/// The size of dimension `index` of `value`'s type: static from the type, or
/// bound by `name`. `role` says what the dimension is, for the message.
static llvm::Expected<int64_t> resolveDim(Operation *op, Value value,
                                          unsigned index, llvm::StringRef name,
                                          llvm::StringRef role,
                                          const DimValues &values) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(index))
    return type.getDimSize(index);
  auto it = values.find(name);
  if (it == values.end()) {
    std::string location;
    llvm::raw_string_ostream os(location);
    op->getLoc().print(os);
    return llvm::createStringError(
        "dimension " + name.str() + " (" + role.str() + " of " +
        op->getName().getStringRef().str() + " at " + location +
        ") is not bound: pass --dim " + name.str() + "=VALUE");
  }
  return it->second;
}

/// The key length M: bound by its name, or for a paged cache
/// (dialect/PagedKv.h) also by its pages per sequence, and then whole pages.
static llvm::Expected<int64_t> resolveKeyLen(Operation *op, Value k,
                                             llvm::StringRef keyDim,
                                             const DimValues &values) {
  std::optional<PagedKv> paged = pagedKvOf(op);
  if (!paged)
    return resolveDim(op, k, 2, keyDim, "key sequence length", values);
  const int64_t pageSize = paged->pageSize;
  std::string pagesDim = seqPagesDimName(keyDim);
  auto type = llvm::cast<RankedTensorType>(k.getType());
  auto pages = values.find(pagesDim);
  if (type.isDynamicDim(2) && !values.count(keyDim) && pages != values.end())
    return pages->second * pageSize;
  auto keyLen = resolveDim(op, k, 2, keyDim, "key sequence length", values);
  if (keyLen && *keyLen % pageSize != 0)
    return llvm::createStringError(
        "dimension " + keyDim.str() + " = " + std::to_string(*keyLen) +
        " is not a whole number of pages: a paged cache holds " + keyDim.str() +
        " = " + pagesDim + " x " + std::to_string(pageSize) + " keys");
  return keyLen;
}

/// The sizes of flash.attention and flash.attention_grad alike: both read
/// them from q, k, v and the same `dims` names.
template <typename Op>
static llvm::Expected<AttentionSizes> resolveAttentionSizes(Op op,
                                                            const DimValues &values) {
  AttentionSizes sizes;
  auto type = [](Value value) {
    return llvm::cast<RankedTensorType>(value.getType());
  };
  auto batch = resolveDim(op, op.getQ(), 0, op.getBatchDimName(),
                          "batch size", values);
  if (!batch)
    return batch.takeError();
  auto queryLen = resolveDim(op, op.getQ(), 2, op.getQueryDimName(),
                             "query sequence length", values);
  if (!queryLen)
    return queryLen.takeError();
  auto keyLen = resolveKeyLen(op.getOperation(), op.getK(),
                              op.getKeyDimName(), values);
  if (!keyLen)
    return keyLen.takeError();
  sizes.batch = *batch;
  sizes.queryLen = *queryLen;
  sizes.keyLen = *keyLen;
  sizes.queryHeads = type(op.getQ()).getDimSize(1);
  sizes.keyHeads = type(op.getK()).getDimSize(1);
  sizes.headDim = type(op.getQ()).getDimSize(3);
  sizes.valueDim = type(op.getV()).getDimSize(3);
  return sizes;
}

llvm::Expected<AttentionSizes>
mlir::flash::resolveSizes(AttentionOp op, const DimValues &values) {
  return resolveAttentionSizes(op, values);
}

llvm::Expected<AttentionSizes>
mlir::flash::resolveSizes(AttentionGradOp op, const DimValues &values) {
  return resolveAttentionSizes(op, values);
}

/// Batch and length from the op's dims, the rest from q's and v's types:
/// flash.linear_attention and flash.delta_rule alike.
template <typename OpT>
static llvm::Expected<LinearAttentionSizes>
resolveRecurrenceSizes(OpT op, const DimValues &values) {
  LinearAttentionSizes sizes;
  auto batch = resolveDim(op, op.getQ(), 0, op.getBatchDimName(),
                          "batch size", values);
  if (!batch)
    return batch.takeError();
  auto length = resolveDim(op, op.getQ(), 2, op.getLengthDimName(),
                           "sequence length", values);
  if (!length)
    return length.takeError();
  sizes.batch = *batch;
  sizes.length = *length;
  sizes.heads = op.getQ().getType().getDimSize(1);
  sizes.keyDim = op.getQ().getType().getDimSize(3);
  sizes.valueDim = op.getV().getType().getDimSize(3);
  return sizes;
}

llvm::Expected<LinearAttentionSizes>
mlir::flash::resolveSizes(LinearAttentionOp op, const DimValues &values) {
  return resolveRecurrenceSizes(op, values);
}

llvm::Expected<LinearAttentionSizes>
mlir::flash::resolveSizes(DeltaRuleOp op, const DimValues &values) {
  return resolveRecurrenceSizes(op, values);
}

llvm::Expected<LinearAttentionSizes>
mlir::flash::resolveSizes(LinearAttentionGradOp op, const DimValues &values) {
  return resolveRecurrenceSizes(op, values);
}
