//===- PagedKvTest.cpp - paged caches of the reference --------------------===//
//
// The pools and tables the GPU cases draw (reference/PagedKv.h): a table
// that names every page of every sequence once, in a drawn order, gathers
// back to the caches; spare pages are not the caches' values; ids out of
// the pool read its first and last pages.
//
//===----------------------------------------------------------------------===//

#include "reference/PagedKv.h"
#include "reference/ReferenceError.h"

#include <gtest/gtest.h>

#include <set>

using namespace flashgen::reference;

namespace {

/// A [B, H, M, D] tensor whose element is a function of its index, so a
/// misplaced row shows.
Tensor<double> indexed(int64_t b, int64_t h, int64_t m, int64_t d, double base) {
  Tensor<double> t({b, h, m, d});
  for (int64_t i = 0; i < t.size(); ++i)
    t.data()[i] = base + double(i);
  return t;
}

TEST(PagedKvTest, TableNamesEachPageOnceAndGathersBack) {
  Tensor<double> k = indexed(3, 2, 48, 8, 1.0), v = indexed(3, 2, 48, 4, 1e5);
  PagedCache cache = pageCaches(k, v, 16, /*seed=*/7, /*outOfRangeIds=*/false);
  ASSERT_EQ(cache.kPool.shape(), (Shape{3 * 3 + 4, 16, 2, 8}));
  ASSERT_EQ(cache.vPool.shape(), (Shape{3 * 3 + 4, 16, 2, 4}));
  ASSERT_EQ(cache.table.shape(), (Shape{3, 3}));
  std::set<double> ids(cache.table.values().begin(), cache.table.values().end());
  EXPECT_EQ(ids.size(), 9u) << "every (sequence, page) has its own page";
  EXPECT_GE(*ids.begin(), 0);
  EXPECT_LT(*ids.rbegin(), 13);
  bool identity = true;
  for (int64_t i = 0; i < 9; ++i)
    identity &= cache.table.data()[i] == double(i);
  EXPECT_FALSE(identity) << "pages are drawn in a random order";
  EXPECT_EQ(gatherPages(cache.kPool, cache.table).values(), k.values());
  EXPECT_EQ(gatherPages(cache.vPool, cache.table).values(), v.values());
}

TEST(PagedKvTest, SparePagesHoldOtherValues) {
  Tensor<double> k = indexed(2, 1, 8, 8, 1.0), v = indexed(2, 1, 8, 8, 1.0);
  PagedCache cache = pageCaches(k, v, 8, 3, false);
  std::set<double> used(cache.table.values().begin(), cache.table.values().end());
  for (int64_t page = 0; page < cache.kPool.dim(0); ++page) {
    if (used.count(double(page)))
      continue;
    const double first = cache.kPool.data()[page * 8 * 8];
    EXPECT_LT(first, 0) << "spare page " << page << " holds negated values";
  }
}

TEST(PagedKvTest, OutOfRangeIdsReadTheNearestPage) {
  Tensor<double> k = indexed(2, 1, 32, 8, 1.0), v = indexed(2, 1, 32, 8, 1.0);
  PagedCache cache = pageCaches(k, v, 16, 11, /*outOfRangeIds=*/true);
  const int64_t pages = cache.kPool.dim(0);
  EXPECT_LT(cache.table.data()[1], 0);
  EXPECT_GE(cache.table.data()[3], pages);
  Tensor<double> view = gatherPages(cache.kPool, cache.table);
  // Sequence 0's second page reads page 0, sequence 1's the last page.
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 0; c < 8; ++c) {
      EXPECT_EQ(view.data()[(16 + r) * 8 + c], cache.kPool.data()[r * 8 + c]);
      EXPECT_EQ(view.data()[(32 + 16 + r) * 8 + c],
                cache.kPool.data()[((pages - 1) * 16 + r) * 8 + c]);
    }
  // The first pages are as they were.
  for (int64_t i = 0; i < 16 * 8; ++i)
    EXPECT_EQ(view.data()[i], k.data()[i]);
}

TEST(PagedKvTest, PartialPagesAreRefused) {
  Tensor<double> k = indexed(1, 1, 20, 8, 0), v = indexed(1, 1, 20, 8, 0);
  EXPECT_THROW(pageCaches(k, v, 16, 0, false), ReferenceError);
}

} // namespace
