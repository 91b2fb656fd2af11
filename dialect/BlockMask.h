//===- BlockMask.h - block-sparse masks: the one description ----*- C++ -*-===//
//
// A flash.attention whose k is a flash.block_mask view visits, per query
// block, only the key blocks its lists name (docs/semantics.md §2.10). This
// is the one description of that operand the verifier, the scheduler's
// problem, the lowering, the bundle writer and the reference read: the
// lists, the block sizes, and the names callers and kernels bind them by
// (FlexAttention's BlockMask fields, so a Flex user's tensors pass as they
// are).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_BLOCKMASK_H
#define FLASHGEN_DIALECT_BLOCKMASK_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir::flash {

/// The lists' manifest names and the kernels' parameter names.
inline constexpr llvm::StringLiteral kKvNumBlocksName = "kv_num_blocks";
inline constexpr llvm::StringLiteral kKvIndicesName = "kv_indices";
inline constexpr llvm::StringLiteral kFullKvNumBlocksName = "full_kv_num_blocks";
inline constexpr llvm::StringLiteral kFullKvIndicesName = "full_kv_indices";
/// The transposed lists the gradient's kv kernel walks (per key block, the
/// query blocks that list it).
inline constexpr llvm::StringLiteral kQNumBlocksName = "q_num_blocks";
inline constexpr llvm::StringLiteral kQIndicesName = "q_indices";
inline constexpr llvm::StringLiteral kFullQNumBlocksName = "full_q_num_blocks";
inline constexpr llvm::StringLiteral kFullQIndicesName = "full_q_indices";
/// Each direction's four lists in the order the kernels take them: counts
/// ([B|1, Hq|1, rows]), indices (one dim more: the listed blocks), then the
/// full ones.
inline constexpr llvm::StringLiteral kKvListNames[] = {
    kKvNumBlocksName, kKvIndicesName, kFullKvNumBlocksName, kFullKvIndicesName};
inline constexpr llvm::StringLiteral kQListNames[] = {
    kQNumBlocksName, kQIndicesName, kFullQNumBlocksName, kFullQIndicesName};
/// Block sizes the kernels address: multiples of 16 rows (an MMA tile) up
/// to 4096; query tiles must divide Qb and key tiles Kb (the scheduler's
/// checker).
inline constexpr int64_t kBlockMaskGranule = 16;
inline constexpr int64_t kMaxBlockMaskBlock = 4096;

struct BlockMask {
  /// The keys the view shows (the k the kernels read).
  Value keys;
  /// kv_num_blocks [B|1, Hq|1, cdiv(N, Qb)], kv_indices [.., cdiv(M, Kb)];
  /// the full lists are null when absent.
  Value counts, indices, fullCounts, fullIndices;
  /// q_num_blocks [B|1, Hq|1, cdiv(M, Kb)], q_indices [.., cdiv(N, Qb)] and
  /// the full pair: the transposed lists, null when absent.
  Value queryCounts, queryIndices, fullQueryCounts, fullQueryIndices;
  int64_t queryBlock = 0, keyBlock = 0;
  bool hasFull() const { return static_cast<bool>(fullCounts); }
  bool hasTransposed() const { return static_cast<bool>(queryCounts); }
};

/// cdiv(size, block) for a static size; a dynamic size stays dynamic.
int64_t blockCountOf(int64_t size, int64_t block);

/// The type of the transposed list of `list` (a kv count or index list):
/// its batch and head dims, then cdiv(M, Kb) (and cdiv(N, Qb) for
/// indices), for an op of `queries` and `keys` rows (static or dynamic).
RankedTensorType transposedListType(RankedTensorType list, bool isIndices,
                                    const BlockMask &mask, int64_t queries,
                                    int64_t keys);

/// The block mask of `attention`'s k (a flash.attention or
/// flash.attention_grad), nullopt when k is not a flash.block_mask view.
std::optional<BlockMask> blockMaskOf(Operation *attention);

/// The manifest expression of the query blocks (`cdiv(<N>,Qb)`) and key
/// blocks (`cdiv(<M>,Kb)`) for an op whose lengths are called
/// `queryDim` / `keyDim`.
std::string queryBlocksExpr(llvm::StringRef queryDim, const BlockMask &mask);
std::string keyBlocksExpr(llvm::StringRef keyDim, const BlockMask &mask);

class AttentionOp;
class AttentionGradOp;
/// flash.attention's block-mask rules: the view is k only, its lists'
/// heads are Hq or 1, its batch B or 1, and paged or packed keys are not
/// combined with it; transposed lists, where given, are [.., cdiv(M, Kb)]
/// and [.., cdiv(M, Kb), cdiv(N, Qb)], full ones exactly where the kv
/// lists have full ones.
LogicalResult verifyBlockMask(AttentionOp op);
/// The same for flash.attention_grad, which also requires the transposed
/// lists (its kv kernel walks them).
LogicalResult verifyBlockMask(AttentionGradOp op);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_BLOCKMASK_H
