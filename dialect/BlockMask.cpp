//===- BlockMask.cpp - flash.block_mask and the block lists of an op ------===//

#include "dialect/BlockMask.h"

#include "dialect/FlashDialect.h"

using namespace mlir;
using namespace mlir::flash;

std::string mlir::flash::queryBlocksExpr(llvm::StringRef queryDim,
                                         const BlockMask &mask) {
  return "cdiv(" + queryDim.str() + "," + std::to_string(mask.queryBlock) + ")";
}

std::string mlir::flash::keyBlocksExpr(llvm::StringRef keyDim,
                                       const BlockMask &mask) {
  return "cdiv(" + keyDim.str() + "," + std::to_string(mask.keyBlock) + ")";
}

LogicalResult BlockMaskOp::verify() {
  ArrayRef<int64_t> block = getBlock();
  if (block.size() != 2)
    return emitOpError() << "block has " << block.size()
                         << " sizes: it is [Qb, Kb], query rows and keys a block";
  for (auto [size, what] : {std::pair<int64_t, const char *>{block[0], "Qb"},
                            {block[1], "Kb"}})
    if (size < kBlockMaskGranule || size > kMaxBlockMaskBlock ||
        size % kBlockMaskGranule != 0)
      return emitOpError() << "block size " << what << " = " << size
                           << " must be a multiple of " << kBlockMaskGranule
                           << " in [" << kBlockMaskGranule << ", "
                           << kMaxBlockMaskBlock << "]";
  if (getKeys().getType() != getView().getType())
    return emitOpError() << "result type " << getView().getType()
                         << " must be the keys' type " << getKeys().getType();
  // kv lists are rows of query blocks listing key blocks; the transposed
  // lists the other way round.
  auto rankOf = [&](Value list, int64_t want, const char *name,
                    bool transposed) -> LogicalResult {
    auto type = llvm::cast<RankedTensorType>(list.getType());
    const char *rows = transposed ? "key blocks" : "query blocks";
    const char *listed = transposed ? "query blocks" : "key blocks";
    if (type.getRank() != want)
      return emitOpError() << name << " has shape " << shapeText(type)
                           << ": it is [B, Hq, " << rows
                           << (want == 4 ? std::string(", ") + listed + "]" : "]");
    return success();
  };
  if (failed(rankOf(getKvNumBlocks(), 3, "kv_num_blocks", false)) ||
      failed(rankOf(getKvIndices(), 4, "kv_indices", false)))
    return failure();
  if (getFullKvNumBlocks() &&
      (failed(rankOf(getFullKvNumBlocks(), 3, "full_kv_num_blocks", false)) ||
       failed(rankOf(getFullKvIndices(), 4, "full_kv_indices", false))))
    return failure();
  if (getQNumBlocks() &&
      (failed(rankOf(getQNumBlocks(), 3, "q_num_blocks", true)) ||
       failed(rankOf(getQIndices(), 4, "q_indices", true))))
    return failure();
  if (getFullQNumBlocks() &&
      (failed(rankOf(getFullQNumBlocks(), 3, "full_q_num_blocks", true)) ||
       failed(rankOf(getFullQIndices(), 4, "full_q_indices", true))))
    return failure();
  // The transposed lists say what the kv lists say: full ones exactly
  // where those have full ones.
  if (getFullQNumBlocks() && !getQNumBlocks())
    return emitOpError() << "has full_transposed lists but no transposed "
                            "ones (q_num_blocks, q_indices)";
  if (getQNumBlocks() &&
      static_cast<bool>(getFullQNumBlocks()) != static_cast<bool>(getFullKvNumBlocks()))
    return emitOpError()
           << (getFullKvNumBlocks() ? "has full kv lists but no full_transposed "
                                      "ones (full_q_num_blocks, full_q_indices)"
                                    : "has full_transposed lists but no full "
                                      "kv lists (full_kv_num_blocks, "
                                      "full_kv_indices)");
  for (Operation *user : getView().getUsers()) {
    Value q, k, v;
    if (auto attention = dyn_cast<AttentionOp>(user))
      q = attention.getQ(), k = attention.getK(), v = attention.getV();
    else if (auto grad = dyn_cast<AttentionGradOp>(user))
      q = grad.getQ(), k = grad.getK(), v = grad.getV();
    if (!k || k != getView() || q == getView() || v == getView() ||
        llvm::count(user->getOperands(), getView()) != 1)
      return emitOpError() << "result is used by " << user->getName()
                           << ": a block mask view is read only as the k of "
                              "a flash.attention or flash.attention_grad";
  }
  return success();
}

int64_t mlir::flash::blockCountOf(int64_t size, int64_t block) {
  return ShapedType::isDynamic(size) ? size : (size + block - 1) / block;
}

RankedTensorType mlir::flash::transposedListType(RankedTensorType list,
                                                 bool isIndices,
                                                 const BlockMask &mask,
                                                 int64_t queries, int64_t keys) {
  SmallVector<int64_t> shape = {list.getDimSize(0), list.getDimSize(1),
                                blockCountOf(keys, mask.keyBlock)};
  if (isIndices)
    shape.push_back(blockCountOf(queries, mask.queryBlock));
  return RankedTensorType::get(shape, list.getElementType());
}

std::optional<BlockMask> mlir::flash::blockMaskOf(Operation *attention) {
  Value k;
  if (auto op = dyn_cast<AttentionOp>(attention))
    k = op.getK();
  else if (auto grad = dyn_cast<AttentionGradOp>(attention))
    k = grad.getK();
  if (!k)
    return std::nullopt;
  auto view = k.getDefiningOp<BlockMaskOp>();
  if (!view)
    return std::nullopt;
  BlockMask mask;
  mask.keys = view.getKeys();
  mask.counts = view.getKvNumBlocks();
  mask.indices = view.getKvIndices();
  mask.fullCounts = view.getFullKvNumBlocks();
  mask.fullIndices = view.getFullKvIndices();
  mask.queryCounts = view.getQNumBlocks();
  mask.queryIndices = view.getQIndices();
  mask.fullQueryCounts = view.getFullQNumBlocks();
  mask.fullQueryIndices = view.getFullQIndices();
  mask.queryBlock = view.getBlock()[0];
  mask.keyBlock = view.getBlock()[1];
  return mask;
}

/// The rules both ops share; `transposedRequired` for the gradient.
template <typename OpT>
static LogicalResult verifyBlockMaskOf(OpT op, bool transposedRequired) {
  auto view = op.getK().template getDefiningOp<BlockMaskOp>();
  if (!view)
    return success();
  if (view.getKeys().getDefiningOp())
    return op.emitOpError() << "k is a block mask over "
                            << view.getKeys().getDefiningOp()->getName()
                            << ": a block mask views plain keys (paged or "
                               "packed keys under a block mask are not "
                               "supported)";
  if (op.getQ().template getDefiningOp<VarlenViewOp>())
    return op.emitOpError() << "q is a packed (varlen) view and k a block "
                               "mask: packed queries under a block mask are "
                               "not supported";
  int64_t queryHeads = op.getQ().getType().getDimSize(1);
  int64_t queries = op.getQ().getType().getDimSize(2),
          keys = op.getK().getType().getDimSize(2);
  BlockMask mask = *blockMaskOf(op.getOperation());
  // `transposed` lists count key blocks (dim 2) and index query blocks.
  auto check = [&](Value list, const char *name, bool isIndices,
                   bool transposed = false) -> LogicalResult {
    auto type = llvm::cast<RankedTensorType>(list.getType());
    if (!type.isDynamicDim(0) && type.getDimSize(0) != 1 &&
        type.getDimSize(0) != op.getQ().getType().getDimSize(0))
      return op.emitOpError() << name << " has batch " << type.getDimSize(0)
                              << ": it is B (dynamic or q's) or 1";
    if (type.isDynamicDim(1) ||
        (type.getDimSize(1) != 1 && type.getDimSize(1) != queryHeads))
      return op.emitOpError() << name << " has " << dimText(type.getDimSize(1))
                              << " heads: it is static, the " << queryHeads
                              << " query heads or 1";
    auto blocks = blockCountOf;
    auto expect = [&](unsigned d, int64_t want, const char *what) -> LogicalResult {
      int64_t got = type.getDimSize(d);
      if (!ShapedType::isDynamic(got) &&
          (ShapedType::isDynamic(want) || got != want))
        return op.emitOpError() << name << " dim " << d << " is " << got
                                << ": it is " << what << " ("
                                << dimText(want) << ")";
      return success();
    };
    int64_t queryBlocks = blocks(queries, mask.queryBlock),
            keyBlocks = blocks(keys, mask.keyBlock);
    if (failed(expect(2, transposed ? keyBlocks : queryBlocks,
                      transposed ? "cdiv(M, Kb)" : "cdiv(N, Qb)")))
      return failure();
    if (isIndices && failed(expect(3, transposed ? queryBlocks : keyBlocks,
                                   transposed ? "cdiv(N, Qb)" : "cdiv(M, Kb)")))
      return failure();
    return success();
  };
  if (failed(check(mask.counts, "kv_num_blocks", false)) ||
      failed(check(mask.indices, "kv_indices", true)))
    return failure();
  if (mask.hasFull() &&
      (failed(check(mask.fullCounts, "full_kv_num_blocks", false)) ||
       failed(check(mask.fullIndices, "full_kv_indices", true))))
    return failure();
  if (mask.hasTransposed()) {
    if (failed(check(mask.queryCounts, "q_num_blocks", false, true)) ||
        failed(check(mask.queryIndices, "q_indices", true, true)))
      return failure();
    if (mask.fullQueryCounts &&
        (failed(check(mask.fullQueryCounts, "full_q_num_blocks", false, true)) ||
         failed(check(mask.fullQueryIndices, "full_q_indices", true, true))))
      return failure();
  } else if (transposedRequired) {
    return op.emitOpError()
           << "k is a block mask without transposed lists: the gradient's kv "
              "kernel walks, per key block, the query blocks that list it "
              "(flash.block_mask ... transposed [q_num_blocks, q_indices]; "
              "flash-derive-backward adds them)";
  }
  return success();
}

LogicalResult mlir::flash::verifyBlockMask(AttentionOp op) {
  return verifyBlockMaskOf(op, /*transposedRequired=*/false);
}

LogicalResult mlir::flash::verifyBlockMask(AttentionGradOp op) {
  return verifyBlockMaskOf(op, /*transposedRequired=*/true);
}
