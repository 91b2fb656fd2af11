//===- PagedKv.cpp - flash.paged_view and the paged layout of an op -------===//

#include "dialect/PagedKv.h"

#include "dialect/FlashDialect.h"

using namespace mlir;
using namespace mlir::flash;

std::string mlir::flash::seqPagesDimName(llvm::StringRef keyDim) {
  return (keyDim + "_pages").str();
}

LogicalResult PagedViewOp::verify() {
  RankedTensorType pool = getPool().getType(), table = getPageTable().getType(),
                   view = getView().getType();
  if (pool.getRank() != 4)
    return emitOpError() << "pool has shape " << shapeText(pool)
                         << ": a page pool is [pages, P, Hkv, D]";
  for (auto [index, what] :
       {std::pair<int, const char *>{1, "page size P"}, {2, "head count"},
        {3, "head dimension"}})
    if (pool.isDynamicDim(index))
      return emitOpError() << "pool dim " << index << " (" << what
                           << ") must be static, pool is " << shapeText(pool);
  int64_t pageSize = pool.getDimSize(1);
  if (pageSize < 1 || pageSize > kMaxPageSize)
    return emitOpError() << "page size " << pageSize << " must be in [1, "
                         << kMaxPageSize << "]";
  if (table.getRank() != 2)
    return emitOpError() << "page_table has shape " << shapeText(table)
                         << ": a page table is [B, pages per sequence]";
  if (view.getRank() != 4 || view.getElementType() != pool.getElementType())
    return emitOpError() << "result must be a rank-4 tensor of "
                         << pool.getElementType() << " [B, Hkv, M, D]";
  auto expect = [&](int64_t index, int64_t size, const char *what) -> LogicalResult {
    int64_t got = view.getDimSize(index);
    if (ShapedType::isDynamic(size) != ShapedType::isDynamic(got) ||
        (!ShapedType::isDynamic(size) && size != got))
      return emitOpError() << "result has shape " << shapeText(view)
                           << ", its dim " << index << " (" << what
                           << ") must be " << dimText(size);
    return success();
  };
  int64_t keys = table.isDynamicDim(1) ? ShapedType::kDynamic
                                       : table.getDimSize(1) * pageSize;
  if (failed(expect(0, table.getDimSize(0), "the table's batch")) ||
      failed(expect(1, pool.getDimSize(2), "the pool's heads")) ||
      failed(expect(2, keys, "pages per sequence x P")) ||
      failed(expect(3, pool.getDimSize(3), "the pool's head dimension")))
    return failure();
  for (Operation *user : getView().getUsers()) {
    auto attention = dyn_cast<AttentionOp>(user);
    if (!attention || attention.getQ() == getView())
      return emitOpError() << "result is used by " << user->getName()
                           << ": a paged view is read only as the k or v of "
                              "a flash.attention";
  }
  return success();
}

std::optional<PagedKv> mlir::flash::pagedKvOf(Operation *attention) {
  auto op = dyn_cast<AttentionOp>(attention);
  if (!op)
    return std::nullopt;
  auto k = op.getK().getDefiningOp<PagedViewOp>();
  auto v = op.getV().getDefiningOp<PagedViewOp>();
  if (!k || !v)
    return std::nullopt;
  PagedKv paged;
  paged.kPool = k.getPool();
  paged.vPool = v.getPool();
  paged.table = k.getPageTable();
  paged.kPoolType = k.getPool().getType();
  paged.vPoolType = v.getPool().getType();
  paged.tableType = k.getPageTable().getType();
  paged.pageSize = paged.kPoolType.getDimSize(1);
  return paged;
}

LogicalResult mlir::flash::verifyPagedKv(AttentionOp op) {
  auto k = op.getK().getDefiningOp<PagedViewOp>();
  auto v = op.getV().getDefiningOp<PagedViewOp>();
  if (!k && !v)
    return success();
  if (!k || !v)
    return op.emitOpError() << (k ? "k" : "v") << " is a paged view and "
                            << (k ? "v" : "k")
                            << " is not: keys and values are paged together";
  if (k.getPageTable() != v.getPageTable())
    return op.emitOpError() << "k and v are paged through different page "
                               "tables: one table serves both";
  int64_t pk = k.getPool().getType().getDimSize(1),
          pv = v.getPool().getType().getDimSize(1);
  if (pk != pv)
    return op.emitOpError() << "k has pages of " << pk << " keys, v of " << pv
                            << ": one page size serves both";
  return success();
}
