//===- OutputCompareTest.cpp - Candidate outputs against variant 0's ------===//

#include "autotune/OutputCompare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace flashgen;

namespace {

HostTensor f32Tensor(const std::vector<float> &values,
                     std::vector<int64_t> sizes, std::vector<int64_t> strides) {
  HostTensor t;
  t.name = "o";
  t.dtype = DType::F32;
  t.sizes = std::move(sizes);
  t.strides = std::move(strides);
  t.bytes.resize(values.size() * 4);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

TEST(Dtypes, Bf16AndHalfConversionsRoundToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(floatToBf16(1.00390625f), 0x3f80);
  EXPECT_EQ(floatToBf16(1.01171875f), 0x3f82); // 1 + 3*2^-8: up to even
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(NAN))));

  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(70000.0f), 0x7c00);              // overflow to inf
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00);    // tie to even
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  for (uint32_t h = 0; h < 0x7c00; ++h) // every finite positive half
    ASSERT_EQ(floatToHalf(halfToFloat(static_cast<uint16_t>(h))), h) << h;
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST(OutputCompare, ToleranceFollowsTheOutputDtype) {
  EXPECT_EQ(defaultTolerance(DType::BF16, false), 2e-2);
  EXPECT_EQ(defaultTolerance(DType::F16, true), 2e-2);
  EXPECT_EQ(defaultTolerance(DType::F32, false), 2e-3);
  EXPECT_EQ(defaultTolerance(DType::F32, true), 2e-2); // bf16 operands
  EXPECT_EQ(defaultTolerance(DType::I32, true), 0.0);
}

TEST(OutputCompare, AcceptsRoundingDifferencesAndRejectsWrongValues) {
  HostTensor ref = f32Tensor({1, 2, 3, 4}, {4}, {1});
  EXPECT_TRUE(compareOutputs(ref, ref, 0.0).ok);
  EXPECT_EQ(compareOutputs(ref, ref, 0.0).relError, 0.0);
  HostTensor close = f32Tensor({1.0001f, 2, 3, 4}, {4}, {1});
  Comparison c = compareOutputs(ref, close, 2e-3);
  EXPECT_TRUE(c.ok) << c.what;
  EXPECT_NEAR(c.relError, 1e-4 / std::sqrt(30.0), 1e-6);
  HostTensor wrong = f32Tensor({1, 2, 3, 5}, {4}, {1});
  c = compareOutputs(ref, wrong, 2e-3);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.what.find("o: rel L2 1.8e-01 > 2.0e-03"), std::string::npos)
      << c.what;
  EXPECT_TRUE(compareOutputs(ref, wrong, 0.5).ok);
}

TEST(OutputCompare, UnwrittenElementsKeepThePoisonAndFail) {
  HostTensor ref = f32Tensor({1, 2, 3, 4}, {4}, {1});
  HostTensor partial = f32Tensor({1, 2, 3, NAN}, {4}, {1});
  Comparison c = compareOutputs(ref, partial, 1.0);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.nonFiniteMismatches, 1);
  EXPECT_NE(c.what.find("non-finite"), std::string::npos) << c.what;
  // Where variant 0 itself has a NaN or an infinity, the candidate must too.
  HostTensor refNan = f32Tensor({1, NAN, INFINITY, 4}, {4}, {1});
  EXPECT_TRUE(compareOutputs(refNan, refNan, 0.0).ok);
  EXPECT_EQ(compareOutputs(refNan, refNan, 0.0).referenceNonFinite, 2);
  EXPECT_FALSE(
      compareOutputs(refNan, f32Tensor({1, 2, INFINITY, 4}, {4}, {1}), 1.0).ok);
  EXPECT_FALSE(
      compareOutputs(refNan, f32Tensor({1, NAN, -INFINITY, 4}, {4}, {1}), 1.0)
          .ok);
}

TEST(OutputCompare, OnlyLogicalElementsOfStridedTensorsCount) {
  // 2 rows of 2, row stride 3: the padding element differs (NaN vs 9).
  HostTensor ref = f32Tensor({1, 2, NAN, 3, 4}, {2, 2}, {3, 1});
  HostTensor out = f32Tensor({1, 2, 9, 3, 4}, {2, 2}, {3, 1});
  Comparison c = compareOutputs(ref, out, 0.0);
  EXPECT_TRUE(c.ok) << c.what;
  EXPECT_EQ(c.referenceNonFinite, 0);
  EXPECT_EQ(ref.at(2), 3.0);
}

TEST(OutputCompare, IntegersAreExactAndShapesMustAgree) {
  HostTensor a;
  a.name = "idx";
  a.dtype = DType::I32;
  a.sizes = {3};
  a.strides = {1};
  int32_t v[3] = {1, 2, 3};
  a.bytes.assign(reinterpret_cast<uint8_t *>(v),
                 reinterpret_cast<uint8_t *>(v) + 12);
  HostTensor b = a;
  EXPECT_TRUE(compareOutputs(a, b, 0.0).ok);
  b.bytes[8] = 4;
  EXPECT_FALSE(compareOutputs(a, b, 0.0).ok);
  HostTensor c = a;
  c.sizes = {2};
  EXPECT_FALSE(compareOutputs(a, c, 0.0).ok);
}

} // namespace
