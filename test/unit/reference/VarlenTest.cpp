//===- VarlenTest.cpp - packed variable-length batches of the reference ---===//
//
// What the GPU cases of packed sequences are drawn from (reference/Varlen.h)
// and the reference's per-sequence lengths: offsets are running sums, rows
// and row statistics pack in order, the drawn lengths hold the edge cases,
// and attention with lengths equals attention of each sequence alone with
// its own bottom-right alignment (computed here from sliced tensors).
//
//===----------------------------------------------------------------------===//

#include "reference/Attention.h"
#include "reference/ReferenceError.h"
#include "reference/Varlen.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace flashgen::reference;

namespace {

Tensor<double> indexed(Shape shape, double base) {
  Tensor<double> t(shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t.data()[i] = base + double(i);
  return t;
}

TEST(VarlenTest, OffsetsAreRunningSums) {
  Tensor<double> offsets = sequenceOffsets({3, 0, 5});
  EXPECT_EQ(offsets.values(), (std::vector<double>{0, 3, 3, 8}));
}

TEST(VarlenTest, RowsPackInSequenceOrder) {
  Tensor<double> x = indexed({2, 3, 4, 2}, 0.0); // [B, H, N, D]
  Tensor<double> packed = packRows(x, {2, 3});
  ASSERT_EQ(packed.shape(), (Shape{5, 3, 2}));
  // Packed row 3 is sequence 1's row 1; head 2, column 1.
  EXPECT_EQ(packed.at({3, 2, 1}), x.at({1, 2, 1, 1}));
  EXPECT_EQ(packed.at({1, 0, 0}), x.at({0, 0, 1, 0}));
  Tensor<double> lse = indexed({2, 3, 4}, 100.0);
  Tensor<double> stats = packRowStatistics(lse, {2, 3});
  ASSERT_EQ(stats.shape(), (Shape{3, 5}));
  EXPECT_EQ(stats.at({2, 4}), lse.at({1, 2, 2}));
  EXPECT_THROW(packRows(x, {5, 1}), ReferenceError) << "a length past N";
  EXPECT_THROW(packRows(x, {1}), ReferenceError) << "one length per sequence";
}

TEST(VarlenTest, DrawnLengthsHoldTheEdgeCases) {
  std::vector<int64_t> lengths = drawSequenceLengths(6, 300, /*seed=*/3);
  ASSERT_EQ(lengths.size(), 6u);
  EXPECT_EQ(lengths[0], 0) << "an empty sequence";
  EXPECT_EQ(lengths[1], 1) << "a one-row sequence";
  EXPECT_EQ(lengths[5], 300) << "the longest last";
  for (int64_t n : lengths) {
    EXPECT_GE(n, 0);
    EXPECT_LE(n, 300);
  }
  EXPECT_EQ(drawSequenceLengths(2, 7, 3), drawSequenceLengths(2, 7, 3));
}

/// Sequence b of x [B, H, N, D], its first n rows, as a batch of one.
Tensor<double> slice(const Tensor<double> &x, int64_t b, int64_t n) {
  const int64_t h = x.dim(1), rows = x.dim(2), d = x.dim(3);
  Tensor<double> out({1, h, n, d});
  for (int64_t head = 0; head < h; ++head)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < d; ++c)
        out.at({0, head, i, c}) = x.data()[((b * h + head) * rows + i) * d + c];
  return out;
}

TEST(VarlenTest, LengthsAlignEachSequenceOnItsOwn) {
  const int64_t batch = 3, hq = 4, hkv = 2, n = 9, m = 12, d = 8;
  Tensor<double> q({batch, hq, n, d}), k({batch, hkv, m, d}), v({batch, hkv, m, d});
  for (Tensor<double> *t : {&q, &k, &v})
    for (int64_t i = 0; i < t->size(); ++i)
      t->data()[i] = std::sin(0.37 * double(i) + double(t->size()));
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  problem.queryLengths = {0, 5, 9};
  problem.keyLengths = {4, 3, 12};
  AttentionResult packed = referenceAttention(problem, q, k, v);
  for (int64_t b = 0; b < batch; ++b) {
    AttentionProblem alone;
    alone.mask = MaskKind::Causal;
    const int64_t nb = problem.queryLengths[b], mb = problem.keyLengths[b];
    if (nb == 0)
      continue;
    AttentionResult want =
        referenceAttention(alone, slice(q, b, nb), slice(k, b, mb), slice(v, b, mb));
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < nb; ++i) {
        EXPECT_EQ(packed.logSumExp.at({b, h, i}), want.logSumExp.at({0, h, i}))
            << "sequence " << b << " head " << h << " row " << i;
        for (int64_t c = 0; c < d; ++c)
          EXPECT_DOUBLE_EQ(packed.out.at({b, h, i, c}), want.out.at({0, h, i, c}));
      }
  }
  // Sequence 1 has 5 queries over 3 keys: its first two rows see none.
  EXPECT_EQ(packed.logSumExp.at({1, 0, 1}), -INFINITY);
  EXPECT_EQ(packed.out.at({1, 0, 1, 0}), 0.0);
  // Rows past a sequence's length are left as rows without keys.
  EXPECT_EQ(packed.logSumExp.at({0, 0, 0}), -INFINITY);
  EXPECT_EQ(packed.out.at({1, 0, 7, 3}), 0.0);
}

} // namespace
