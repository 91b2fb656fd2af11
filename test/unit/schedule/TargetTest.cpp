//===- TargetTest.cpp - target descriptions -------------------------------===//

#include "TestProblems.h"

#include "schedule/Target.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

TEST(Target, LooksUpKnownTargetsAndTheSm90aAlias) {
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"})
    EXPECT_EQ(target(name).name, name);
  Result<const Target *> alias = lookupTarget("sm_90a");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ((*alias)->name, "sm_90");
}

TEST(Target, UnknownTargetErrorListsTheKnownOnes) {
  Result<const Target *> t = lookupTarget("sm_75");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("unknown target 'sm_75'"), std::string::npos);
  for (const Target &known : knownTargets())
    EXPECT_NE(t.error().find(known.name), std::string::npos) << t.error();
}

TEST(Target, OnChipCapacityIsSharedMemoryPlusTheRegisterFile) {
  // sm_90: 227 KiB per CTA + 65536 registers x 4 bytes = 232448 + 262144.
  EXPECT_EQ(target("sm_90").onChipBytesPerCTA(), 494592);
  // sm_80: 163 KiB + 256 KiB.
  EXPECT_EQ(target("sm_80").onChipBytesPerCTA(), 166912 + 262144);
  // The small target: 64 KiB + 256 KiB.
  EXPECT_EQ(target("sm_test_small").onChipBytesPerCTA(), 65536 + 262144);
}

TEST(Target, LimitsAreConsistent) {
  for (const Target &t : knownTargets()) {
    SCOPED_TRACE(t.name);
    EXPECT_LE(t.smemPerCTA + t.smemReservedPerCTA, t.smemPerSM);
    EXPECT_LE(t.maxThreadsPerCTA, t.maxThreadsPerSM);
    EXPECT_GT(t.mmaEfficiency, 0.0);
    EXPECT_LE(t.mmaEfficiency, 1.0);
    EXPECT_GT(t.smClockHz, 0.0);
    EXPECT_FALSE(t.sources.empty());
    // Every target can run what the emitter uses.
    EXPECT_NE(t.mma(t.kernelMma), nullptr);
  }
}

TEST(Target, MmaShapes) {
  const MmaShape *sync = target("sm_80").mma(MmaKind::MmaSync);
  ASSERT_NE(sync, nullptr);
  EXPECT_EQ(sync->m, 16);
  EXPECT_EQ(sync->nMin, 8);
  EXPECT_EQ(sync->k, 16);
  EXPECT_EQ(target("sm_80").mma(MmaKind::Wgmma), nullptr);
  const MmaShape *wgmma = target("sm_90").mma(MmaKind::Wgmma);
  ASSERT_NE(wgmma, nullptr);
  EXPECT_EQ(wgmma->m, 64);
  EXPECT_EQ(wgmma->nMax, 256);
  EXPECT_EQ(wgmma->nStep, 8);
  EXPECT_EQ(wgmma->warps, 4);
}

TEST(Target, Sm90RatesDeriveFromTheMeasuredGemm) {
  // The sustained clock is what 785 TFLOP/s at 4096 FLOP/clock/SM implies:
  // 785e12 / (132 x 4096) = 1.452 GHz, below the 1.83 GHz datasheet boost.
  const Target &t = target("sm_90");
  double clock = t.mmaFlopsPerSecond / (t.numSMs * 4096.0);
  EXPECT_NEAR(t.smClockHz, clock, 1.0);
  EXPECT_LT(t.smClockHz, 1.83e9);
  // 16 MUFU results per clock per SM.
  EXPECT_NEAR(t.sfuOpsPerSecond, 16.0 * t.numSMs * clock, 1e3);
}
