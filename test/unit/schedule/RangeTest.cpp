//===- RangeTest.cpp - sizes at the edges: limits, speed, head dims -------===//
//
// Issue #20: every size is range-checked where it enters, no size makes the
// scheduler run for long, and head dims the kernels cannot take are refused
// with the list of those they can.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/Scheduler.h"
#include "schedule/Units.h"
#include "schedule/Visibility.h"

#include <chrono>
#include <random>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

TEST(Range, NextPowerOfTwoSaturates) {
  EXPECT_EQ(nextPowerOfTwo(0), 1);
  EXPECT_EQ(nextPowerOfTwo(4097), 8192);
  EXPECT_EQ(nextPowerOfTwo((int64_t(1) << 62) + 1), int64_t(1) << 62);
  EXPECT_EQ(nextPowerOfTwo(INT64_MAX), int64_t(1) << 62);
}

TEST(Range, VisitTilesMatchesTheTileByTileSum) {
  // Small tiles against long sequences: many whole periods per run, every
  // mask, ragged ends, key lengths shorter and longer than the queries.
  std::mt19937_64 rng(20);
  const int64_t tiles[] = {16, 32, 48, 64, 80, 128};
  for (int iter = 0; iter < 400; ++iter) {
    AttentionProblem p = attention(1 + rng() % 3000, 64);
    p.keyLen = 1 + rng() % 3000;
    p.mask = static_cast<MaskKind>(rng() % 3);
    p.window = 1 + rng() % 700;
    p.hasMaskMod = rng() % 4 == 0;
    int64_t tq = tiles[rng() % 6], tkv = tiles[rng() % 6];
    TileVisit fast = visitTiles(p, tq, tkv);
    TileVisit slow = visitTilesOneByOne(p, tq, tkv);
    SCOPED_TRACE(describe(p) + " tiles " + std::to_string(tq) + " x " +
                 std::to_string(tkv));
    EXPECT_EQ(fast.tilePairs, slow.tilePairs);
    EXPECT_EQ(fast.maskedTilePairs, slow.maskedTilePairs);
    EXPECT_EQ(fast.keyRowsLoaded, slow.keyRowsLoaded);
    EXPECT_EQ(fast.queryRowLoads, slow.queryRowLoads);
    EXPECT_EQ(fast.queryTiles, slow.queryTiles);
    EXPECT_EQ(fast.queryTilesPerKeyRow, slow.queryTilesPerKeyRow);
  }
}

TEST(Range, LargestSequenceSchedulesInSeconds) {
  // N = 2^26, the longest sequence the cost model counts at D = 128 (N x M
  // x D x 2 bytes <= 2^60), in seconds; N = 2^31 used to cost a minute of
  // tile-by-tile sums per tiling and is now refused (below).
  for (MaskKind mask :
       {MaskKind::None, MaskKind::Causal, MaskKind::SlidingWindow}) {
    AttentionProblem p = attention(int64_t(1) << 26, 128, mask);
    p.window = 4096;
    auto start = std::chrono::steady_clock::now();
    Result<ScheduleResult> r = scheduleAttention(p, target("sm_90"), {});
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_LT(seconds, 10.0) << maskKindName(mask);
  }
}

TEST(Range, ProblemsBeyondTheModelsIntegersAreRefused) {
  Result<ScheduleResult> r =
      scheduleAttention(attention(kMaxExtent, 128), target("sm_90"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("B x Hq x N x M x D x element bytes = 1.18e+21 "
                           "exceeds 2^60"),
            std::string::npos)
      << r.error();
  LinearProblem l = linear(kMaxExtent, 1024, 1024, GateKind::None, 64, 64);
  EXPECT_NE(validate(l).find("B x H x T x Dk x Dv x 4"), std::string::npos);
}

TEST(Range, SizesBeyond32BitsAreRefused) {
  AttentionProblem p = attention(kMaxExtent + 1, 128);
  std::string why = validate(p);
  EXPECT_NE(why.find("N = 2147483648 exceeds the 32-bit sizes"),
            std::string::npos)
      << why;
  LinearProblem l = linear(64, 64, 64, GateKind::None);
  l.batch = int64_t(1) << 40;
  EXPECT_NE(validate(l).find("B = 1099511627776 exceeds"), std::string::npos);
}

TEST(Range, HeadDimsTheKernelsCannotTakeListTheOnesTheyCan) {
  for (int64_t d : {8, 24, 40, 48, 72, 96, 160, 192}) {
    for (const char *name : {"sm_80", "sm_90"}) {
      Result<ScheduleResult> r =
          scheduleAttention(attention(4096, d, MaskKind::Causal), target(name), {});
      ASSERT_FALSE(r.ok()) << "D = " << d << " on " << name;
      EXPECT_NE(r.error().find("16, 32, 64, 128 or 256"), std::string::npos)
          << r.error();
    }
  }
  for (int64_t d : {16, 32, 64, 128, 256})
    EXPECT_TRUE(scheduleAttention(attention(4096, d), target("sm_80"), {}).ok())
        << "D = " << d;
}

} // namespace
