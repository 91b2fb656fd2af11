//===- ShapeBucketTest.cpp - Shape buckets and the per-kernel table -------===//

#include "TestSupport.h"

#include "autotune/ShapeBucket.h"
#include "runtime/BundleData.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace flashgen;
using namespace flashgen::test;

namespace {

const KernelSpec &axpySpec(const std::shared_ptr<Bundle> &b) {
  return *b->data().manifest.findKernel("axpy");
}

TEST(ShapeBucket, RoundsUpToPowersOfTwo) {
  EXPECT_EQ(roundUpToPowerOfTwo(1), 1);
  EXPECT_EQ(roundUpToPowerOfTwo(2), 2);
  EXPECT_EQ(roundUpToPowerOfTwo(3), 4);
  EXPECT_EQ(roundUpToPowerOfTwo(8000), 8192);
  EXPECT_EQ(roundUpToPowerOfTwo(8192), 8192);
  EXPECT_EQ(roundUpToPowerOfTwo(8193), 16384);
  EXPECT_EQ(roundUpToPowerOfTwo(2147483647), int64_t(1) << 31);
  EXPECT_EQ(roundUpToPowerOfTwo(0), 0);
  EXPECT_EQ(roundUpToPowerOfTwo(-5), 0);
}

TEST(ShapeBucket, NearbySizesShareABucketAndLabelsShowTheRoundedSizes) {
  auto bundle = loadAxpy();
  const KernelSpec &k = axpySpec(bundle);
  // A training loop whose B*T moves by a few tokens must not retune.
  BucketCode a = bucketOf({2, 8000}, 0), b = bucketOf({2, 5000}, 0),
             c = bucketOf({2, 8193}, 0), d = bucketOf({3, 8000}, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(bucketLabel(k, a), "B=2,N=8192");
  EXPECT_EQ(bucketLabel(k, c), "B=2,N=16384");
  EXPECT_EQ(bucketLabel(k, d), "B=4,N=8192");
  EXPECT_EQ(sizesLabel(k, {2, 8000}), "B=2,N=8000");
}

TEST(ShapeBucket, AnOmittedOptionalParamIsADifferentBucket) {
  auto bundle = loadAxpy();
  const KernelSpec &k = axpySpec(bundle);
  BucketCode all = bucketOf({2, 64}, 0);
  BucketCode noRowsum = bucketOf({2, 64}, uint64_t(1) << 3);
  EXPECT_NE(all, noRowsum);
  EXPECT_EQ(bucketLabel(k, noRowsum), "B=2,N=64,-rowsum");
}

TEST(ShapeBucket, SymbolSitesReadTheBucketFromTensorSizes) {
  auto bundle = loadAxpy();
  const KernelSpec &k = axpySpec(bundle);
  SymbolSites sites = SymbolSites::of(k);
  ASSERT_EQ(sites.sites.size(), 2u);
  // B and N first appear in x (param 0), dims 0 and 2.
  EXPECT_EQ(sites.sites[0].param, 0);
  EXPECT_EQ(sites.sites[0].dim, 0);
  EXPECT_EQ(sites.sites[1].param, 0);
  EXPECT_EQ(sites.sites[1].dim, 2);

  int64_t sizes[4] = {3, 4, 100, 16}, rsizes[3] = {3, 4, 100};
  int dummy;
  TensorArg args[4] = {{&dummy, DType::BF16, 4, sizes, nullptr},
                       {&dummy, DType::F32, 4, sizes, nullptr},
                       {&dummy, DType::F32, 4, sizes, nullptr},
                       {nullptr, DType::F32, 3, rsizes, nullptr}};
  BucketCode code;
  ASSERT_TRUE(sites.codeOf(args, 4, code));
  EXPECT_EQ(code, bucketOf({3, 100}, uint64_t(1) << 3));
  args[3].data = &dummy;
  ASSERT_TRUE(sites.codeOf(args, 4, code));
  EXPECT_EQ(code, bucketOf({3, 100}, 0));
  // Too few tensors, or a rank too short to hold the site: no bucket (the
  // launch then fails validation with its own message).
  EXPECT_FALSE(sites.codeOf(args, 0, code));
  TensorArg shortX = args[0];
  shortX.rank = 2;
  TensorArg bad[4] = {shortX, args[1], args[2], args[3]};
  EXPECT_FALSE(sites.codeOf(bad, 4, code));
}

TEST(BucketTable, RecordsFindsAndUpdates) {
  BucketTable table;
  BucketCode a = bucketOf({2, 8192}, 0), b = bucketOf({4, 8192}, 0);
  EXPECT_EQ(table.find(a), -1);
  EXPECT_TRUE(table.record(a, 2));
  EXPECT_EQ(table.find(a), 2);
  EXPECT_EQ(table.find(b), -1);
  EXPECT_TRUE(table.record(a, 1)); // retuned
  EXPECT_EQ(table.find(a), 1);
  EXPECT_EQ(table.size(), 1);
}

TEST(BucketTable, ReportsFullInsteadOfGrowing) {
  BucketTable table;
  for (int i = 0; i < BucketTable::kCapacity; ++i)
    ASSERT_TRUE(
        table.record(bucketOf({1, int64_t(1) << (i % 31), i / 31}, 0), i % 3));
  EXPECT_FALSE(table.record(bucketOf({7, 7, 7}, 0), 1));
  EXPECT_EQ(table.find(bucketOf({7, 7, 7}, 0)), -1);
  EXPECT_EQ(table.find(bucketOf({1, 1 << 5, 0}, 0)), 5 % 3);
}

TEST(BucketTable, ReadersSeeOnlyCompleteEntriesWhileOneWriterAdds) {
  BucketTable table;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::thread reader([&] {
    while (!done.load()) {
      for (int i = 0; i < BucketTable::kCapacity; ++i) {
        int v = table.find(bucketOf({int64_t(1) << (i % 31), i}, 0));
        // Either not there yet, or there with the value written for it.
        if (v != -1 && v != i % 5)
          wrong.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < BucketTable::kCapacity; ++i)
    table.record(bucketOf({int64_t(1) << (i % 31), i}, 0), i % 5);
  done = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(table.size(), BucketTable::kCapacity);
}

} // namespace
