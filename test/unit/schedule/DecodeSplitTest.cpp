//===- DecodeSplitTest.cpp - flash_decode's split rule and cost -----------===//
//
// The split count is computed twice: by the cost model (decodeSplits) and by
// the runtime from the manifest expression the lowering writes
// (decodeSplitsExpr, evaluated by runtime/Expr.h). They must agree on every
// size, and the rule must do what it promises: split CTAs never more than
// it aims for (DecodeSplit.h: the resident ones, never a second wave), no
// split shorter than the minimum unless the keys are too few, at least one.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "runtime/Expr.h"
#include "schedule/AttentionCost.h"
#include "schedule/Checker.h"
#include "schedule/DecodeSplit.h"
#include "schedule/Scheduler.h"
#include "schedule/SizeRule.h"
#include "schedule/Units.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

Schedule decodeSchedule(int64_t tileQ, int64_t tileKv, int64_t stages,
                        int64_t warps) {
  Schedule s;
  s.algorithm = Algorithm::FlashDecode;
  s.tileQ = tileQ;
  s.tileKv = tileKv;
  s.tileD = s.tileDv = 128;
  s.stages = stages;
  s.warps = warps;
  return s;
}

TEST(DecodeSplitTest, ExpressionAgreesWithTheModel) {
  const Target &t = target("h200");
  for (Schedule s : {decodeSchedule(16, 16, 2, 1), decodeSchedule(64, 64, 3, 4)}) {
    s.smemBytes = attentionSmemBytes(decode(1, 1, 1), s);
    DecodeSplitRule rule = decodeSplitRule(decode(1, 1, 1), t, s);
    flashgen::Expr expr;
    std::string error;
    ASSERT_TRUE(flashgen::Expr::parse(
        decodeSplitsExpr(rule, "B", "N", "M"),
        [](const std::string &name) {
          return name == "B" ? 0 : name == "N" ? 1 : name == "M" ? 2 : -1;
        },
        expr, error))
        << error;
    for (int64_t b : {1, 3, 8, 64, 128})
      for (int64_t n : {1, 2, 4, 16, 33})
        for (int64_t m : {1, 37, 2048, 32768, 131072}) {
          int64_t slots[] = {b, n, m}, fromExpr = 0;
          ASSERT_EQ(expr.evaluate(slots, fromExpr), flashgen::ExprError::None);
          int64_t splits = decodeSplits(rule, b, n, m);
          EXPECT_EQ(fromExpr, splits) << "B=" << b << " N=" << n << " M=" << m;
          EXPECT_GE(splits, 1);
          // Split CTAs stay within the aim.
          int64_t base = b * 8 * decodeQueryTiles(rule, n);
          if (splits > 1)
            EXPECT_LE(splits * base, rule.waveCtas);
          // No split below the minimum length, unless there is only one.
          if (splits > 1)
            EXPECT_GE(m, (splits - 1) * rule.minKeysPerSplit());
        }
  }
}

TEST(DecodeSplitTest, SplitsFillTheMachineForOneSequence) {
  const Target &t = target("h200");
  Schedule s = decodeSchedule(16, 16, 2, 1);
  DecodeSplitRule rule = decodeSplitRule(decode(1, 1, 1), t, s);
  // One sequence, 8 kv heads: 8 CTAs without splits; 128k keys allow many.
  EXPECT_GE(8 * decodeSplits(rule, 1, 1, 131072), t.numSMs);
  // The aim is the resident CTAs, at most kDecodeMaxCtasPerSm a SM: the
  // 32-key tiles' 3 stages (56 KiB) fit 4, the 64-key tiles' 2.
  for (auto [tileKv, resident] : {std::pair<int64_t, int64_t>{32, 4}, {64, 2}}) {
    Schedule wide = decodeSchedule(32, tileKv, 3, 2);
    DecodeSplitRule r = decodeSplitRule(decode(1, 1, 1), t, wide);
    EXPECT_EQ(r.ctasPerSm, std::min(resident, kDecodeMaxCtasPerSm)) << tileKv;
    EXPECT_LE(r.ctasPerSm,
              ctasPerSM(t, attentionSmemBytes(decode(1, 1, 1), wide),
                        attentionRegisters(decode(1, 1, 1), wide), 64));
  }
  EXPECT_EQ(rule.waveCtas, rule.ctasPerSm * t.numSMs);
  // A long batch needs none.
  EXPECT_EQ(decodeSplits(rule, 1024, 1, 131072), 1);
}

TEST(DecodeSplitTest, RaggedLastWavesLoseAtLargerBatches) {
  // 64 sequences x 8 kv heads are 512 CTAs before splitting: a 4-stage
  // ring of 32-key tiles fits 3 a SM (396 slots, a last wave of 116 that
  // streams at what few CTAs keep in flight), a 3-stage ring 4 (528 slots,
  // one wave). Measured on the H200: 1.26x as long.
  const Target &t = target("h200");
  Schedule deep = decodeSchedule(32, 32, 4, 2), shallow = decodeSchedule(32, 32, 3, 2);
  for (Schedule *s : {&deep, &shallow})
    s->smemBytes = attentionSmemBytes(decode(64, 1, 32768), *s);
  Evaluation deep64 = evaluateDecode(decode(64, 1, 32768), t, deep);
  Evaluation shallow64 = evaluateDecode(decode(64, 1, 32768), t, shallow);
  EXPECT_EQ(deep64.kernels.front().ctasPerSM, 3);
  EXPECT_EQ(shallow64.kernels.front().ctasPerSM, 4);
  EXPECT_GT(deep64.seconds, 1.05 * shallow64.seconds);
  // Planned at 8 sequences the two are alike, but the rank also prices 8
  // times the batch (and an eighth of it), each over its HBM time, so the
  // ring without a ragged last wave ranks first.
  Evaluation deep8 = evaluateDecode(decode(8, 1, 32768), t, deep);
  Evaluation shallow8 = evaluateDecode(decode(8, 1, 32768), t, shallow);
  Evaluation shallow1 = evaluateDecode(decode(1, 1, 32768), t, shallow);
  EXPECT_LT(std::abs(deep8.seconds - shallow8.seconds), 0.02 * shallow8.seconds);
  EXPECT_LT(shallow8.rankSeconds, deep8.rankSeconds);
  auto overHbm = [&](const Evaluation &e) {
    return e.seconds / (static_cast<double>(e.hbmBytes) / t.hbmBytesPerSecond);
  };
  EXPECT_NEAR(shallow8.rankSeconds,
              (overHbm(shallow8) + overHbm(shallow64) + overHbm(shallow1)) / 3 *
                  (static_cast<double>(shallow8.hbmBytes) / t.hbmBytesPerSecond),
              1e-12);
}

TEST(DecodeSplitTest, SchedulerPacksOneTokenDecoding) {
  const Target &t = target("h200");
  SolveOptions options;
  options.topK = 4;
  Result<ScheduleResult> r = scheduleAttention(decode(8, 1, 32768), t, options);
  ASSERT_TRUE(r) << r.error();
  const Candidate &best = r->candidates.front();
  EXPECT_EQ(best.schedule.algorithm, Algorithm::FlashDecode);
  // K and V are read once per group: the HBM traffic is the bound's, not
  // the Hq / Hkv = 4 times it that one query head per tile reads.
  EXPECT_LT(best.hbmRatio, 1.1);
  // A prefill of 4096 tokens is not decoding.
  Result<ScheduleResult> prefill = scheduleAttention(decode(1, 4096, 4096), t, options);
  ASSERT_TRUE(prefill) << prefill.error();
  EXPECT_NE(prefill->candidates.front().schedule.algorithm, Algorithm::FlashDecode);
}

// A bundle planned for one new token also serves 16 (speculative
// verification): the size rule adds the first choice at 4 and 16 tokens
// and dispatches by N, so 16 tokens (64 packed rows of a 32/8 group) run
// in one tile of 64 rows, K and V read once per sequence and kv head, not
// once per 16-row tile.
TEST(DecodeSplitTest, SizeRuleGivesManyTokensATallerTile) {
  const Target &t = target("h200");
  SolveOptions options;
  options.topK = 4;
  AttentionProblem p = decode(8, 1, 32768);
  Result<ScheduleResult> planned = scheduleAttention(p, t, options);
  ASSERT_TRUE(planned) << planned.error();
  Result<SizeRule> rule = decodeSizeRule(p, t, options, *planned);
  ASSERT_TRUE(rule) << rule.error();
  ASSERT_FALSE(rule->empty());
  ASSERT_EQ(rule->variants.size(), rule->upperBounds.size() + 1);
  EXPECT_EQ(rule->variants.front(), 0);  // one token: the planned first choice
  auto variantFor = [&](int64_t n) {
    size_t i = 0;
    while (i < rule->upperBounds.size() && n > rule->upperBounds[i])
      ++i;
    return planned->candidates[rule->variants[i]].schedule;
  };
  EXPECT_EQ(variantFor(1), planned->candidates.front().schedule);
  EXPECT_GE(variantFor(4).tileQ, 16);
  Schedule many = variantFor(16);
  EXPECT_EQ(many.algorithm, Algorithm::FlashDecode);
  EXPECT_GE(many.tileQ, 4 * 16) << many.str();
  for (const Candidate &c : planned->candidates)
    EXPECT_TRUE(checkAttentionSchedule(p, t, c.schedule).empty()) << c.schedule.str();
  // A plan that is not flash_decode gets no decode rule.
  ScheduleResult prefill = *scheduleAttention(decode(1, 4096, 4096), t, options);
  Result<SizeRule> none = decodeSizeRule(decode(1, 4096, 4096), t, options, prefill);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// Key warps (Schedule::keyWarps): tile_kv / inner_kv warps share a key
// tile's rows, so 16 rows take 4 warps; the checker names what breaks.
TEST(DecodeSplitTest, KeyWarpsShareRowsAndTheCheckerNamesTheirRules) {
  const Target &t = target("h200");
  AttentionProblem p = decode(8, 1, 32768);
  Schedule s = decodeSchedule(16, 64, 3, 4);
  s.innerKv = 16;
  s.smemBytes = attentionSmemBytes(p, s);
  EXPECT_EQ(s.keyWarps(), 4);
  EXPECT_EQ(s.rowWarps(), 1);
  EXPECT_TRUE(checkAttentionSchedule(p, t, s).empty());
  auto mentions = [&](const Schedule &bad, const std::string &what) {
    for (const std::string &v : checkAttentionSchedule(p, t, bad))
      if (v.find(what) != std::string::npos)
        return true;
    return false;
  };
  Schedule bad = s;
  bad.innerKv = 24; // not whole 16-key steps
  EXPECT_TRUE(mentions(bad, "inner_kv = 24"));
  bad.innerKv = 64; // the whole tile is inner_kv = 0
  EXPECT_TRUE(mentions(bad, "inner_kv = 64"));
  bad = s;
  bad.innerKv = 32; // 2 key warps leave 2 row warps, which 16 rows cannot feed
  EXPECT_EQ(bad.rowWarps(), 2);
  EXPECT_TRUE(mentions(bad, "multiple of 16 x 2 = 32 (the warps that split its rows)"));
  bad = s;
  bad.warps = 2; // 4 key warps do not divide 2 warps
  EXPECT_TRUE(mentions(bad, "inner_kv = 16"));

  // The merge writes 3 warps x 32 lanes x (16 x 4 + 4) floats through the
  // ring, which holds 3 x 64 x 256 x 2 bytes and Q's.
  EXPECT_EQ(decodeKeyWarpMergeBytes(s, 128), 3 * 32 * 68 * 4);
  EXPECT_LE(decodeKeyWarpMergeBytes(s, 128), s.smemBytes);
  EXPECT_EQ(decodeKeyWarpMergeBytes(decodeSchedule(32, 64, 3, 2), 128), 0);

  // Per warp, the registers hold a quarter of the scores of one warp that
  // reads the whole tile for the same rows.
  Schedule whole = decodeSchedule(16, 64, 3, 1);
  whole.smemBytes = attentionSmemBytes(p, whole);
  EXPECT_LT(attentionRegisters(p, s), attentionRegisters(p, whole));
}

} // namespace
