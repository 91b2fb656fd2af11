//===- BlockMask.cpp - block-sparse masks for the reference ---------------===//

#include "reference/BlockMask.h"

#include "reference/Random.h"
#include "reference/ReferenceError.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace flashgen::reference {

int64_t blockCount(int64_t size, int64_t block) {
  return (size + block - 1) / block;
}

std::optional<std::string> validateBlockMask(const BlockMask &mask,
                                             int64_t batch, int64_t queryHeads,
                                             int64_t queries, int64_t keys) {
  const std::string op = "attention: block mask: ";
  if (mask.queryBlock < 1 || mask.keyBlock < 1)
    return op + "block sizes must be >= 1, got Qb = " +
           std::to_string(mask.queryBlock) +
           " and Kb = " + std::to_string(mask.keyBlock);
  if (mask.fullCounts.empty() != mask.fullIndices.empty())
    return op + "'full_kv_num_blocks' and 'full_kv_indices' are given "
                "together or not at all";
  const int64_t queryBlocks = blockCount(queries, mask.queryBlock),
                keyBlocks = blockCount(keys, mask.keyBlock);
  auto check = [&](const Tensor<int32_t> &counts, const Tensor<int32_t> &indices,
                   const char *countsName,
                   const char *indicesName) -> std::optional<std::string> {
    const std::string expected =
        "[B|1, Hq|1, cdiv(N, Qb)] = [" + std::to_string(batch) + "|1, " +
        std::to_string(queryHeads) + "|1, " + std::to_string(queryBlocks);
    const Shape &shape = counts.shape();
    if (shape.size() != 3 || (shape[0] != batch && shape[0] != 1) ||
        (shape[1] != queryHeads && shape[1] != 1) || shape[2] != queryBlocks)
      return op + "'" + countsName + "' has shape " + shapeToString(shape) +
             " but " + expected + "] was expected";
    const Shape want = {shape[0], shape[1], queryBlocks, keyBlocks};
    if (indices.shape() != want)
      return op + "'" + indicesName + "' has shape " +
             shapeToString(indices.shape()) + " but " + shapeToString(want) +
             " was expected (" + countsName + "'s dims, then cdiv(M, Kb))";
    return std::nullopt;
  };
  if (auto error = check(mask.counts, mask.indices, "kv_num_blocks", "kv_indices"))
    return error;
  if (mask.hasFull())
    return check(mask.fullCounts, mask.fullIndices, "full_kv_num_blocks",
                 "full_kv_indices");
  return std::nullopt;
}

namespace {

/// Whether the row (batch, head, queryBlock) of one pair of lists names
/// key block `keyBlock`, reading only the entries its clamped count covers.
bool listsBlock(const Tensor<int32_t> &counts, const Tensor<int32_t> &indices,
                int64_t batch, int64_t head, int64_t queryBlock,
                int64_t keyBlock) {
  const int64_t b = std::clamp<int64_t>(batch, 0, counts.dim(0) - 1),
                h = std::clamp<int64_t>(head, 0, counts.dim(1) - 1),
                keyBlocks = indices.dim(3);
  const int64_t count =
      std::clamp<int64_t>(counts.at({b, h, queryBlock}), 0, keyBlocks);
  if (count == 0)
    return false;
  const int32_t *row = indices.data() + indices.offset({b, h, queryBlock, 0});
  return std::find(row, row + count, keyBlock) != row + count;
}

/// One pair of lists transposed (reference/BlockMask.h).
void transposePair(const Tensor<int32_t> &counts, const Tensor<int32_t> &indices,
                   Tensor<int32_t> &outCounts, Tensor<int32_t> &outIndices) {
  const int64_t batch = counts.dim(0), heads = counts.dim(1),
                queryBlocks = indices.dim(2), keyBlocks = indices.dim(3);
  outCounts = Tensor<int32_t>(Shape{batch, heads, keyBlocks});
  outIndices = Tensor<int32_t>::full(Shape{batch, heads, keyBlocks, queryBlocks}, -1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t qb = 0; qb < queryBlocks; ++qb) // ascending per key block
        for (int64_t kb = 0; kb < keyBlocks; ++kb) {
          if (!listsBlock(counts, indices, b, h, qb, kb))
            continue;
          int32_t &count = outCounts.at({b, h, kb});
          outIndices.at({b, h, kb, count}) = static_cast<int32_t>(qb);
          ++count;
        }
}

} // namespace

TransposedBlockLists transposeBlockMask(const BlockMask &mask) {
  TransposedBlockLists out;
  transposePair(mask.counts, mask.indices, out.counts, out.indices);
  if (mask.hasFull())
    transposePair(mask.fullCounts, mask.fullIndices, out.fullCounts,
                  out.fullIndices);
  return out;
}

BlockListing blockListing(const BlockMask &mask, int64_t batch, int64_t head,
                          int64_t query, int64_t key) {
  const int64_t queryBlock = query / mask.queryBlock;
  if (query < 0 || queryBlock >= mask.counts.dim(2))
    throw ReferenceError("blockListing: query " + std::to_string(query) +
                         " is outside the " + std::to_string(mask.counts.dim(2)) +
                         " query blocks of " + std::to_string(mask.queryBlock) +
                         " rows the lists cover");
  // A key outside the blocks must not match an out-of-range entry (one
  // equal to cdiv(M, Kb) names no block); entries outside [0, cdiv(M, Kb))
  // then never equal a key's block.
  const int64_t keyBlock = key / mask.keyBlock;
  if (key < 0 || keyBlock >= mask.indices.dim(3))
    return BlockListing::None;
  if (mask.hasFull() && listsBlock(mask.fullCounts, mask.fullIndices, batch,
                                   head, queryBlock, keyBlock))
    return BlockListing::Full;
  if (listsBlock(mask.counts, mask.indices, batch, head, queryBlock, keyBlock))
    return BlockListing::Partial;
  return BlockListing::None;
}

namespace {

/// A set of key blocks as flags, one per block.
using BlockSet = std::vector<bool>;

void shuffle(std::vector<int32_t> &values, Rng &rng) {
  for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i)
    std::swap(values[i], values[rng.uniformInt(0, i)]);
}

/// `size` of the blocks in `from`, drawn at random.
BlockSet drawSubset(const BlockSet &from, int64_t size, Rng &rng) {
  std::vector<int32_t> members;
  for (size_t block = 0; block < from.size(); ++block)
    if (from[block])
      members.push_back(static_cast<int32_t>(block));
  shuffle(members, rng);
  BlockSet subset(from.size(), false);
  for (int64_t e = 0; e < size; ++e)
    subset[members[e]] = true;
  return subset;
}

/// One pair of lists while it is drawn: a set per row, rows in the
/// counts' order.
struct DrawnLists {
  BlockListDims dims;
  int64_t queryBlocks = 0;
  std::vector<BlockSet> rows;

  BlockSet &row(int64_t b, int64_t h, int64_t qb) {
    return rows[(b * dims.heads + h) * queryBlocks + qb];
  }
};

/// The tensors of `lists`: each row its blocks in a random order, then the
/// blocks it does not list (in a random order too), so entries past the
/// count name real blocks a kernel must not visit.
void writeLists(const DrawnLists &lists, int64_t keyBlocks, Rng &rng,
                Tensor<int32_t> &counts, Tensor<int32_t> &indices) {
  counts = Tensor<int32_t>({lists.dims.batch, lists.dims.heads, lists.queryBlocks});
  indices = Tensor<int32_t>(
      {lists.dims.batch, lists.dims.heads, lists.queryBlocks, keyBlocks});
  for (size_t r = 0; r < lists.rows.size(); ++r) {
    std::vector<int32_t> listed, others;
    for (int32_t block = 0; block < keyBlocks; ++block)
      (lists.rows[r][block] ? listed : others).push_back(block);
    shuffle(listed, rng);
    shuffle(others, rng);
    counts.data()[r] = static_cast<int32_t>(listed.size());
    std::copy(listed.begin(), listed.end(), indices.data() + r * keyBlocks);
    std::copy(others.begin(), others.end(),
              indices.data() + r * keyBlocks + listed.size());
  }
}

/// Puts `id` (out of range) inside the count of the first row, from a
/// random one on, that lists a block and has a free entry; `skip` is the
/// query block that lists nothing.
void insertInsideCount(Tensor<int32_t> &counts, Tensor<int32_t> &indices,
                       int32_t id, int64_t skip, Rng &rng) {
  const int64_t rows = counts.size(), queryBlocks = counts.dim(2),
                keyBlocks = indices.dim(3);
  if (rows == 0)
    return;
  const int64_t start = rng.uniformInt(0, rows - 1);
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t r = (start + n) % rows;
    const int64_t count = counts.data()[r];
    if (r % queryBlocks == skip || count == 0 || count >= keyBlocks)
      continue;
    int32_t *row = indices.data() + r * keyBlocks;
    // Shift the listed entries from `at` on by one; the last entry past
    // the count (a block the row does not list) drops out.
    const int64_t at = rng.uniformInt(0, count);
    std::copy_backward(row + at, row + count, row + count + 1);
    row[at] = id;
    counts.data()[r] = static_cast<int32_t>(count + 1);
    return;
  }
}

/// Puts `id` (out of range) in the last entry of the first row, from a
/// random one on, whose count leaves entries free.
void placeAfterCount(const Tensor<int32_t> &counts, Tensor<int32_t> &indices,
                     int32_t id, Rng &rng) {
  const int64_t rows = counts.size(), keyBlocks = indices.dim(3);
  if (rows == 0)
    return;
  const int64_t start = rng.uniformInt(0, rows - 1);
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t r = (start + n) % rows;
    if (counts.data()[r] < keyBlocks) {
      indices.data()[r * keyBlocks + keyBlocks - 1] = id;
      return;
    }
  }
}

} // namespace

BlockMask drawBlockMask(BlockListDims partial,
                        std::optional<BlockListDims> full, int64_t queries,
                        int64_t keys, int64_t queryBlock, int64_t keyBlock,
                        uint64_t seed) {
  const int64_t batch = std::max(partial.batch, full ? full->batch : 1),
                heads = std::max(partial.heads, full ? full->heads : 1);
  for (const BlockListDims &dims : {partial, full.value_or(partial)})
    if ((dims.batch != 1 && dims.batch != batch) ||
        (dims.heads != 1 && dims.heads != heads) || dims.batch < 1 ||
        dims.heads < 1)
      throw ReferenceError("drawBlockMask: lists of [" +
                           std::to_string(partial.batch) + ", " +
                           std::to_string(partial.heads) + "] and [" +
                           std::to_string(full.value_or(partial).batch) + ", " +
                           std::to_string(full.value_or(partial).heads) +
                           "] do not broadcast to one [B, Hq]");
  if (queries < 0 || keys < 0 || queryBlock < 1 || keyBlock < 1)
    throw ReferenceError("drawBlockMask: N = " + std::to_string(queries) +
                         ", M = " + std::to_string(keys) + ", block [" +
                         std::to_string(queryBlock) + ", " +
                         std::to_string(keyBlock) + "]");
  const int64_t queryBlocks = blockCount(queries, queryBlock),
                keyBlocks = blockCount(keys, keyBlock);
  Rng rng(seed);
  // The query blocks that list nothing and every key block, the same in
  // every batch and head.
  int64_t emptyBlock = -1, everyBlock = -1;
  if (keyBlocks > 0 && queryBlocks >= 2) {
    emptyBlock = rng.uniformInt(0, queryBlocks - 1);
    everyBlock = rng.uniformInt(0, queryBlocks - 2);
    everyBlock += everyBlock >= emptyBlock;
  } else if (keyBlocks > 0 && queryBlocks == 1) {
    everyBlock = 0;
  }
  const BlockSet all(keyBlocks, true), none(keyBlocks, false);
  auto randomSize = [&](int64_t low, int64_t high) {
    return high < low ? int64_t(0) : rng.uniformInt(low, high);
  };

  DrawnLists fullLists{full.value_or(BlockListDims{}), queryBlocks, {}};
  if (full) {
    // A partial row broadcast over several full rows avoids the blocks of
    // all of them: smaller full rows leave it some.
    const int64_t fullRowsMet = (full->batch > partial.batch ? full->batch : 1) *
                                (full->heads > partial.heads ? full->heads : 1);
    const int64_t fullMost = blockCount(keyBlocks, fullRowsMet);
    // The every-block query block's full blocks are one set in every
    // batch and head, so that the partial rows, which must avoid the full
    // blocks of every (batch, head) they are broadcast to, can take the
    // rest. Some of each kind where there are two blocks or more.
    const BlockSet everyFull =
        drawSubset(all, keyBlocks >= 2 ? randomSize(1, keyBlocks - 1) : 0, rng);
    for (int64_t b = 0; b < full->batch; ++b)
      for (int64_t h = 0; h < full->heads; ++h)
        for (int64_t qb = 0; qb < queryBlocks; ++qb)
          fullLists.rows.push_back(
              qb == emptyBlock   ? none
              : qb == everyBlock ? everyFull
                                 : drawSubset(all, randomSize(0, fullMost), rng));
  }

  DrawnLists partialLists{partial, queryBlocks, {}};
  for (int64_t pb = 0; pb < partial.batch; ++pb)
    for (int64_t ph = 0; ph < partial.heads; ++ph)
      for (int64_t qb = 0; qb < queryBlocks; ++qb) {
        // Free: the blocks no full row this row meets lists.
        BlockSet free = all;
        for (int64_t b = 0; b < batch && full; ++b)
          for (int64_t h = 0; h < heads; ++h) {
            if (std::min(b, partial.batch - 1) != pb ||
                std::min(h, partial.heads - 1) != ph)
              continue;
            const BlockSet &taken = fullLists.row(
                std::min(b, full->batch - 1), std::min(h, full->heads - 1), qb);
            for (int64_t block = 0; block < keyBlocks; ++block)
              free[block] = free[block] && !taken[block];
          }
        const int64_t freeCount = std::count(free.begin(), free.end(), true);
        partialLists.rows.push_back(
            qb == emptyBlock   ? none
            : qb == everyBlock ? free
                               : drawSubset(free, randomSize(0, freeCount), rng));
      }

  BlockMask mask;
  mask.queryBlock = queryBlock;
  mask.keyBlock = keyBlock;
  writeLists(partialLists, keyBlocks, rng, mask.counts, mask.indices);
  if (full)
    writeLists(fullLists, keyBlocks, rng, mask.fullCounts, mask.fullIndices);
  // Out-of-range entries: past the end inside a partial count and before
  // the start inside a full one (both name no block), and the other way
  // round after a count (never read).
  const int32_t pastEnd = static_cast<int32_t>(keyBlocks);
  if (keyBlocks > 0) {
    insertInsideCount(mask.counts, mask.indices, pastEnd, emptyBlock, rng);
    placeAfterCount(mask.counts, mask.indices, -1, rng);
    if (full) {
      insertInsideCount(mask.fullCounts, mask.fullIndices, -1, emptyBlock, rng);
      placeAfterCount(mask.fullCounts, mask.fullIndices, pastEnd, rng);
    }
  }
  return mask;
}

BlockMask drawBlockMask(int64_t batch, int64_t heads, int64_t queries,
                        int64_t keys, int64_t queryBlock, int64_t keyBlock,
                        uint64_t seed, bool withFull) {
  const BlockListDims dims{batch, heads};
  return drawBlockMask(dims, withFull ? std::optional<BlockListDims>(dims)
                                      : std::nullopt,
                       queries, keys, queryBlock, keyBlock, seed);
}

} // namespace flashgen::reference
