//===- BlockMask.h - block-sparse masks for the reference -------*- C++ -*-===//
//
// FlexAttention's BlockMask (dialect/BlockMask.h, docs/semantics.md §2.10):
// query rows in blocks of Qb, keys in blocks of Kb, and per (batch, query
// head, query block) lists of the key blocks it sees, "partial" ones where
// mask_mod still decides and "full" ones where it is not evaluated. Here
// are the lists as the kernels read them (i32, unclamped, as a caller
// passes them), the one lookup that says what they name, and the lists the
// tests draw, with the entries a kernel must clamp or must not read.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_BLOCKMASK_H
#define FLASHGEN_REFERENCE_BLOCKMASK_H

#include "reference/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>

namespace flashgen::reference {

/// The lists of one flash.block_mask. Each pair's first two dims are B or
/// 1 and Hq or 1 (1 broadcasts); the pairs may differ there. i32 like the
/// op's operands, so a GPU test passes what it read from the .npy files.
struct BlockMask {
  int64_t queryBlock = 0; ///< Qb
  int64_t keyBlock = 0;   ///< Kb
  Tensor<int32_t> counts;  ///< kv_num_blocks [B|1, Hq|1, cdiv(N, Qb)]
  Tensor<int32_t> indices; ///< kv_indices [B|1, Hq|1, cdiv(N, Qb), cdiv(M, Kb)]
  /// full_kv_num_blocks, full_kv_indices: the same layout, or both empty
  /// (no full lists).
  Tensor<int32_t> fullCounts, fullIndices;

  bool hasFull() const { return !fullCounts.empty(); }
};

/// What a block mask says of one key block for one query block.
enum class BlockListing { None, Partial, Full };

/// cdiv(size, block) for size >= 0, block >= 1.
int64_t blockCount(int64_t size, int64_t block);

/// Checks the lists against an attention of `batch` sequences, `queryHeads`
/// heads, N = `queries` and M = `keys`: block sizes >= 1, ranks, and the
/// shapes above. Returns the first problem as a message naming the list.
std::optional<std::string> validateBlockMask(const BlockMask &mask,
                                             int64_t batch, int64_t queryHeads,
                                             int64_t queries, int64_t keys);

/// How the lists name the block of key `key` for query `query` of (batch,
/// head): batch and head are clamped into the lists' dims (a dim of 1
/// broadcasts), counts into [0, cdiv(M, Kb)]; entries past the count are
/// not read, and an entry outside [0, cdiv(M, Kb)) names no block. Full
/// wins where both lists name the block (the lists must not repeat a
/// block; the reference counts it once). A negative key, or one past the
/// last block, is in no block. Says nothing of 0 <= key < M or the mask
/// kind (isKeyVisible applies those). `query` must lie in a listed query
/// block (ReferenceError otherwise).
BlockListing blockListing(const BlockMask &mask, int64_t batch, int64_t head,
                          int64_t query, int64_t key);

/// The [B|1, Hq|1] of one pair of lists.
struct BlockListDims {
  int64_t batch = 1;
  int64_t heads = 1;
};

/// Random lists for an attention of N = `queries`, M = `keys`: the
/// partial lists of dims `partial`, the full ones (when `full` is given)
/// of dims `*full`. Each query block lists a random subset of the key
/// blocks in a random order, some full and some partial, never one block
/// twice for any (batch, head); entries past a count hold the key blocks
/// the row does not list, so a kernel reading them sees other blocks. Edge
/// cases, when M > 0: one query block (in every batch and head) lists
/// nothing and another every key block (with one query block, only the
/// latter); in each list some entry past a count is out of range (-1 or
/// cdiv(M, Kb)), and, where a row listing some but not all blocks has
/// room, one inside a count (it names no block). Counts stay within
/// [0, cdiv(M, Kb)].
BlockMask drawBlockMask(BlockListDims partial,
                        std::optional<BlockListDims> full, int64_t queries,
                        int64_t keys, int64_t queryBlock, int64_t keyBlock,
                        uint64_t seed);

/// FlexAttention's transposed lists (q_num_blocks, q_indices and the full
/// pair), what the gradient's kv kernel walks: per (batch, query head, key
/// block) the query blocks whose list names that key block, ascending,
/// each pair transposing the same pair of `mask` (its [B|1, Hq|1] dims),
/// read as blockListing reads it (clamped counts, entries past a count
/// unread, entries outside [0, cdiv(M, Kb)) naming nothing). Counts are
/// [.., cdiv(M, Kb)], indices [.., cdiv(M, Kb), cdiv(N, Qb)] with -1 past
/// each count. The full pair is empty where `mask` has none.
struct TransposedBlockLists {
  Tensor<int32_t> counts, indices, fullCounts, fullIndices;
};
TransposedBlockLists transposeBlockMask(const BlockMask &mask);

/// The same with both pairs of lists [batch, heads] (full ones with
/// `withFull`).
BlockMask drawBlockMask(int64_t batch, int64_t heads, int64_t queries,
                        int64_t keys, int64_t queryBlock, int64_t keyBlock,
                        uint64_t seed, bool withFull);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_BLOCKMASK_H
