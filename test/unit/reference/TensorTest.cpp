//===- TensorTest.cpp - the reference tensor container --------------------===//

#include "reference/Tensor.h"
#include "reference/GateMath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace flashgen::reference;

namespace {

TEST(TensorTest, RowMajorOffsets) {
  Tensor<int> t({2, 3, 4});
  EXPECT_EQ(t.size(), 24);
  EXPECT_EQ(t.offset({0, 0, 0}), 0);
  EXPECT_EQ(t.offset({1, 2, 3}), 23);
  EXPECT_EQ(t.offset({1, 0, 2}), 14);
  t.at({1, 0, 2}) = 7;
  EXPECT_EQ(t[14], 7);
}

TEST(TensorTest, CheckedAccessReportsShape) {
  Tensor<float> t({2, 3});
  try {
    t.at({1, 3});
    ADD_FAILURE() << "out-of-range index accepted";
  } catch (const ReferenceError &error) {
    EXPECT_NE(std::string(error.what()).find("axis 1 of shape [2, 3]"),
              std::string::npos);
  }
  EXPECT_THROW(t.at({1}), ReferenceError);
  EXPECT_THROW(Tensor<float>({2, 2}, std::vector<float>(3)), ReferenceError);
  // A braced single value is a value list, never a fill.
  EXPECT_THROW(Tensor<double>({2}, {1.0}), ReferenceError);
  EXPECT_EQ(Tensor<double>::full({2}, 1.5).values(),
            (std::vector<double>{1.5, 1.5}));
  EXPECT_THROW(Tensor<float>({2, -1}), ReferenceError);
  EXPECT_THROW(numElements({1LL << 40, 1LL << 40}), ReferenceError);
}

TEST(TensorTest, EmptyMeansAbsent) {
  EXPECT_TRUE(Tensor<double>().empty());
  EXPECT_FALSE(Tensor<double>({0}).empty());     // a zero-size operand is given
  EXPECT_FALSE(Tensor<double>(Shape{}).empty()); // a scalar is given
  EXPECT_EQ(Tensor<double>(Shape{}).size(), 1);
}

TEST(TensorTest, CastKeepsShape) {
  Tensor<double> d({2}, {0.1, -3.0});
  auto f = castTensor<float>(d);
  EXPECT_EQ(f.shape(), d.shape());
  EXPECT_EQ(f[0], 0.1f);
  EXPECT_TRUE(castTensor<float>(Tensor<double>()).empty());
}

TEST(GateMathTest, LogSigmoidIsStableForLargeArguments) {
  for (double x : {-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0}) {
    const double expected =
        x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x));
    EXPECT_NEAR(logSigmoid(x), expected, 1e-15 * (1 + std::fabs(x)));
    EXPECT_TRUE(std::isfinite(logSigmoid(static_cast<float>(x))));
  }
  EXPECT_DOUBLE_EQ(logSigmoid(0.0), -std::log(2.0));
  EXPECT_NEAR(sigmoid(0.3), 1.0 / (1.0 + std::exp(-0.3)), 1e-16);
  EXPECT_EQ(sigmoid(-800.0), 0.0);
  EXPECT_EQ(sigmoid(800.0), 1.0);
  EXPECT_TRUE(std::isnan(logSigmoid(std::nan(""))));
}

} // namespace
