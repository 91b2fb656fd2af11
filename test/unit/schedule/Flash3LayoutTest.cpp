//===- Flash3LayoutTest.cpp - the flash3 on-chip plan ----------------------===//
//
// Shared memory and register budgets of flash3 schedules worked out by hand,
// and the rules the checker and the emitter share.
//
//===----------------------------------------------------------------------===//

#include "schedule/Flash3Layout.h"
#include "schedule/Target.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;

namespace {

Schedule flash3(int64_t tileQ, int64_t tileKv, int64_t stages, int64_t warps,
                int64_t persistent = 0) {
  Schedule s;
  s.algorithm = Algorithm::Flash3;
  s.tileQ = tileQ;
  s.tileKv = tileKv;
  s.stages = stages;
  s.warps = warps;
  s.persistent = persistent;
  return s;
}

bool mentions(const std::vector<std::string> &broken, const std::string &text) {
  for (const std::string &b : broken)
    if (b.find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST(Flash3Layout, SharedMemoryByHand) {
  // d = 128, 128 x 128, 3 stages, producer: Q 32 KiB + 3 x (K + V) 192 KiB,
  // 13 mbarriers (104 bytes, rounded to 128) + 1 KiB of alignment slack.
  EXPECT_EQ(flash3SmemBytes(128, 128, 2, flash3(128, 128, 3, 12)),
            32768 + 196608 + 128 + 1024);
  // Without a producer there are no mbarriers.
  EXPECT_EQ(flash3SmemBytes(128, 128, 2, flash3(128, 128, 2, 8)),
            32768 + 131072 + 1024);
  // Persistent: two Q buffers, 2 + 8 + 2 = 12 mbarriers, and the claims'
  // 2 full + 2 empty barriers and 2 tile words: 18 words (144 -> 256 bytes).
  EXPECT_EQ(flash3SmemBytes(128, 128, 2, flash3(128, 128, 2, 12, 1)),
            65536 + 131072 + 256 + 1024);
}

TEST(Flash3Layout, RegisterSplitsFitTheLaunchPool) {
  // setmaxnreg.inc waits forever when the budgets exceed the pool the
  // launch gave (threads x the __launch_bounds__ cap).
  for (int64_t groups : {1, 2, 3})
    for (int64_t tileKv : {64, 128, 176})
      for (int64_t d : {64, 128, 256})
        for (int64_t persistent : {0, 1}) {
          Schedule s = flash3(64 * groups, tileKv, 2, 4 * groups + 4, persistent);
          RegisterSplit split = flash3RegisterSplit(s, d);
          int64_t pool = flash3LaunchRegisters(s) * 32 * s.warps;
          int64_t producer = split.producer ? split.producer : flash3LaunchRegisters(s);
          int64_t consumer = split.consumer ? split.consumer : flash3LaunchRegisters(s);
          EXPECT_LE(128 * producer + 128 * groups * consumer, pool)
              << s.str() << " d=" << d;
        }
}

TEST(Flash3Layout, RulesNameWhatIsWrong) {
  const int64_t smem = 227 * 1024;
  EXPECT_TRUE(flash3Violations(128, 128, 2, flash3(128, 128, 3, 12), smem).empty());
  EXPECT_TRUE(flash3Violations(128, 128, 2, flash3(128, 128, 2, 12, 1), smem).empty());
  // 3 stages of 128-key tiles with two Q buffers: 257 KiB.
  EXPECT_TRUE(mentions(flash3Violations(128, 128, 2, flash3(128, 128, 3, 12, 1), smem),
                       "of shared memory"));
  // The persistent form needs the producer warpgroup.
  EXPECT_TRUE(mentions(flash3Violations(128, 128, 2, flash3(128, 128, 2, 8, 1), smem),
                       "persistent = 1"));
  EXPECT_TRUE(mentions(flash3Violations(128, 128, 2, flash3(128, 128, 2, 4), smem),
                       "warps = 4 must be tile_q / 16 = 8"));
  EXPECT_TRUE(mentions(flash3Violations(96, 128, 2, flash3(128, 128, 2, 12), smem),
                       "head and value dims"));
  // 192-key tiles leave two consumer warpgroups short of registers at d = 128.
  EXPECT_TRUE(mentions(flash3Violations(128, 128, 2, flash3(128, 192, 2, 12), smem),
                       "registers per thread"));
  // Regions that read positions (ALiBi, mask_mod) cost more than a score_mod
  // of the score alone (softcap): ptxas spilled ALiBi + causal at 144-key
  // tiles on the H200 bundles and not at 128, while softcap ran 160-key
  // tiles without spills.
  const Schedule kv144 = flash3(128, 144, 2, 12), kv128 = flash3(128, 128, 2, 12),
                 kv160 = flash3(128, 160, 2, 12);
  EXPECT_TRUE(mentions(flash3Violations(128, 128, 2, kv144, smem, ElementMods::Positions),
                       "registers per thread"));
  EXPECT_TRUE(flash3Violations(128, 128, 2, kv128, smem, ElementMods::Positions).empty());
  EXPECT_TRUE(flash3Violations(128, 128, 2, kv160, smem, ElementMods::Score).empty());
  EXPECT_GT(flash3ConsumerRegisters(128, 128, 144, ElementMods::Positions),
            flash3ConsumerRegisters(128, 128, 144, ElementMods::Score));
}

TEST(Flash3Layout, ShapeFollowsWarps) {
  EXPECT_TRUE(flash3Shape(flash3(128, 128, 2, 12)).producer);
  EXPECT_FALSE(flash3Shape(flash3(128, 128, 2, 8)).producer);
  EXPECT_EQ(flash3Shape(flash3(192, 128, 2, 16)).consumerGroups, 3);
}
