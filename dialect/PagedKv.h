//===- PagedKv.h - paged KV caches: the one description --------*- C++ -*-===//
//
// A flash.attention whose k and v are flash.paged_view results reads its
// keys and values in place from page pools through a page table
// (docs/semantics.md §2.8). This is the one description of that layout the
// verifier, the scheduler's problem, the lowering, the emitter, the bundle
// writer and the reference read: the pools, the table, the page size, and
// the names callers and kernels bind them by.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_PAGEDKV_H
#define FLASHGEN_DIALECT_PAGEDKV_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir::flash {

/// The page table's manifest name and the kernels' parameter name.
inline constexpr llvm::StringLiteral kPageTableName = "page_table";
/// The symbol of the pools' page count (their dim 0).
inline constexpr llvm::StringLiteral kPoolPagesDim = "pool_pages";
/// Page sizes the kernels address: any, from one key (SGLang's token
/// pages) to 4096; pages of at least a key tile cost one table read a tile,
/// smaller ones one a row.
inline constexpr int64_t kMaxPageSize = 4096;

struct PagedKv {
  Value kPool, vPool, table;
  RankedTensorType kPoolType, vPoolType, tableType;
  /// P: keys a page holds (the pools' static dim 1).
  int64_t pageSize = 0;
};

/// The symbol of the page table's dim 1 (pages per sequence) for an op
/// whose key length is called `keyDim`: "<keyDim>_pages"; the key length
/// is that times the page size.
std::string seqPagesDimName(llvm::StringRef keyDim);

/// k and v of `attention` (a flash.attention) when both are paged views,
/// nullopt when neither is. The verifier rejects every other mix.
std::optional<PagedKv> pagedKvOf(Operation *attention);

class AttentionOp;
/// flash.attention's paged rules: k and v are both paged views or neither,
/// through one table, with one page size.
LogicalResult verifyPagedKv(AttentionOp op);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_PAGEDKV_H
