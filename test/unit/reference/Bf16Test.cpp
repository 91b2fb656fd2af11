//===- Bf16Test.cpp - bf16 rounding ---------------------------------------===//

#include "reference/Bf16.h"
#include "reference/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace flashgen::reference;

namespace {

float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

TEST(Bf16Test, ExactValuesAreKept) {
  EXPECT_EQ(bf16BitsFromFloat(1.0f), 0x3F80);
  EXPECT_EQ(bf16BitsFromFloat(-2.0f), 0xC000);
  EXPECT_EQ(bf16BitsFromFloat(0.0f), 0x0000);
  EXPECT_EQ(bf16BitsFromFloat(-0.0f), 0x8000);
  EXPECT_EQ(floatFromBf16Bits(0x3F80), 1.0f);
  EXPECT_EQ(floatFromBf16Bits(0x4049), 3.140625f); // 0x40490000
}

TEST(Bf16Test, TiesRoundToEven) {
  // bf16 keeps 7 mantissa bits: around 1 the spacing is 2^-7.
  const float tieDown = 1.0f + std::ldexp(1.0f, -8);   // between 0x3F80, 0x3F81
  const float tieUp = 1.0f + 3 * std::ldexp(1.0f, -8); // between 0x3F81, 0x3F82
  EXPECT_EQ(bf16BitsFromFloat(tieDown), 0x3F80);
  EXPECT_EQ(bf16BitsFromFloat(tieUp), 0x3F82);
  EXPECT_EQ(bf16BitsFromFloat(-tieUp), 0xBF82);
  // Just above a tie rounds up.
  EXPECT_EQ(bf16BitsFromFloat(std::nextafter(tieDown, 2.0f)), 0x3F81);
}

TEST(Bf16Test, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bf16BitsFromFloat(inf), 0x7F80);
  EXPECT_EQ(bf16BitsFromFloat(-inf), 0xFF80);
  EXPECT_TRUE(std::isnan(roundToBf16(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload sits only in the low 16 bits must not become inf.
  EXPECT_TRUE(std::isnan(roundToBf16(floatFromBits(0x7F800001u))));
  // FLT_MAX is past the largest bf16 (0x7F7F) plus half an ulp: overflow.
  EXPECT_EQ(bf16BitsFromFloat(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(bf16BitsFromFloat(floatFromBits(0x7F7F7FFFu)), 0x7F7F);
  // Subnormals round like everything else.
  EXPECT_EQ(bf16BitsFromFloat(floatFromBits(0x00008000u)), 0x0000); // tie, even
  EXPECT_EQ(bf16BitsFromFloat(floatFromBits(0x00018000u)), 0x0002); // tie, even
}

TEST(Bf16Test, DoubleRoundsOnceNotTwice) {
  // Just above a bf16 tie, but so close that rounding to float first would
  // land exactly on the tie and then round down to even.
  const double above = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  EXPECT_EQ(bf16BitsFromFloat(static_cast<float>(above)), 0x3F80);
  EXPECT_EQ(bf16BitsFromDouble(above), 0x3F81);
  const double below = 1.0 + std::ldexp(1.0, -8) - std::ldexp(1.0, -40);
  EXPECT_EQ(bf16BitsFromDouble(below), 0x3F80);
  EXPECT_EQ(bf16BitsFromDouble(1e300), 0x7F80);
  EXPECT_EQ(bf16BitsFromDouble(-1e300), 0xFF80);
  EXPECT_EQ(bf16BitsFromDouble(1e-300), 0x0000);
  EXPECT_TRUE(std::isnan(roundToBf16(std::nan(""))));
}

TEST(Bf16Test, RandomValuesRoundToTheNearestNeighbour) {
  // For each random double, the result must be one of the two bf16 values
  // around it, the nearer one, and the even one on a tie.
  Rng rng(1);
  for (int i = 0; i < 20000; ++i) {
    const double x = std::ldexp(rng.uniform(-1.0, 1.0),
                                static_cast<int>(rng.uniformInt(-130, 127)));
    const uint16_t bits = bf16BitsFromDouble(x);
    const double rounded = floatFromBf16Bits(bits);
    // Neighbours: step one bf16 ulp each way in bit space.
    const double up = floatFromBf16Bits(static_cast<uint16_t>(bits + 1));
    const double down = floatFromBf16Bits(static_cast<uint16_t>(bits - 1));
    const double error = std::fabs(rounded - x);
    if (std::isfinite(up))
      ASSERT_LE(error, std::fabs(up - x)) << "x = " << x;
    if ((bits & 0x7FFF) != 0)
      ASSERT_LE(error, std::fabs(down - x)) << "x = " << x;
    if (std::isfinite(up) && error == std::fabs(up - x))
      ASSERT_EQ(bits & 1, 0) << "tie not to even, x = " << x;
    // Rounding a float gives the same answer as rounding the double.
    const float f = static_cast<float>(x);
    if (static_cast<double>(f) == x)
      ASSERT_EQ(bf16BitsFromFloat(f), bits);
  }
}

TEST(Bf16Test, TensorConversionsRoundTrip) {
  Tensor<double> values({2, 2}, {1.0, -3.5, 1e-3, 65504.0});
  auto bits = bf16BitsFromTensor(values);
  auto back = tensorFromBf16Bits(bits);
  ASSERT_EQ(back.shape(), values.shape());
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(back[i], static_cast<float>(roundToBf16(values[i])));
    EXPECT_EQ(bf16BitsFromFloat(back[i]), bits[i]); // rounded values are fixed
  }
}

} // namespace
