//===- MathTest.cpp - math.cuh and convert.cuh on the host ---------------===//
#include "kernel_prelude.h"
#include "flashgen/device/flashgen_device.cuh"

#include <gtest/gtest.h>

#include <cmath>

namespace {

static_assert(fg::cdiv(0, 32) == 0 && fg::cdiv(1, 32) == 1 && fg::cdiv(64, 32) == 2, "cdiv");
// index_math.cuh: floordiv / ceildiv for b > 0 and any sign of a.
TEST(MathTest, FloorAndCeilDivMatchTheirDefinitions) {
  for (int a = -20; a <= 20; ++a)
    for (int b : {1, 2, 5, 7, 32}) {
      EXPECT_EQ(fg::floordiv(a, b), int(std::floor(double(a) / b))) << a << "/" << b;
      EXPECT_EQ(fg::ceildiv(a, b), int(std::ceil(double(a) / b))) << a << "/" << b;
    }
}

TEST(MathTest, TanhExp2IsAccurate) {
  for (float x = -20.0f; x <= 20.0f; x += 0.01f) EXPECT_NEAR(fg::tanh_exp2(x), std::tanh(double(x)), 2e-7) << x;
}

// The softmax's FMA-pipe exponential: within 1.1e-4 of 2^x (relative) over
// the range the softmax feeds it, exactly 0 at and below -127 and at -inf
// (a fully masked row's scores), tiny and never negative or NaN between
// (where denormals carry fewer bits).
TEST(MathTest, Exp2OnTheFmaPipe) {
  for (float x = -125.5f; x <= 12.0f; x += 0.0009765625f * 7) {
    const double want = std::exp2(double(x));
    const float got = fg::ex2_fma(x);
    ASSERT_NEAR(got, want, 1.1e-4 * want) << x;
  }
  for (float x : {-127.0f, -130.5f, -1e30f, -INFINITY}) EXPECT_EQ(fg::ex2_fma(x), 0.0f) << x;
  for (float x = -127.0f; x <= -125.5f; x += 1.0f / 64) {
    const float got = fg::ex2_fma(x);
    EXPECT_TRUE(got >= 0.0f && got <= 1.01 * std::exp2(-125.5)) << x << " -> " << got;
  }
}

TEST(MathTest, PackRoundsToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values: rounds to the even one (1.0).
  const fg::u32 p = fg::pack2<fg::bf16>(1.0f + 1.0f / 256.0f, -2.5f);
  EXPECT_EQ(p & 0xffffu, 0x3f80u);
  EXPECT_EQ(p >> 16, 0xc020u);
  EXPECT_EQ(fg::unpack<fg::bf16>(p, 1), -2.5f);
  EXPECT_EQ(fg::to_float(fg::to_f16(0.333251953125f)), 0.333251953125f);
  EXPECT_TRUE(std::isinf(fg::neg_inf()) && fg::neg_inf() < 0 && fg::pos_inf() > 0);
}

}  // namespace
