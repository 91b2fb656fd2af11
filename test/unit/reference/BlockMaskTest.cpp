//===- BlockMaskTest.cpp - block-sparse masks of the reference ------------===//
//
// The reference under a block mask (reference/BlockMask.h, docs/semantics.md
// §2.10) against a dense mask built here from the lists by scattering each
// listed block's rectangle (not through the library's lookup): full blocks
// skip mask_mod, partial blocks apply it, unlisted blocks are hidden, lists
// of one batch or head broadcast, out-of-range entries name no block,
// counts are clamped, a query block listing nothing gives zero rows with
// lse -inf, and mask kinds still apply. Then what drawBlockMask draws: its
// edge cases, and no block listed twice for any (batch, head).
//
//===----------------------------------------------------------------------===//

#include "reference/Attention.h"
#include "reference/AttentionGrad.h"
#include "reference/BlockMask.h"

#include "TestHelpers.h"
#include "reference/Inputs.h"
#include "reference/ReferenceError.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

using namespace flashgen::reference;
using flashgen::reference::testing::testVisible;

namespace {

const double kInf = INFINITY;

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Dense [B, Hq, N, M] flags of the blocks the lists name, written by
/// visiting every listed entry and marking its rectangle of rows and keys.
struct DenseBlocks {
  int64_t batch, heads, queries, keys;
  std::vector<char> full, partial;

  char &at(std::vector<char> &flags, int64_t b, int64_t h, int64_t i, int64_t j) {
    return flags[((b * heads + h) * queries + i) * keys + j];
  }
};

void scatterLists(DenseBlocks &dense, std::vector<char> &flags,
                  const Tensor<int32_t> &counts, const Tensor<int32_t> &indices,
                  int64_t qb, int64_t kb) {
  const int64_t queryBlocks = cdiv(dense.queries, qb),
                keyBlocks = cdiv(dense.keys, kb);
  for (int64_t b = 0; b < dense.batch; ++b)
    for (int64_t h = 0; h < dense.heads; ++h)
      for (int64_t row = 0; row < queryBlocks; ++row) {
        // A list of one batch (head) serves every batch (head).
        const int64_t lb = counts.dim(0) == 1 ? 0 : b,
                      lh = counts.dim(1) == 1 ? 0 : h;
        const int64_t count = std::min<int64_t>(
            std::max<int64_t>(counts.at({lb, lh, row}), 0), keyBlocks);
        for (int64_t e = 0; e < count; ++e) {
          const int64_t block = indices.at({lb, lh, row, e});
          if (block < 0 || block >= keyBlocks)
            continue;
          for (int64_t i = row * qb; i < std::min((row + 1) * qb, dense.queries); ++i)
            for (int64_t j = block * kb; j < std::min((block + 1) * kb, dense.keys); ++j)
              dense.at(flags, b, h, i, j) = 1;
        }
      }
}

DenseBlocks denseBlocks(const BlockMask &mask, int64_t batch, int64_t heads,
                        int64_t queries, int64_t keys) {
  DenseBlocks dense{batch, heads, queries, keys, {}, {}};
  dense.full.assign(batch * heads * queries * keys, 0);
  dense.partial = dense.full;
  scatterLists(dense, dense.partial, mask.counts, mask.indices, mask.queryBlock,
               mask.keyBlock);
  if (!mask.fullCounts.empty())
    scatterLists(dense, dense.full, mask.fullCounts, mask.fullIndices,
                 mask.queryBlock, mask.keyBlock);
  return dense;
}

/// The same problem without the block mask, its visibility a dense
/// mask_mod: (full or (partial and mask_mod)) and the mask kind.
AttentionProblem denseProblem(const AttentionProblem &blocked,
                              const Shape &q, const Shape &k) {
  auto dense = std::make_shared<DenseBlocks>(
      denseBlocks(*blocked.blockMask, q[0], q[1], q[2], k[2]));
  AttentionProblem problem = blocked;
  problem.blockMask.reset();
  problem.mask = MaskKind::None;
  problem.window = 0;
  problem.maskMod = [dense, blocked](int64_t b, int64_t h, int64_t i, int64_t j) {
    const bool listed =
        dense->at(dense->full, b, h, i, j) ||
        (dense->at(dense->partial, b, h, i, j) &&
         (!blocked.maskMod || blocked.maskMod(b, h, i, j)));
    return listed && testVisible(blocked.mask, blocked.window,
                                dense->queries, dense->keys, i, j);
  };
  return problem;
}

AttentionInputs inputs(int64_t batch, int64_t hq, int64_t hkv, int64_t n,
                       int64_t m, uint64_t seed) {
  AttentionInputSpec spec;
  spec.batch = batch;
  spec.queryHeads = hq;
  spec.kvHeads = hkv;
  spec.queries = n;
  spec.keys = m;
  spec.headDim = 8;
  spec.valueDim = 6;
  spec.seed = seed;
  return generateAttentionInputs(spec);
}

/// The reference with the block mask equals the reference with the dense
/// mask, bit for bit (the same keys in the same order), and isKeyVisible
/// agrees with the dense mask everywhere.
void expectMatchesDense(const AttentionProblem &problem, const AttentionInputs &in) {
  AttentionProblem dense = denseProblem(problem, in.q.shape(), in.k.shape());
  const AttentionShape shape =
      attentionShape(problem, in.q.shape(), in.k.shape(), in.v.shape());
  int64_t visible = 0, hidden = 0;
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.queryHeads; ++h)
      for (int64_t i = 0; i < shape.queries; ++i)
        for (int64_t j = 0; j < shape.keys; ++j) {
          const bool want = dense.maskMod(b, h, i, j);
          ASSERT_EQ(isKeyVisible(problem, shape, b, h, i, j), want)
              << "b " << b << " h " << h << " i " << i << " j " << j;
          (want ? visible : hidden) += 1;
        }
  EXPECT_GT(visible, 0) << "a case where nothing is visible tests little";
  EXPECT_GT(hidden, 0);
  AttentionResult got = referenceAttention(problem, in.q, in.k, in.v);
  AttentionResult want = referenceAttention(dense, in.q, in.k, in.v);
  EXPECT_EQ(got.out.values(), want.out.values());
  EXPECT_EQ(got.logSumExp.values(), want.logSumExp.values());
}

/// One query block's lists of a [1, 1] mask: counts and entries.
BlockMask handMask(int64_t qb, int64_t kb, std::vector<int32_t> counts,
                   std::vector<int32_t> indices, int64_t keyBlocks) {
  BlockMask mask;
  mask.queryBlock = qb;
  mask.keyBlock = kb;
  const int64_t rows = static_cast<int64_t>(counts.size());
  mask.counts = Tensor<int32_t>({1, 1, rows}, std::move(counts));
  mask.indices = Tensor<int32_t>({1, 1, rows, keyBlocks}, std::move(indices));
  return mask;
}

TEST(BlockMaskTest, FullBlocksSkipMaskModPartialBlocksApplyIt) {
  // N = 8 in 2 query blocks of 4, M = 12 in 3 key blocks of 4.
  AttentionProblem problem;
  problem.blockMask = handMask(4, 4, {1, 2}, {2, 0, 1, /**/ 0, 2, 1}, 3);
  problem.blockMask->fullCounts = Tensor<int32_t>({1, 1, 2}, {1, 0});
  problem.blockMask->fullIndices = Tensor<int32_t>({1, 1, 2, 3}, {1, 2, 0, /**/ 1, 0, 2});
  std::set<std::pair<int64_t, int64_t>> evaluated;
  // Keeps the even keys; records where it was asked.
  problem.maskMod = [&evaluated](int64_t, int64_t, int64_t i, int64_t j) {
    evaluated.insert({i, j});
    return j % 2 == 0;
  };
  const Shape q{1, 1, 8, 8}, k{1, 1, 12, 8};
  const AttentionShape shape = attentionShape(problem, q, k, {1, 1, 12, 8});
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 12; ++j) {
      const int64_t kb = j / 4;
      bool want = false;
      if (i < 4) // full {1}, partial {2}
        want = kb == 1 || (kb == 2 && j % 2 == 0);
      else // partial {0, 2}
        want = (kb == 0 || kb == 2) && j % 2 == 0;
      EXPECT_EQ(isKeyVisible(problem, shape, 0, 0, i, j), want) << i << ", " << j;
    }
  for (auto [i, j] : evaluated) {
    EXPECT_FALSE(i < 4 && j / 4 == 1) << "mask_mod asked in a full block at "
                                      << i << ", " << j;
    EXPECT_FALSE(i < 4 && j / 4 == 0) << "mask_mod asked in an unlisted block";
  }
  EXPECT_TRUE(evaluated.count({0, 8})) << "partial blocks ask mask_mod";
  expectMatchesDense(problem, inputs(1, 1, 1, 8, 12, 1));
}

TEST(BlockMaskTest, ListsOfOneHeadBroadcastOverQueryHeads) {
  // Hq = 4 over Hkv = 2; the lists have one head and the full ones also
  // one batch.
  const int64_t batch = 2, hq = 4, n = 37, m = 53;
  AttentionProblem problem;
  problem.blockMask = drawBlockMask(BlockListDims{batch, 1}, BlockListDims{1, 1},
                                    n, m, 8, 16, /*seed=*/5);
  ASSERT_EQ(problem.blockMask->counts.shape(), (Shape{batch, 1, cdiv(n, 8)}));
  ASSERT_EQ(problem.blockMask->fullIndices.shape(), (Shape{1, 1, cdiv(n, 8), cdiv(m, 16)}));
  problem.maskMod = [](int64_t b, int64_t h, int64_t i, int64_t j) {
    return (i + 2 * j + b + h) % 3 != 0;
  };
  AttentionInputs in = inputs(batch, hq, 2, n, m, 2);
  expectMatchesDense(problem, in);
  // Every query head of a sequence sees the same blocks.
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        for (int64_t h = 1; h < hq; ++h)
          ASSERT_EQ(blockListing(*problem.blockMask, b, h, i, j),
                    blockListing(*problem.blockMask, b, 0, i, j));
}

TEST(BlockMaskTest, OutOfRangeEntriesNameNoBlock) {
  // 1 query block, 4 key blocks of 4 (M = 14: the last one partly).
  // Inside the count: -1, 3, 4 (past the end); after it: 0, 1, 2.
  AttentionProblem problem;
  problem.blockMask = handMask(16, 4, {3}, {-1, 3, 4, 0}, 4);
  const Shape q{1, 1, 5, 8}, k{1, 1, 14, 8};
  const AttentionShape shape = attentionShape(problem, q, k, {1, 1, 14, 8});
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 14; ++j)
      EXPECT_EQ(isKeyVisible(problem, shape, 0, 0, i, j), j >= 12) << i << ", " << j;
  EXPECT_EQ(blockListing(*problem.blockMask, 0, 0, 0, 15), BlockListing::Partial)
      << "key 15 is in block 3, past M: isKeyVisible hides it, not the lists";
  EXPECT_EQ(blockListing(*problem.blockMask, 0, 0, 0, 16), BlockListing::None)
      << "key 16 is in block 4, which no entry names";
  EXPECT_EQ(blockListing(*problem.blockMask, 0, 0, 0, -1), BlockListing::None);
  expectMatchesDense(problem, inputs(1, 1, 1, 5, 14, 3));
}

TEST(BlockMaskTest, CountsAreClampedIntoTheRow) {
  // 3 query blocks of 2 rows, 3 key blocks of 2 keys: counts past the
  // row read the whole row, negative counts nothing.
  AttentionProblem problem;
  problem.blockMask = handMask(2, 2, {7, -3, 1},
                               {2, 0, 1, /**/ 0, 1, 2, /**/ 1, 0, 2}, 3);
  const Shape q{1, 1, 6, 4}, k{1, 1, 6, 4};
  const AttentionShape shape = attentionShape(problem, q, k, {1, 1, 6, 4});
  for (int64_t j = 0; j < 6; ++j) {
    EXPECT_TRUE(isKeyVisible(problem, shape, 0, 0, 1, j)) << j;
    EXPECT_FALSE(isKeyVisible(problem, shape, 0, 0, 2, j)) << j;
    EXPECT_EQ(isKeyVisible(problem, shape, 0, 0, 5, j), j / 2 == 1) << j;
  }
  expectMatchesDense(problem, inputs(1, 1, 1, 6, 6, 4));
}

TEST(BlockMaskTest, QueryBlockListingNothingGivesZeroRowsAndLseMinusInf) {
  AttentionProblem problem;
  // Query block 1 (rows 4..6) lists nothing; its entries past the count
  // name every block.
  problem.blockMask = handMask(4, 4, {2, 0}, {1, 0, /**/ 0, 1}, 2);
  problem.blockMask->fullCounts = Tensor<int32_t>({1, 1, 2}, {0, 0});
  problem.blockMask->fullIndices = Tensor<int32_t>({1, 1, 2, 2}, {0, 1, 1, 0});
  AttentionInputs in = inputs(1, 2, 1, 7, 8, 5);
  AttentionResult result = referenceAttention(problem, in.q, in.k, in.v);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 7; ++i) {
      if (i < 4) {
        EXPECT_TRUE(std::isfinite(result.logSumExp.at({0, h, i})));
        continue;
      }
      EXPECT_EQ(result.logSumExp.at({0, h, i}), -kInf) << "row " << i;
      for (int64_t c = 0; c < 6; ++c)
        EXPECT_EQ(result.out.at({0, h, i, c}), 0.0) << "row " << i;
    }
  expectMatchesDense(problem, in);
}

TEST(BlockMaskTest, MaskKindsStillApply) {
  // Causal and sliding-window masks with drawn lists, ragged sizes (N, M
  // not multiples of the blocks; N < M and N > M) and a mask_mod.
  struct Case {
    MaskKind kind;
    int64_t window, n, m, qb, kb;
  };
  for (const Case &c : {Case{MaskKind::Causal, 0, 45, 45, 16, 16},
                        Case{MaskKind::Causal, 0, 29, 70, 8, 16},
                        Case{MaskKind::Causal, 0, 70, 33, 16, 8},
                        Case{MaskKind::SlidingWindow, 20, 50, 61, 16, 4},
                        Case{MaskKind::None, 0, 33, 47, 4, 16}})
    for (uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(::testing::Message() << maskKindName(c.kind) << " N " << c.n
                                        << " M " << c.m << " seed " << seed);
      AttentionProblem problem;
      problem.mask = c.kind;
      problem.window = c.window;
      problem.blockMask = drawBlockMask(2, 3, c.n, c.m, c.qb, c.kb, seed,
                                        /*withFull=*/seed != 3);
      problem.maskMod = [](int64_t, int64_t h, int64_t i, int64_t j) {
        return (i * 7 + j * 3 + h) % 5 != 0;
      };
      expectMatchesDense(problem, inputs(2, 3, 1, c.n, c.m, seed));
    }
}

TEST(BlockMaskTest, GradientsSeeTheSameKeys) {
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  problem.blockMask = drawBlockMask(1, 2, 40, 40, 8, 8, /*seed=*/9, true);
  problem.maskMod = [](int64_t, int64_t, int64_t i, int64_t j) {
    return (i + j) % 4 != 1;
  };
  AttentionInputSpec spec;
  spec.batch = 1;
  spec.queryHeads = 2;
  spec.queries = spec.keys = 40;
  spec.headDim = spec.valueDim = 8;
  spec.outputGradient = true;
  AttentionInputs in = generateAttentionInputs(spec);
  AttentionProblem dense = denseProblem(problem, in.q.shape(), in.k.shape());
  AttentionGradResult got = referenceAttentionGrad(problem, {}, in.q, in.k, in.v, in.dout);
  AttentionGradResult want = referenceAttentionGrad(dense, {}, in.q, in.k, in.v, in.dout);
  EXPECT_EQ(got.dq.values(), want.dq.values());
  EXPECT_EQ(got.dk.values(), want.dk.values());
  EXPECT_EQ(got.dv.values(), want.dv.values());
}

TEST(BlockMaskTest, MalformedListsNameTheList) {
  AttentionProblem problem;
  problem.blockMask = handMask(4, 4, {1, 1}, {0, 1, 0, 1}, 2);
  const Shape q{1, 2, 8, 4}, k{1, 2, 8, 4};
  EXPECT_FALSE(validateAttention(problem, q, k, k));
  auto message = [&](const Shape &queries, const Shape &keys) {
    return validateAttention(problem, queries, keys, keys).value_or("");
  };
  EXPECT_NE(message({1, 2, 9, 4}, k).find("'kv_num_blocks'"), std::string::npos)
      << "9 rows are 3 query blocks";
  EXPECT_NE(message(q, {1, 2, 12, 4}).find("'kv_indices'"), std::string::npos)
      << "12 keys are 3 key blocks";
  problem.blockMask->counts = Tensor<int32_t>({1, 3, 2}, {1, 1, 1, 1, 1, 1});
  EXPECT_NE(message(q, k).find("'kv_num_blocks'"), std::string::npos)
      << "3 heads are neither Hq nor 1";
  problem.blockMask->counts = Tensor<int32_t>({1, 1, 2}, {1, 1});
  problem.blockMask->fullCounts = problem.blockMask->counts;
  EXPECT_NE(message(q, k).find("together"), std::string::npos);
  problem.blockMask->fullIndices = Tensor<int32_t>({2, 1, 2, 2});
  EXPECT_NE(message(q, k).find("'full_kv_indices'"), std::string::npos);
  problem.blockMask->fullCounts = Tensor<int32_t>();
  problem.blockMask->fullIndices = Tensor<int32_t>();
  problem.blockMask->keyBlock = 0;
  EXPECT_NE(message(q, k).find("block sizes"), std::string::npos);
  Tensor<double> t({1, 2, 8, 4});
  EXPECT_THROW(referenceAttention(problem, t, t, t), ReferenceError);
}

/// The blocks row (b, h, qb) of a pair of lists names, in range, within
/// the count.
std::vector<int32_t> listed(const Tensor<int32_t> &counts,
                            const Tensor<int32_t> &indices, int64_t b, int64_t h,
                            int64_t qb) {
  const int64_t lb = counts.dim(0) == 1 ? 0 : b, lh = counts.dim(1) == 1 ? 0 : h;
  std::vector<int32_t> blocks;
  for (int64_t e = 0; e < counts.at({lb, lh, qb}); ++e) {
    const int32_t block = indices.at({lb, lh, qb, e});
    if (block >= 0 && block < indices.dim(3))
      blocks.push_back(block);
  }
  return blocks;
}

/// drawBlockMask's promises, for lists broadcast to [batch, heads].
void expectDrawnEdgeCases(const BlockMask &mask, int64_t batch, int64_t heads,
                          int64_t n, int64_t m) {
  const int64_t queryBlocks = cdiv(n, mask.queryBlock),
                keyBlocks = cdiv(m, mask.keyBlock);
  ASSERT_FALSE(validateBlockMask(mask, batch, heads, n, m));
  std::vector<const Tensor<int32_t> *> counts{&mask.counts}, indices{&mask.indices};
  if (mask.hasFull()) {
    counts.push_back(&mask.fullCounts);
    indices.push_back(&mask.fullIndices);
  }
  for (size_t l = 0; l < counts.size(); ++l) {
    bool insideOutOfRange = false, afterOutOfRange = false;
    for (int64_t r = 0; r < counts[l]->size(); ++r) {
      const int32_t count = counts[l]->data()[r];
      ASSERT_GE(count, 0);
      ASSERT_LE(count, keyBlocks);
      std::set<int32_t> seen;
      for (int64_t e = 0; e < keyBlocks; ++e) {
        const int32_t block = indices[l]->data()[r * keyBlocks + e];
        const bool inRange = block >= 0 && block < keyBlocks;
        (e < count ? insideOutOfRange : afterOutOfRange) |= !inRange;
        if (inRange)
          EXPECT_TRUE(seen.insert(block).second) << "list " << l << " row " << r;
      }
    }
    EXPECT_TRUE(insideOutOfRange) << "list " << l << ": an entry that names no block";
    EXPECT_TRUE(afterOutOfRange) << "list " << l << ": an entry that must not be read";
  }
  bool someEmpty = false, someEvery = false, fullAndPartial = false;
  for (int64_t qb = 0; qb < queryBlocks; ++qb) {
    bool empty = true, every = true;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<int32_t> blocks = listed(mask.counts, mask.indices, b, h, qb);
        const size_t partialCount = blocks.size();
        if (mask.hasFull()) {
          std::vector<int32_t> full = listed(mask.fullCounts, mask.fullIndices, b, h, qb);
          fullAndPartial |= !full.empty() && partialCount > 0;
          blocks.insert(blocks.end(), full.begin(), full.end());
        }
        std::set<int32_t> unique(blocks.begin(), blocks.end());
        EXPECT_EQ(unique.size(), blocks.size())
            << "a block listed twice at b " << b << " h " << h << " qb " << qb;
        empty &= blocks.empty();
        every &= static_cast<int64_t>(unique.size()) == keyBlocks;
      }
    someEmpty |= empty;
    someEvery |= every;
  }
  EXPECT_TRUE(someEmpty) << "a query block lists nothing";
  EXPECT_TRUE(someEvery) << "a query block lists every key block";
  if (mask.hasFull())
    EXPECT_TRUE(fullAndPartial) << "rows with full and partial blocks";
}

TEST(BlockMaskTest, DrawnListsHoldTheEdgeCases) {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    BlockMask both = drawBlockMask(2, 4, 300, 300, 64, 32, seed, true);
    EXPECT_EQ(both.counts.shape(), (Shape{2, 4, 5}));
    EXPECT_EQ(both.indices.shape(), (Shape{2, 4, 5, 10}));
    EXPECT_EQ(both.fullIndices.shape(), (Shape{2, 4, 5, 10}));
    expectDrawnEdgeCases(both, 2, 4, 300, 300);
    BlockMask partialOnly = drawBlockMask(2, 1, 100, 250, 16, 64, seed, false);
    EXPECT_FALSE(partialOnly.hasFull());
    EXPECT_EQ(partialOnly.indices.shape(), (Shape{2, 1, 7, 4}));
    expectDrawnEdgeCases(partialOnly, 2, 8, 100, 250);
    // Pairs broadcast differently: no block twice where they meet.
    expectDrawnEdgeCases(drawBlockMask(BlockListDims{1, 4}, BlockListDims{3, 1},
                                       90, 130, 16, 16, seed),
                         3, 4, 90, 130);
    expectDrawnEdgeCases(drawBlockMask(BlockListDims{1, 1}, BlockListDims{2, 3},
                                       90, 130, 16, 16, seed),
                         2, 3, 90, 130);
  }
  BlockMask a = drawBlockMask(2, 2, 70, 90, 16, 16, 7, true),
            b = drawBlockMask(2, 2, 70, 90, 16, 16, 7, true),
            c = drawBlockMask(2, 2, 70, 90, 16, 16, 8, true);
  EXPECT_EQ(a.indices.values(), b.indices.values()) << "one seed, one draw";
  EXPECT_EQ(a.fullCounts.values(), b.fullCounts.values());
  EXPECT_NE(a.indices.values(), c.indices.values());
}

// The transposed lists (what the gradient's kv kernel walks) name, per key
// block, exactly the query blocks whose list names it, ascending, each pair
// from its own pair (checked through blockListing, not the transposer's
// loop), -1 past each count.
TEST(BlockMaskTest, TransposedListsNameTheSameBlocks) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    BlockMask mask = drawBlockMask(BlockListDims{2, 1}, BlockListDims{1, 3},
                                   200, 330, 32, 64, seed);
    TransposedBlockLists t = transposeBlockMask(mask);
    const int64_t queryBlocks = 7, keyBlocks = 6;
    ASSERT_EQ(t.counts.shape(), (Shape{2, 1, keyBlocks}));
    ASSERT_EQ(t.indices.shape(), (Shape{2, 1, keyBlocks, queryBlocks}));
    ASSERT_EQ(t.fullCounts.shape(), (Shape{1, 3, keyBlocks}));
    ASSERT_EQ(t.fullIndices.shape(), (Shape{1, 3, keyBlocks, queryBlocks}));
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t kb = 0; kb < keyBlocks; ++kb) {
          // What the lists say of each query block (full wins: the drawn
          // lists never name a block in both).
          std::vector<int32_t> partial, full;
          for (int64_t qb = 0; qb < queryBlocks; ++qb) {
            BlockListing l = blockListing(mask, b, h, qb * 32, kb * 64);
            if (l == BlockListing::Partial) partial.push_back(int32_t(qb));
            if (l == BlockListing::Full) full.push_back(int32_t(qb));
          }
          auto row = [&](const Tensor<int32_t> &counts, const Tensor<int32_t> &indices) {
            const int64_t rb = std::min<int64_t>(b, counts.dim(0) - 1),
                          rh = std::min<int64_t>(h, counts.dim(1) - 1);
            const int32_t n = counts.at({rb, rh, kb});
            std::vector<int32_t> listed, after;
            for (int64_t s = 0; s < queryBlocks; ++s)
              (s < n ? listed : after).push_back(indices.at({rb, rh, kb, s}));
            EXPECT_TRUE(std::all_of(after.begin(), after.end(),
                                    [](int32_t x) { return x == -1; }));
            return listed;
          };
          EXPECT_EQ(row(t.counts, t.indices), partial) << b << " " << h << " " << kb;
          EXPECT_EQ(row(t.fullCounts, t.fullIndices), full) << b << " " << h << " " << kb;
        }
  }
  BlockMask partialOnly = drawBlockMask(1, 2, 100, 100, 16, 16, 5, false);
  EXPECT_TRUE(transposeBlockMask(partialOnly).fullCounts.empty());
}

TEST(BlockMaskTest, DrawnListsAtDegenerateSizes) {
  // No keys: rows of no entries. One query block: it lists every block.
  BlockMask noKeys = drawBlockMask(1, 1, 20, 0, 16, 16, 1, true);
  EXPECT_EQ(noKeys.indices.shape(), (Shape{1, 1, 2, 0}));
  EXPECT_EQ(noKeys.counts.values(), (std::vector<int32_t>{0, 0}));
  BlockMask oneRow = drawBlockMask(1, 1, 10, 64, 16, 16, 1, false);
  EXPECT_EQ(oneRow.counts.values(), (std::vector<int32_t>{4}));
  EXPECT_EQ(drawBlockMask(1, 1, 0, 64, 16, 16, 1, true).counts.size(), 0);
  EXPECT_THROW(drawBlockMask(BlockListDims{2, 1}, BlockListDims{3, 1}, 8, 8, 4, 4, 1),
               ReferenceError);
}

} // namespace
