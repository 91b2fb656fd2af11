//===- AttentionGradTest.cpp - schedules of the attention backward --------===//
//
// The backward's IO bound against its cost model, the space's rules against
// the checker, the resource formulas against hand arithmetic, the search
// engines against each other, and the scheduler's choices.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/AttentionGrad.h"
#include "schedule/Enumerate.h"
#include "schedule/Scheduler.h"
#include "schedule/Z3Search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

constexpr Algorithm kGradFamilies[] = {
    Algorithm::Flash2Grad, Algorithm::Flash2GradDeterministic,
    Algorithm::Flash3Grad, Algorithm::Flash3GradDeterministic};

/// Whether `a`'s space exists for `p` on `t`: the wgmma families need a
/// target with wgmma and head dims that are multiples of 64.
bool offered(const AttentionProblem &p, const Target &t, Algorithm a) {
  return attentionGradPrecondition(p, t, a).empty();
}

/// Shapes that exercise every part of the model: no mask, causal, GQA,
/// N != M both ways, a sliding window, a score_mod, a mask_mod.
std::vector<AttentionProblem> gradProblems() {
  std::vector<AttentionProblem> v;
  v.push_back(attention(4096, 128, MaskKind::None, 2, 8));
  v.push_back(attention(4096, 64, MaskKind::Causal, 2, 8));
  AttentionProblem gqa = attention(2048, 128, MaskKind::Causal, 2, 16);
  gqa.keyHeads = 4;
  v.push_back(gqa);
  AttentionProblem shortQ = attention(1024, 128, MaskKind::Causal, 1, 8);
  shortQ.keyLen = 4096;
  v.push_back(shortQ);
  AttentionProblem longQ = attention(3000, 64, MaskKind::Causal, 1, 4);
  longQ.keyLen = 1000; // the first 2000 queries see no key
  v.push_back(longQ);
  AttentionProblem window = attention(3000, 64, MaskKind::SlidingWindow, 1, 8);
  window.window = 512;
  v.push_back(window);
  AttentionProblem softcap = attention(2048, 32, MaskKind::Causal, 4, 4);
  softcap.hasScoreMod = true;
  v.push_back(softcap);
  AttentionProblem document = attention(2048, 64, MaskKind::None, 1, 4);
  document.hasMaskMod = true;
  v.push_back(document);
  AttentionProblem tiny = attention(40, 32, MaskKind::Causal);
  tiny.valueDim = 32;
  v.push_back(tiny);
  // Packed documents under GQA: a mask_mod whose tiles its extras decide
  // (mask_lists pre-passes; the kv kernel walks each head's lists).
  AttentionProblem packed = attention(4096, 128, MaskKind::Causal, 2, 16);
  packed.keyHeads = 8;
  packed.hasMaskMod = packed.maskModTiles = true;
  v.push_back(packed);
  return v;
}

void expectSameRanking(const SearchSpace &space, unsigned topK) {
  SearchOptions options;
  options.topK = topK;
  Result<SearchOutcome> z3 = searchWithZ3(space, options);
  ASSERT_TRUE(z3.ok()) << z3.error();
  SearchOutcome brute = searchByEnumeration(space, options);
  ASSERT_EQ(z3->ranked.size(), brute.ranked.size());
  for (size_t i = 0; i < brute.ranked.size(); ++i) {
    SCOPED_TRACE("rank " + std::to_string(i));
    EXPECT_EQ(z3->ranked[i].point, brute.ranked[i].point);
    EXPECT_EQ(z3->ranked[i].objective.primary, brute.ranked[i].objective.primary);
    EXPECT_TRUE(space.feasible(z3->ranked[i].point));
  }
  EXPECT_EQ(z3->conflict.empty(), brute.conflict.empty());
}

} // namespace

TEST(AttentionGrad, BoundNeverExceedsTheModelOfAFeasibleSchedule) {
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    const Target &t = target(name);
    for (const AttentionProblem &p : gradProblems()) {
      SCOPED_TRACE(describe(p) + " " + name);
      IOBound bound = attentionGradIOBound(p, t);
      EXPECT_GE(bound.onChip.boundBytes, bound.onChip.compulsoryBytes);
      EXPECT_GE(bound.l2.boundBytes, bound.l2.compulsoryBytes);
      for (Algorithm a : kGradFamilies) {
        if (!offered(p, t, a))
          continue;
        Result<ScheduleSpace> space = attentionGradSpace(p, t, a);
        ASSERT_TRUE(space.ok()) << space.error();
        size_t feasible = forEachFeasible(*space, [&](const Schedule &s) {
          SCOPED_TRACE(s.str());
          Evaluation ev = evaluateAttentionGrad(p, t, s);
          EXPECT_TRUE(ev.fits());
          EXPECT_GE(ev.globalBytes, bound.onChip.boundBytes);
          EXPECT_GE(ev.hbmBytes, bound.l2.boundBytes);
          EXPECT_LE(ev.hbmBytes, ev.globalBytes);
          EXPECT_GT(ev.seconds, 0);
        });
        // flash3_grad_deterministic's tile_q = tile_kv = 16 x warps leaves
        // no register fit at D = 128; every other offered family has one.
        // flash2_grad at D = 128: 16 key rows a warp of dK and dV plus the
        // dQ step exceed the registers everywhere (ptxas spilled the
        // closest, AttentionGrad.cpp), the deterministic form fits.
        if (a != Algorithm::Flash3GradDeterministic &&
            !(a == Algorithm::Flash2Grad && p.headDim > 64))
          EXPECT_GT(feasible, 0u) << algorithmName(a);
      }
    }
  }
}

TEST(AttentionGrad, QuadraticTermBindsOnLongSequences) {
  // N = M = 128K, D = 128: the recomputed Q K^T products force more traffic
  // across a CTA's on-chip memory than the inputs and outputs.
  AttentionProblem p = attention(131072, 128, MaskKind::None, 1, 16);
  const Target &t = target("sm_90");
  IOBound bound = attentionGradIOBound(p, t);
  EXPECT_GT(bound.onChip.extraBytes, bound.onChip.compulsoryBytes);
  EXPECT_EQ(bound.onChip.boundBytes, bound.onChip.extraBytes);
  EXPECT_EQ(bound.onChip.level, "on-chip");
  EXPECT_EQ(bound.l2.level, "L2");
  // The same products as the forward: the same quadratic term.
  EXPECT_EQ(bound.onChip.extraBytes, attentionIOBound(p, t).onChip.extraBytes);
  Result<ScheduleSpace> space = attentionGradSpace(p, t, Algorithm::Flash2Grad);
  ASSERT_TRUE(space.ok()) << space.error();
  forEachFeasible(*space, [&](const Schedule &s) {
    EXPECT_GE(evaluateAttentionGrad(p, t, s).globalBytes, bound.onChip.boundBytes)
        << s.str();
  });
  // A mask_mod's sparsity is unknown: no quadratic term.
  p.hasMaskMod = true;
  EXPECT_EQ(attentionGradIOBound(p, t).onChip.extraBytes, 0);
}

TEST(AttentionGrad, CompulsoryTrafficByHand) {
  // B = Hq = Hkv = 1, N = M = 1024, D = Dv = 64, 2-byte elements, no mask:
  //   q, o, dO read: 1024 x (64 + 2 x 64) x 2 = 393216; lse: 1024 x 4 = 4096;
  //   dq written: 1024 x 64 x 2 = 131072;
  //   k, v read and dk, dv written: 2 x 1024 x 128 x 2 = 524288.
  AttentionProblem p = attention(1024, 64);
  LevelBound b = attentionGradLevelBound(p, 1 << 20, "on-chip");
  EXPECT_EQ(b.compulsoryBytes, 393216 + 4096 + 131072 + 524288);
  // Causal with N = 3000 > M = 1000: only the last 1000 query rows see a
  // key, so only they need q, o, dO and lse; dq is written whole.
  AttentionProblem c = attention(3000, 64, MaskKind::Causal);
  c.keyLen = 1000;
  b = attentionGradLevelBound(c, 1 << 20, "on-chip");
  EXPECT_EQ(b.compulsoryBytes,
            1000 * (192 * 2 + 4) + 3000 * 64 * 2 + 2 * 1000 * 128 * 2);
}

TEST(AttentionGrad, ResourceFormulasMatchHandArithmetic) {
  // flash2_grad, D = Dv = 128, Br = Bc = 64, 2 stages, 4 warps, e = 2:
  //   kv smem = 2 (64 x 256 + 2 x 64 x 256 + 64 x 64)
  //           = 2 (16384 + 32768 + 4096) = 106496 (no dq kernel);
  //   r = 64 / 4 = 16 key rows per warp: dK, dV 16 x 256 / 32 = 128,
  //   S^T, dP^T 2 x 16 x 64 / 32 = 64, 16-bit copies 16 x 64 / 64 = 16:
  //   lse and D of 64 query columns 64 / 2 = 32: 240; the dQ phase (32
  //   columns at a time) 128 + (64 / 4) x 32 / 32 = 144; 240 + 56 = 296.
  AttentionProblem p = attention(4096, 128);
  Schedule a;
  a.algorithm = Algorithm::Flash2Grad;
  a.tileQ = 64;
  a.tileKv = 64;
  a.tileD = a.tileDv = 128;
  a.stages = 2;
  a.warps = 4;
  EXPECT_EQ(attentionGradSmemBytes(p, a), 106496);
  // Registers: the 296 of the fragments and fixed part above, plus the 16
  // of the kv kernel's dQ step beside dK and dV (mma.sync, atomic dQ).
  EXPECT_EQ(attentionGradRegisters(p, a), 312);

  // flash2_grad_deterministic, D = Dv = 64 with a score_mod, Br = 64,
  // Bc = 32, 3 stages, 2 warps:
  //   kv smem = 2 (32 x 128 + 3 x 64 x 128) = 2 (4096 + 24576) = 57344
  //           (no dS^T staging: the dq kernel computes dQ);
  //   dq smem = 2 (64 x 128 + 3 x 32 x 128) = 2 (8192 + 12288) = 40960;
  //   the schedule's: 57344.
  //   kv: r = 16: dK, dV 16 x 128 / 32 = 64, S^T, dP^T 2 x 16 x 64 / 32 = 64,
  //   the raw score in bf16 16 x 64 / 64 = 16, copies 16 x 64 / 64 = 16,
  //   lse and D 64 / 2 = 32: 192 + 56 = 248, and 8 for a score_mod's
  //   derivative beside a 3-deep ring: 256. dq: R = 32: dQ 32 x 64 / 32 =
  //   64, S, dP 2 x 32 x 32 / 32 = 64, the raw score 32 x 32 / 64 = 16:
  //   144 + 56 + 8 = 208. The schedule's: 256.
  AttentionProblem q = attention(4096, 64);
  q.hasScoreMod = true;
  Schedule b;
  b.algorithm = Algorithm::Flash2GradDeterministic;
  b.tileQ = 64;
  b.tileKv = 32;
  b.tileD = b.tileDv = 64;
  b.stages = 3;
  b.warps = 2;
  EXPECT_EQ(attentionGradSmemBytes(q, b), 57344);
  EXPECT_EQ(attentionGradRegisters(q, b), 256);
  EXPECT_EQ(attentionGradKernels(q, b),
            (std::vector<GradKernel>{GradKernel::Prep, GradKernel::Kv,
                                     GradKernel::Dq}));
  EXPECT_EQ(attentionGradKernelSmemBytes(q, b, GradKernel::Dq), 40960);
  EXPECT_EQ(attentionGradKernelRegisters(q, b, GradKernel::Dq), 208);
  EXPECT_EQ(attentionGradKernelSmemBytes(q, b, GradKernel::Prep), 0);
  // Evaluation reports each kernel's own.
  Evaluation ev = evaluateAttentionGrad(q, target("sm_90"), b);
  ASSERT_EQ(ev.kernels.size(), 3u);
  EXPECT_EQ(ev.kernels[0].name, "prep");
  EXPECT_EQ(ev.kernels[1].name, "kv");
  EXPECT_EQ(ev.kernels[1].smemBytes, 57344);
  EXPECT_EQ(ev.kernels[1].registersPerThread, 256);
  EXPECT_EQ(ev.kernels[2].name, "dq");
  EXPECT_EQ(ev.kernels[2].smemBytes, 40960);
  EXPECT_EQ(ev.kernels[2].registersPerThread, 208);
  EXPECT_EQ(ev.smemBytes, 57344);

  // The same tiles as flash2_grad: dS^T staged (+ 2 x 32 x 64 = 4096), no
  // dq kernel but a convert kernel; the dQ
  // phase (64 + (64 / 2) x 32 / 32 = 96) stays under 192, and the dQ step's
  // 16 join the fixed part: 192 + 56 + 16 + 8 = 272.
  b.algorithm = Algorithm::Flash2Grad;
  EXPECT_EQ(attentionGradSmemBytes(q, b), 61440);
  EXPECT_EQ(attentionGradRegisters(q, b), 272);
  ev = evaluateAttentionGrad(q, target("sm_90"), b);
  ASSERT_EQ(ev.kernels.size(), 3u);
  EXPECT_EQ(ev.kernels[2].name, "convert");
}

TEST(AttentionGrad, SpaceAndCheckerAgreeOnEveryPoint) {
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    const Target &t = target(name);
    for (const AttentionProblem &p : gradProblems()) {
      for (Algorithm a : kGradFamilies) {
        if (!offered(p, t, a))
          continue;
        SCOPED_TRACE(describe(p) + " " + name + " " + algorithmName(a));
        Result<ScheduleSpace> space = attentionGradSpace(p, t, a);
        ASSERT_TRUE(space.ok()) << space.error();
        const SearchSpace &s = space->space;
        for (size_t i = 0; i < s.size(); ++i) {
          Point x = s.point(s.indexOf(i));
          Schedule sch = space->toSchedule(x);
          std::vector<std::string> broken = checkAttentionGradSchedule(p, t, sch);
          EXPECT_EQ(s.feasible(x), broken.empty())
              << sch.str() << (broken.empty() ? "" : ": " + broken.front());
        }
      }
    }
  }
}

TEST(AttentionGrad, CheckerNamesTheRule) {
  AttentionProblem p = attention(4096, 128);
  const Target &t = target("sm_90");
  Schedule s;
  // The dq kernel gives each warp whole 16-row tiles of query rows.
  s.algorithm = Algorithm::Flash2GradDeterministic;
  s.tileQ = 32;
  s.tileKv = 64;
  s.tileD = s.tileDv = 128;
  s.stages = 4;
  s.warps = 4;
  s.smemBytes = attentionGradSmemBytes(p, s);
  std::vector<std::string> broken = checkAttentionGradSchedule(p, t, s);
  ASSERT_EQ(broken.size(), 2u);
  EXPECT_NE(broken[0].find("stages = 4"), std::string::npos) << broken[0];
  EXPECT_NE(broken[1].find("tile_q = 32 must be a multiple of 16 x warps = 64"),
            std::string::npos)
      << broken[1];
  // flash2_grad's dQ step splits 32 query rows x 128 columns among 4 warps
  // as 2 row groups x 2 column halves of 64: only the stages rule is broken;
  // 8 warps over 32 x 32 columns would leave 8 columns per warp.
  s.algorithm = Algorithm::Flash2Grad;
  s.smemBytes = attentionGradSmemBytes(p, s);
  broken = checkAttentionGradSchedule(p, t, s);
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].find("stages = 4"), std::string::npos) << broken[0];
  AttentionProblem narrow = attention(4096, 32);
  Schedule w = s;
  w.tileD = w.tileDv = 32;
  w.stages = 2;
  w.tileKv = 128;
  w.warps = 8;
  w.smemBytes = attentionGradSmemBytes(narrow, w);
  broken = checkAttentionGradSchedule(narrow, t, w);
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].find("does not split among 8 warps in whole 16 x 16 tiles"),
            std::string::npos)
      << broken[0];
  s.algorithm = Algorithm::Flash2GradDeterministic;

  // Registers: 8 warps of 16 key rows at tile_q = 128 need 128 + 128 + 32
  // + 64 (lse, D) + 56 = 408.
  s.tileQ = 128;
  s.tileKv = 128;
  s.stages = 2;
  s.warps = 8;
  s.smemBytes = attentionGradSmemBytes(p, s);
  broken = checkAttentionGradSchedule(p, t, s);
  ASSERT_FALSE(broken.empty());
  EXPECT_NE(broken[0].find("the kv kernel needs about 408 registers"),
            std::string::npos)
      << broken[0];
  // A forward family is not a backward schedule.
  s.algorithm = Algorithm::Flash2;
  broken = checkAttentionGradSchedule(p, t, s);
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].find("not an attention backward schedule"),
            std::string::npos);
}

TEST(AttentionGrad, WarpgroupRulesAreTheCheckers) {
  const Target &t = target("sm_90");
  AttentionProblem p = attention(4096, 128, MaskKind::Causal, 2, 8);
  Schedule s;
  s.algorithm = Algorithm::Flash3Grad;
  s.tileQ = 64;
  s.tileKv = 128;
  s.tileD = s.tileDv = 128;
  s.stages = 2;
  s.warps = 8;
  s.smemBytes = attentionGradSmemBytes(p, s);
  EXPECT_TRUE(checkAttentionGradSchedule(p, t, s).empty());
  // dQ = dS K on wgmma: each warpgroup one 64-row tile of query rows by a
  // multiple of 64 columns; 32 query rows fill no wgmma tile, and at D = 64
  // two warpgroups cannot split 64 query rows' columns.
  Schedule thin = s;
  thin.tileQ = 32;
  thin.smemBytes = attentionGradSmemBytes(p, thin);
  std::vector<std::string> dq = checkAttentionGradSchedule(p, t, thin);
  ASSERT_FALSE(dq.empty());
  EXPECT_NE(dq[0].find("tile_q = 32 by D = 128 does not split into one 64-row wgmma tile"),
            std::string::npos) << dq[0];
  AttentionProblem p64 = attention(4096, 64, MaskKind::Causal, 2, 8);
  Schedule narrow = s;
  narrow.tileD = narrow.tileDv = 64;
  narrow.smemBytes = attentionGradSmemBytes(p64, narrow);
  dq = checkAttentionGradSchedule(p64, t, narrow);
  ASSERT_FALSE(dq.empty());
  EXPECT_NE(dq[0].find("does not split"), std::string::npos) << dq[0];
  // Two 64-row blocks of 128 query rows, one a warpgroup, split no columns
  // (at ptxas' register limit, which the estimate keeps out).
  Schedule rows = narrow;
  rows.tileQ = 128;
  rows.smemBytes = attentionGradSmemBytes(p64, rows);
  for (const std::string &v : checkAttentionGradSchedule(p64, t, rows))
    EXPECT_EQ(v.find("does not split"), std::string::npos) << v;
  // Each warpgroup owns one 64-row wgmma tile of key rows: 8 warps over
  // 64 keys (8 rows a warp) is mma.sync's shape, not wgmma's.
  Schedule half = s;
  half.tileKv = 64;
  half.smemBytes = attentionGradSmemBytes(p, half);
  std::vector<std::string> broken = checkAttentionGradSchedule(p, t, half);
  ASSERT_FALSE(broken.empty());
  EXPECT_NE(broken[0].find("tile_kv = 64 must be 16 x warps = 128"), std::string::npos) << broken[0];
  Schedule twoWarps = s;
  twoWarps.warps = 2;
  twoWarps.tileKv = 32;
  twoWarps.smemBytes = attentionGradSmemBytes(p, twoWarps);
  broken = checkAttentionGradSchedule(p, t, twoWarps);
  ASSERT_FALSE(broken.empty());
  EXPECT_NE(broken[0].find("whole warpgroups"), std::string::npos) << broken[0];
  // The deterministic dq kernel's warpgroups own 64 query rows too.
  Schedule det = s;
  det.algorithm = Algorithm::Flash3GradDeterministic;
  det.smemBytes = attentionGradSmemBytes(p, det);
  broken = checkAttentionGradSchedule(p, t, det);
  ASSERT_FALSE(broken.empty());
  EXPECT_NE(broken[0].find("tile_q = 64 must be 16 x warps = 128"), std::string::npos) << broken[0];
  // No wgmma on sm_80; head dims below 64 do not fill a 64-column slab.
  EXPECT_NE(attentionGradPrecondition(p, target("sm_80"), Algorithm::Flash3Grad).find("wgmma"),
            std::string::npos);
  EXPECT_NE(attentionGradPrecondition(attention(4096, 32), t, Algorithm::Flash3Grad)
                .find("multiples of 64"),
            std::string::npos);
  // The model ranks the warpgroup kernel first where it is offered: the
  // same tiles on wgmma cost fewer tensor-pipe seconds and fewer shared
  // memory reads (each warpgroup reads the streamed tile once).
  Schedule sync = s;
  sync.algorithm = Algorithm::Flash2Grad;
  Evaluation e3 = evaluateAttentionGrad(p, t, s), e2 = evaluateAttentionGrad(p, t, sync);
  EXPECT_LT(e3.kernels[1].mmaSeconds, e2.kernels[1].mmaSeconds);
  EXPECT_LT(e3.kernels[1].smemTraffic, e2.kernels[1].smemTraffic);
  SolveOptions options;
  Result<ScheduleResult> r = scheduleAttentionGrad(p, t, options, false);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->algorithm, Algorithm::Flash3Grad);
}

TEST(AttentionGrad, ChosenSchedulesPassTheChecker) {
  SolveOptions options;
  options.topK = 6;
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    const Target &t = target(name);
    for (const AttentionProblem &p : gradProblems()) {
      SCOPED_TRACE(describe(p) + " " + name);
      Result<ScheduleResult> r = scheduleAttentionGrad(p, t, options, false);
      ASSERT_TRUE(r.ok()) << r.error();
      ASSERT_FALSE(r->candidates.empty());
      EXPECT_EQ(r->algorithm, r->candidates.front().schedule.algorithm);
      std::set<std::string> seen;
      for (size_t i = 0; i < r->candidates.size(); ++i) {
        const Candidate &c = r->candidates[i];
        SCOPED_TRACE(c.schedule.str());
        EXPECT_TRUE(isAttentionGradAlgorithm(c.schedule.algorithm));
        EXPECT_TRUE(seen.insert(c.schedule.str()).second);
        EXPECT_TRUE(checkAttentionGradSchedule(p, t, c.schedule).empty());
        EXPECT_EQ(c.schedule.smemBytes, c.evaluation.smemBytes);
        EXPECT_GE(c.ioRatio, 1.0);
        EXPECT_GE(c.hbmRatio, 1.0);
        EXPECT_FALSE(c.evaluation.binding.empty());
        if (i > 0)
          EXPECT_GE(c.evaluation.seconds, r->candidates[i - 1].evaluation.seconds);
      }
      // Every family the target and head dims take was searched, each
      // over its whole space: the wgmma ones only where the target has
      // wgmma (sm_90) and the head dims are multiples of 64.
      // (A family with no feasible point adds none.)
      size_t points = 0;
      std::set<Algorithm> searched;
      for (Algorithm a : kGradFamilies) {
        SolveOptions one = options;
        one.algorithm = a;
        if (Result<ScheduleResult> alone = scheduleAttentionGrad(p, t, one, false); alone.ok()) {
          EXPECT_EQ(alone->spacePoints, attentionGradSpace(p, t, a)->space.size());
          points += alone->spacePoints;
          searched.insert(a);
        }
      }
      EXPECT_EQ(r->spacePoints, points);
      const bool wgmma = t.mma(MmaKind::Wgmma) && p.headDim % 64 == 0 && p.valueDim % 64 == 0;
      EXPECT_EQ(searched.count(Algorithm::Flash3Grad), wgmma ? 1u : 0u);
    }
  }
}

TEST(AttentionGrad, DeterministicSearchesOnlyTheDeterministicFamily) {
  SolveOptions options;
  options.topK = 8;
  for (const AttentionProblem &p : gradProblems()) {
    SCOPED_TRACE(describe(p));
    Result<ScheduleResult> r =
        scheduleAttentionGrad(p, target("sm_90"), options, true);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_FALSE(gradAtomicDq(r->algorithm));
    for (const Candidate &c : r->candidates)
      EXPECT_FALSE(gradAtomicDq(c.schedule.algorithm)) << c.schedule.str();
  }
  // Asking for the atomic family and determinism at once is an error, as
  // is a forward family.
  options.algorithm = Algorithm::Flash2Grad;
  Result<ScheduleResult> r =
      scheduleAttentionGrad(attention(4096, 64), target("sm_90"), options, true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("flash2_grad_deterministic"), std::string::npos);
  options.algorithm = Algorithm::Flash2;
  r = scheduleAttentionGrad(attention(4096, 64), target("sm_90"), options, false);
  ASSERT_FALSE(r.ok());
  // One family on request.
  options.algorithm = Algorithm::Flash2Grad;
  r = scheduleAttentionGrad(attention(4096, 64), target("sm_90"), options, false);
  ASSERT_TRUE(r.ok()) << r.error();
  for (const Candidate &c : r->candidates)
    EXPECT_EQ(c.schedule.algorithm, Algorithm::Flash2Grad);
}

// Past D = 128 (or Dv) the kv kernel is split in two, kv_dv and kv_dk,
// each holding one accumulator; only the warpgroup schedules run it, and
// the deterministic one's dq kernel (dQ of D = 256 beside S and dP) does
// not fit its registers. Every other form says why not.
TEST(AttentionGrad, WideHeadDimsSplitTheKvKernel) {
  SolveOptions options;
  const Target t = target("sm_90");
  AttentionProblem d256 = attention(4096, 256);
  AttentionProblem dv256 = attention(4096, 128);
  dv256.valueDim = 256;
  AttentionProblem mla = attention(4096, 192);
  mla.valueDim = 128;
  EXPECT_FALSE(gradSplitsKv(attention(4096, 128)));
  for (const AttentionProblem &p : {d256, dv256, mla}) {
    SCOPED_TRACE(describe(p));
    EXPECT_TRUE(gradSplitsKv(p));
    Result<ScheduleResult> r = scheduleAttentionGrad(p, t, options, false);
    ASSERT_TRUE(r.ok()) << r.error();
    for (const Candidate &c : r->candidates) {
      const Schedule &s = c.schedule;
      EXPECT_TRUE(usesWgmma(s.algorithm)) << algorithmName(s.algorithm);
      std::vector<GradKernel> kernels = attentionGradKernels(p, s);
      ASSERT_EQ(kernels.size(), 4u);
      EXPECT_EQ(kernels[1], GradKernel::KvDv);
      EXPECT_EQ(kernels[2], GradKernel::KvDk);
      // One accumulator each: both within the register file, where one kv
      // kernel holding dK and dV would not be.
      int64_t dv = attentionGradKernelRegisters(p, s, GradKernel::KvDv),
              dk = attentionGradKernelRegisters(p, s, GradKernel::KvDk);
      EXPECT_LE(std::max(dv, dk), t.maxRegistersPerThread);
      EXPECT_GT(attentionGradKernelRegisters(p, s, GradKernel::Kv), t.maxRegistersPerThread);
      if (gradAtomicDq(s.algorithm))
        EXPECT_LT(attentionGradKernelSmemBytes(p, s, GradKernel::KvDv),
                  attentionGradKernelSmemBytes(p, s, GradKernel::KvDk));
      // The model's launches are the kernels, by name, and their products:
      // kv_dv S and dV, kv_dk S, dP, dK (and dQ) over every score.
      Evaluation e = evaluateAttentionGrad(p, t, s);
      ASSERT_EQ(e.kernels.size(), 4u);
      EXPECT_EQ(e.kernels[1].name, "kv_dv");
      EXPECT_EQ(e.kernels[2].name, "kv_dk");
      const double scores = double(p.batch) * p.queryHeads * p.queryLen * p.keyLen;
      const double D = p.headDim, Dv = p.valueDim;
      EXPECT_DOUBLE_EQ(e.kernels[1].flops, 2 * scores * (D + Dv));
      EXPECT_DOUBLE_EQ(e.kernels[2].flops,
                       2 * scores * (D + Dv + D + (gradAtomicDq(s.algorithm) ? D : 0)));
    }
  }
  // The deterministic form: its dq kernel holds dQ of 256 columns beside S
  // and dP, past the registers (the message says so); at 192 it fits.
  Result<ScheduleResult> det = scheduleAttentionGrad(d256, t, options, true);
  ASSERT_FALSE(det.ok());
  EXPECT_NE(det.error().find("registers per thread"), std::string::npos) << det.error();
  EXPECT_TRUE(scheduleAttentionGrad(mla, t, options, true).ok());
  // mma.sync keeps both accumulators in one kernel: refused, naming the
  // warpgroup schedules; past 256 the backward stops.
  Result<ScheduleResult> sm80 = scheduleAttentionGrad(d256, target("sm_80"), options, false);
  ASSERT_FALSE(sm80.ok());
  EXPECT_NE(sm80.error().find("wider heads take the warpgroup schedules"), std::string::npos)
      << sm80.error();
  EXPECT_NE(attentionGradPrecondition(attention(4096, 512), t, Algorithm::Flash3Grad)
                .find("head dims up to 256"),
            std::string::npos);
  // Head dims the tiles cannot take are named too.
  AttentionProblem d96 = attention(4096, 96);
  Result<ScheduleResult> r = scheduleAttentionGrad(d96, target("sm_90"), options, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("32, 64 or 128"), std::string::npos) << r.error();
  AttentionProblem f32 = attention(4096, 64);
  f32.elementBytes = 4;
  r = scheduleAttentionGrad(f32, target("sm_90"), options, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("16-bit inputs"), std::string::npos) << r.error();
}

TEST(AttentionGrad, Z3AndEnumerationRankAlike) {
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    const Target &t = target(name);
    for (const AttentionProblem &p : gradProblems()) {
      for (Algorithm a : kGradFamilies) {
        if (!offered(p, t, a))
          continue;
        SCOPED_TRACE(describe(p) + " " + name + " " + algorithmName(a));
        Result<ScheduleSpace> space = attentionGradSpace(p, t, a);
        ASSERT_TRUE(space.ok()) << space.error();
        expectSameRanking(space->space, 8);
      }
    }
  }
  // And through the scheduler, both families ranked together.
  SolveOptions z3, brute;
  z3.topK = brute.topK = 6;
  brute.engine = SearchEngine::Enumeration;
  AttentionProblem gqa = attention(8192, 128, MaskKind::Causal, 2, 16);
  gqa.keyHeads = 4;
  Result<ScheduleResult> a = scheduleAttentionGrad(gqa, target("sm_90"), z3, false);
  Result<ScheduleResult> b = scheduleAttentionGrad(gqa, target("sm_90"), brute, false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->engine, "z3");
  EXPECT_EQ(b->engine, "enumeration");
  ASSERT_EQ(a->candidates.size(), b->candidates.size());
  for (size_t i = 0; i < a->candidates.size(); ++i)
    EXPECT_EQ(a->candidates[i].schedule, b->candidates[i].schedule);
}

TEST(AttentionGrad, ConstraintsReadOnlyTheirDeclaredDimensions) {
  // The Z3 encoding tabulates each constraint over its declared dimensions:
  // changing any other must not change its value.
  std::mt19937 rng(5);
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    for (Algorithm a : kGradFamilies) {
      AttentionProblem p = attention(4096, 64, MaskKind::Causal);
      p.hasScoreMod = true;
      if (!offered(p, target(name), a))
        continue;
      Result<ScheduleSpace> space = attentionGradSpace(p, target(name), a);
      ASSERT_TRUE(space.ok()) << space.error();
      const SearchSpace &s = space->space;
      for (const SpaceConstraint &c : s.constraints)
        for (int trial = 0; trial < 100; ++trial) {
          std::vector<size_t> index(s.dims.size());
          for (size_t d = 0; d < s.dims.size(); ++d)
            index[d] = rng() % s.dims[d].values.size();
          Point x = s.point(index);
          for (size_t d = 0; d < s.dims.size(); ++d)
            if (std::find(c.dims.begin(), c.dims.end(), d) == c.dims.end())
              index[d] = rng() % s.dims[d].values.size();
          ASSERT_EQ(c.value(x), c.value(s.point(index)))
              << c.resource << " reads an undeclared dimension";
        }
    }
  }
}

TEST(AttentionGrad, MaskListsPrePassesLeadTheLaunches) {
  // A mask_mod whose tiles its extras decide (packed documents): every
  // backward schedule takes mask_lists, and the launch order starts with
  // the pre-passes: the kv kernel's transposed lists, then a dq kernel's.
  AttentionProblem p = attention(4096, 128, MaskKind::Causal, 2, 16);
  p.keyHeads = 8; // GQA groups of 2
  p.hasMaskMod = p.maskModTiles = true;
  const Target &t = target("sm_90");
  SolveOptions options;
  options.topK = 4;
  for (bool deterministic : {false, true}) {
    SCOPED_TRACE(deterministic ? "deterministic" : "atomic");
    Result<ScheduleResult> r = scheduleAttentionGrad(p, t, options, deterministic);
    ASSERT_TRUE(r.ok()) << r.error();
    for (const Candidate &c : r->candidates) {
      SCOPED_TRACE(c.schedule.str());
      EXPECT_EQ(c.schedule.maskLists, 1);
      std::vector<GradKernel> kernels = attentionGradKernels(p, c.schedule);
      ASSERT_GE(kernels.size(), 4u);
      EXPECT_EQ(kernels[0], GradKernel::KvMaskLists);
      EXPECT_STREQ(gradKernelName(kernels[0]), "mask_lists_t");
      const bool dq = !gradAtomicDq(c.schedule.algorithm);
      EXPECT_EQ(kernels[1] == GradKernel::DqMaskLists, dq);
      EXPECT_EQ(kernels[dq ? 2 : 1], GradKernel::Prep);
      EXPECT_EQ(kernels.back(), dq ? GradKernel::Dq : GradKernel::Convert);
    }
  }
  // A mask_mod without that form keeps the tile loops: no schedule takes
  // the lists, and the checker refuses one that asks, naming the form.
  AttentionProblem plain = p;
  plain.maskModTiles = false;
  Result<ScheduleResult> r = scheduleAttentionGrad(plain, t, options, false);
  ASSERT_TRUE(r.ok()) << r.error();
  Schedule asked = r->candidates.front().schedule;
  EXPECT_EQ(asked.maskLists, 0);
  EXPECT_EQ(attentionGradKernels(plain, asked).front(), GradKernel::Prep);
  asked.maskLists = 1;
  std::vector<std::string> why = checkAttentionGradSchedule(plain, t, asked);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("mask_lists"), std::string::npos) << why[0];
  // The lists' walk costs the atomic kv kernel a register per further head
  // of the group, as a block mask's does.
  Schedule atomic = asked;
  atomic.algorithm = Algorithm::Flash2Grad;
  atomic.tileQ = 64;
  atomic.tileKv = 64;
  atomic.tileD = atomic.tileDv = 128;
  atomic.stages = 2;
  atomic.warps = 4;
  atomic.maskLists = 0;
  const int64_t without = attentionGradKernelRegisters(p, atomic, GradKernel::Kv);
  atomic.maskLists = 1;
  EXPECT_GT(attentionGradKernelRegisters(p, atomic, GradKernel::Kv), without);
}
