//===- CheckerTest.cpp - the independent schedule checker -----------------===//
//
// The checker restates every rule on a finished schedule. It must agree
// with the search space's constraints on every point (so what Z3 is told is
// what the kernels need), accept everything the scheduler returns, and
// name each broken rule.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/AttentionCost.h"
#include "schedule/Checker.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearSpace.h"
#include "schedule/Scheduler.h"
#include "schedule/StepSpace.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

bool mentions(const std::vector<std::string> &violations, const char *text) {
  for (const std::string &v : violations)
    if (v.find(text) != std::string::npos)
      return true;
  return false;
}

std::string joined(const std::vector<std::string> &v) {
  std::string s;
  for (const std::string &x : v)
    s += x + " | ";
  return s;
}

} // namespace

TEST(Checker, AgreesWithTheAttentionSpaceOnEveryPoint) {
  struct Case {
    AttentionProblem p;
    const char *target;
    Algorithm algorithm;
  } cases[] = {
      {attention(8192, 128), "sm_90", Algorithm::Flash2},
      {attention(8192, 256), "sm_80", Algorithm::Flash2},
      {attention(100, 64, MaskKind::Causal), "sm_test_small", Algorithm::Flash2},
      {attention(4096, 512), "sm_90", Algorithm::Flash2DSplit},
      {attention(4096, 512), "sm_test_small", Algorithm::Flash2DSplit},
      {attention(4096, 512), "sm_90", Algorithm::Flash3DSplit},
      {attention(2048, 576, MaskKind::Causal), "h200", Algorithm::Flash3DSplit},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c.p) + " " + c.target);
    const Target &t = target(c.target);
    Result<ScheduleSpace> space = attentionSpace(c.p, t, c.algorithm);
    ASSERT_TRUE(space.ok()) << space.error();
    size_t feasible = 0;
    for (size_t linear = 0; linear < space->space.size(); ++linear) {
      Point x = space->space.point(space->space.indexOf(linear));
      Schedule s = space->toSchedule(x);
      std::vector<std::string> broken = checkAttentionSchedule(c.p, t, s);
      ASSERT_EQ(space->space.feasible(x), broken.empty())
          << s.str() << ": " << joined(broken);
      feasible += broken.empty();
    }
    EXPECT_GT(feasible, 0u);
    EXPECT_LT(feasible, space->space.size());
  }
}

TEST(Checker, AgreesWithTheRecurrenceSpaceOnEveryPoint) {
  struct Case {
    LinearProblem p;
    const char *target;
  } cases[] = {
      {linear(8192, 256, 512, GateKind::MlstmExp), "sm_90"},
      {linear(4096, 128, 128, GateKind::Vector), "sm_80"},
      {linear(1000, 64, 32, GateKind::Decay), "sm_test_small"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c.p) + " " + c.target);
    const Target &t = target(c.target);
    Result<ScheduleSpace> space = linearSpace(c.p, t, std::nullopt);
    ASSERT_TRUE(space.ok()) << space.error();
    size_t feasible = 0;
    for (size_t linear = 0; linear < space->space.size(); ++linear) {
      Point x = space->space.point(space->space.indexOf(linear));
      Schedule s = space->toSchedule(x);
      std::vector<std::string> broken = checkLinearSchedule(c.p, t, s);
      ASSERT_EQ(space->space.feasible(x), broken.empty())
          << s.str() << ": " << joined(broken);
      feasible += broken.empty();
    }
    EXPECT_GT(feasible, 0u);
  }
}

TEST(Checker, EveryReturnedCandidatePasses) {
  const Target &h100 = target("sm_90");
  SolveOptions options;
  options.topK = 8;
  for (int64_t d : {64, 128, 256, 512})
    for (MaskKind mask : {MaskKind::None, MaskKind::Causal}) {
      AttentionProblem p = attention(8192, d, mask, 2, 16);
      Result<ScheduleResult> r = scheduleAttention(p, h100, options);
      ASSERT_TRUE(r.ok()) << r.error();
      for (const Candidate &c : r->candidates)
        EXPECT_TRUE(checkAttentionSchedule(p, h100, c.schedule).empty())
            << c.schedule.str();
    }
  for (GateKind g : {GateKind::None, GateKind::Decay, GateKind::Vector,
                     GateKind::MlstmExp, GateKind::MlstmSig}) {
    LinearProblem p = linear(16384, 128, 256, g, 2, 8);
    Result<ScheduleResult> r = scheduleLinear(p, h100, options);
    ASSERT_TRUE(r.ok()) << r.error();
    for (const Candidate &c : r->candidates)
      EXPECT_TRUE(checkLinearSchedule(p, h100, c.schedule).empty())
          << c.schedule.str();
  }
}

TEST(Checker, NamesEachBrokenAttentionRule) {
  const Target &h100 = target("sm_90");
  AttentionProblem p = attention(4096, 128);
  // 128 x 16 over 4 warps: 239 registers, no spill (measured).
  Schedule good;
  good.algorithm = Algorithm::Flash2;
  good.tileQ = 128;
  good.tileKv = 16;
  good.tileD = good.tileDv = 128;
  good.stages = 3;
  good.warps = 4;
  good.smemBytes = attentionSmemBytes(p, good);
  ASSERT_TRUE(checkAttentionSchedule(p, h100, good).empty());

  Schedule s = good;
  s.tileQ = 48;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "multiple of 16 x 4 = 64 (the warps that split its rows)"));
  s = good;
  s.stages = 1;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "at least 2"));
  s = good;
  s.warps = 3;
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "power of two"));
  s = good;
  s.tileD = 64;
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "whole rows"));
  s = good;
  s.smemBytes += 1;
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "differs from the plan"));
  s = good;
  s.tileKv = 64; // spills: 330 registers by the model
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "registers per thread"));
  s = good;
  s.tileKv = 256;
  s.stages = 4;
  s.warps = 8;
  s.smemBytes = attentionSmemBytes(p, s); // (16384 + 4 x 256 x 256) x 2
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "of shared memory"));
  s = good;
  s.tileQ = 16;
  s.warps = 1;
  s.tileKv = 16;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(checkAttentionSchedule(p, h100, s).empty());
  s.warps = 16; // 16 rows cannot feed 16 warps, nor 16 x 128 x 2 / 16 copies
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "multiple of 16 x 16 = 256 (the warps"));
  // flash2 has no key warps: inner_kv does not make its warps share rows.
  s = good;
  s.tileQ = 16;
  s.tileKv = 64;
  s.innerKv = 16;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_EQ(s.keyWarps(), 1);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "multiple of 16 x 4 = 64 (the warps"));
}

TEST(Checker, NamesEachBrokenSmallCacheRule) {
  const Target &h100 = target("sm_90");
  AttentionProblem p = attention(4096, 512);
  Schedule good;
  good.algorithm = Algorithm::Flash3DSplit;
  good.tileQ = 128;
  good.tileKv = 64;
  good.tileD = 64;
  good.tileDv = 256;
  good.stages = 3;
  good.warps = 8;
  good.smemBytes = attentionSmemBytes(p, good);
  ASSERT_TRUE(checkAttentionSchedule(p, h100, good).empty())
      << joined(checkAttentionSchedule(p, h100, good));
  // The plan: the whole Q tile resident (128 x 512), a ring of K chunks,
  // two V slices, and the swizzle's alignment slack: (128 512 + 3 64 64 +
  // 2 64 256) 2 + 1024 = 222208, within sm_90's 227 KiB.
  EXPECT_TRUE(dsplitQueryResident(p, good));
  EXPECT_EQ(good.smemBytes, (128 * 512 + 3 * 64 * 64 + 2 * 64 * 256) * 2 + 1024);
  // 128-column chunks in a 3-deep ring would need 245760 + 1024 bytes with
  // Q resident: Q streams through the ring beside K instead, (3 (128 + 64)
  // 128 + 2 64 256) 2 + 1024.
  Schedule streamed = good;
  streamed.tileD = 128;
  EXPECT_FALSE(dsplitQueryResident(p, streamed));
  EXPECT_EQ(attentionSmemBytes(p, streamed), (3 * (128 + 64) * 128 + 2 * 64 * 256) * 2 + 1024);
  // flash2_dsplit (mma.sync, sm_80 too) always streams Q.
  streamed = good;
  streamed.algorithm = Algorithm::Flash2DSplit;
  EXPECT_FALSE(dsplitQueryResident(p, streamed));

  Schedule s = good;
  s.tileQ = 64; // one warpgroup's rows over two warpgroups
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "own 64 query rows"));
  s = good;
  s.tileDv = 32; // half a swizzle slab
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "64-column slabs"));
  s = good;
  s.tileD = 256; // two chunks per key tile; a 5-deep ring copies 3 ahead
                 // (its products in flight one step: dsplitAsyncProducts)
  s.stages = 5;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "one key tile ahead"));

  s = good;
  s.algorithm = Algorithm::Flash2DSplit; // no swizzle slack on mma.sync
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, h100, s), "differs from the plan"));
  EXPECT_TRUE(mentions(checkAttentionSchedule(p, target("sm_80"), good), "sm_90a only"));
}

TEST(Checker, NamesEachBrokenRecurrenceRule) {
  const Target &h100 = target("sm_90");
  LinearProblem p = linear(8192, 128, 128, GateKind::Decay);
  Schedule good;
  good.algorithm = Algorithm::ChunkFused;
  good.chunk = 64;
  good.innerQ = 64;
  good.innerKv = 32;
  good.tileDv = 64;
  good.stages = 2;
  good.warps = 4;
  good.smemBytes = linearSmemBytes(p, good, true);
  ASSERT_TRUE(checkLinearSchedule(p, h100, good).empty())
      << joined(checkLinearSchedule(p, h100, good));

  Schedule s = good;
  s.innerQ = 48;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "inner_q = 48"));
  s = good;
  s.innerKv = 48;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "inner_kv = 48"));
  s = good;
  s.tileDv = 96;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "tile_dv = 96"));
  s = good;
  s.stages = 3;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "stages = 3"));
  s = good;
  s.algorithm = Algorithm::ChunkTwoPass; // same plan, but smem_bytes covers both kernels
  s.smemBytes = std::max(linearSmemBytes(p, s, true), linearSmemBytes(p, s, false));
  EXPECT_TRUE(checkLinearSchedule(p, h100, s).empty());
  s.algorithm = Algorithm::Flash2;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "not a recurrence"));
  // 16 warps need Dk >= 256 for 16 state rows each.
  s = good;
  s.warps = 16;
  s.innerQ = 256;
  s.chunk = 256;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h100, s), "16 state rows"));
}

namespace {

/// Every point of the step space is feasible exactly when the checker
/// passes it (the layout, the registers and shared memory are one plan,
/// schedule/StepLayout.h).
TEST(Checker, AgreesWithTheStepSpaceOnEveryPoint) {
  LinearProblem delta = linear(1, 128, 256, GateKind::Decay, 64, 8);
  delta.betaBytes = 2;
  delta.hasInitialState = delta.returnsFinalState = true;
  for (const LinearProblem &p : {linear(4, 256, 512, GateKind::MlstmExp, 8, 8),
                                 linear(1, 96, 64, GateKind::Vector, 2, 4), delta}) {
    SCOPED_TRACE(describe(p));
    const Target &t = target("h200");
    Result<ScheduleSpace> space = stepSpace(p, t);
    ASSERT_TRUE(space.ok()) << space.error();
    size_t feasible = 0;
    for (size_t i = 0; i < space->space.size(); ++i) {
      Point x = space->space.point(space->space.indexOf(i));
      Schedule s = space->toSchedule(x);
      std::vector<std::string> broken = checkLinearSchedule(p, t, s);
      ASSERT_EQ(space->space.feasible(x), broken.empty()) << s.str() << ": " << joined(broken);
      feasible += broken.empty();
    }
    EXPECT_GT(feasible, 0u);
  }
}

TEST(Checker, NamesEachBrokenStepRule) {
  const Target &h200 = target("h200");
  LinearProblem p = linear(1, 128, 128, GateKind::Decay, 8, 16);
  Schedule good = defaultStepSchedule(p);
  ASSERT_TRUE(checkLinearSchedule(p, h200, good).empty()) << joined(checkLinearSchedule(p, h200, good));
  EXPECT_EQ(good.tileDv, 64);
  EXPECT_EQ(good.warps, 4);

  Schedule s = good;
  s.tileDv = 48;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "tile_dv = 48 must divide Dv = 128"));
  s.tileDv = 256;
  p.valueDim = 256;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "from 4 to 128"));
  p.valueDim = 128;
  s = good;
  s.warps = 3;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "warps = 3"));
  // One warp of 8-column tiles: 2 threads a row, 16 rows at a time, 8 rows
  // of 4 each: fine; Dk = 1024 would be 256 values a thread.
  s = good;
  s.warps = 1;
  s.tileDv = 8;
  s.smemBytes = stepSmemPlan(stepShapeOf(p, s)).total;
  EXPECT_TRUE(checkLinearSchedule(p, h200, s).empty());
  p.keyDim = 1024;
  s.smemBytes = stepSmemPlan(stepShapeOf(p, s)).total;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "256 state values"));
  // 4 warps of 128 columns cover 4 rows at a time: Dk = 6 does not split.
  p.keyDim = 6;
  s = good;
  s.tileDv = 128;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "Dk = 6 does not split"));
  p.keyDim = 128;
  s = good;
  s.smemBytes += 128;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, s), "differs from the plan's"));
  p.elementBytes = 4;
  EXPECT_TRUE(mentions(checkLinearSchedule(p, h200, good), "16-bit q, k, v"));
}

} // namespace

namespace {

/// The schedules flash-schedule records with search=false meet the
/// kernels' rules and record the smem_bytes the checker holds schedules to,
/// for both chunkwise forms: one plan (chunk_two_pass's outputs kernel
/// holds one chunk, so one stage), not two that disagree. (The scheduler's
/// register model, stricter than the kernels' own estimate, may still
/// rank them out.)
TEST(Checker, DefaultRecurrenceSchedulesRecordThePlannedSharedMemory) {
  const Target &h100 = target("sm_90");
  for (GateKind gate : {GateKind::Decay, GateKind::MlstmExp, GateKind::Vector})
    for (Algorithm form : {Algorithm::ChunkFused, Algorithm::ChunkTwoPass}) {
      LinearProblem p = linear(8192, 128, 128, gate, 2, 4);
      Schedule s = defaultLinearSchedule(p, h100, form);
      SCOPED_TRACE(s.str());
      EXPECT_TRUE(chunkwiseKernelViolations(p, h100, s).empty())
          << joined(chunkwiseKernelViolations(p, h100, s));
      EXPECT_FALSE(mentions(checkLinearSchedule(p, h100, s), "smem_bytes"));
      if (form == Algorithm::ChunkTwoPass)
        EXPECT_EQ(s.smemBytes, std::max(linearSmemBytes(p, s, true), linearSmemBytes(p, s, false)));
    }
}

} // namespace
