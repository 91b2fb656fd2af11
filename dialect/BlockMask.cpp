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
  auto rank = [&](Value list, int64_t want, const char *name) -> LogicalResult {
    auto type = llvm::cast<RankedTensorType>(list.getType());
    if (type.getRank() != want)
      return emitOpError() << name << " has shape " << shapeText(type)
                           << ": it is [B, Hq, query blocks"
                           << (want == 4 ? ", key blocks]" : "]");
    return success();
  };
  if (failed(rank(getKvNumBlocks(), 3, "kv_num_blocks")) ||
      failed(rank(getKvIndices(), 4, "kv_indices")))
    return failure();
  if (getFullKvNumBlocks() &&
      (failed(rank(getFullKvNumBlocks(), 3, "full_kv_num_blocks")) ||
       failed(rank(getFullKvIndices(), 4, "full_kv_indices"))))
    return failure();
  for (Operation *user : getView().getUsers()) {
    auto attention = dyn_cast<AttentionOp>(user);
    if (!attention || attention.getK() != getView() ||
        attention.getQ() == getView() || attention.getV() == getView())
      return emitOpError() << "result is used by " << user->getName()
                           << ": a block mask view is read only as the k of "
                              "a flash.attention";
  }
  return success();
}

std::optional<BlockMask> mlir::flash::blockMaskOf(Operation *attention) {
  auto op = dyn_cast<AttentionOp>(attention);
  if (!op)
    return std::nullopt;
  auto view = op.getK().getDefiningOp<BlockMaskOp>();
  if (!view)
    return std::nullopt;
  BlockMask mask;
  mask.keys = view.getKeys();
  mask.counts = view.getKvNumBlocks();
  mask.indices = view.getKvIndices();
  mask.fullCounts = view.getFullKvNumBlocks();
  mask.fullIndices = view.getFullKvIndices();
  mask.queryBlock = view.getBlock()[0];
  mask.keyBlock = view.getBlock()[1];
  return mask;
}

LogicalResult mlir::flash::verifyBlockMask(AttentionOp op) {
  auto view = op.getK().getDefiningOp<BlockMaskOp>();
  if (!view)
    return success();
  if (view.getKeys().getDefiningOp())
    return op.emitOpError() << "k is a block mask over "
                            << view.getKeys().getDefiningOp()->getName()
                            << ": a block mask views plain keys (paged or "
                               "packed keys under a block mask are not "
                               "supported)";
  if (op.getQ().getDefiningOp<VarlenViewOp>())
    return op.emitOpError() << "q is a packed (varlen) view and k a block "
                               "mask: packed queries under a block mask are "
                               "not supported";
  int64_t queryHeads = op.getQ().getType().getDimSize(1);
  int64_t queries = op.getQ().getType().getDimSize(2),
          keys = op.getK().getType().getDimSize(2);
  BlockMask mask = *blockMaskOf(op.getOperation());
  auto check = [&](Value list, const char *name, bool isIndices) -> LogicalResult {
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
    auto blocks = [](int64_t size, int64_t block) {
      return ShapedType::isDynamic(size) ? size : (size + block - 1) / block;
    };
    auto expect = [&](unsigned d, int64_t want, const char *what) -> LogicalResult {
      int64_t got = type.getDimSize(d);
      if (!ShapedType::isDynamic(got) &&
          (ShapedType::isDynamic(want) || got != want))
        return op.emitOpError() << name << " dim " << d << " is " << got
                                << ": it is " << what << " ("
                                << dimText(want) << ")";
      return success();
    };
    if (failed(expect(2, blocks(queries, mask.queryBlock), "cdiv(N, Qb)")))
      return failure();
    if (isIndices && failed(expect(3, blocks(keys, mask.keyBlock), "cdiv(M, Kb)")))
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
  return success();
}
