//===- SizeRuleTest.cpp - first choices at other query lengths -------------===//
//
// schedule/SizeRule.h: one plan's candidates gain the model's first choice
// at a few other query lengths (tokens kept), and the rule names, for each
// length, the candidate the model ranks first there.
//
//===----------------------------------------------------------------------===//

#include "schedule/SizeRule.h"

#include "TestProblems.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

TEST(SizeRule, LengthsAroundThePlannedOne) {
  EXPECT_EQ(sizeRuleLengths(8192), (std::vector<int64_t>{512, 2048, 8192, 16384}));
  EXPECT_EQ(sizeRuleLengths(512), (std::vector<int64_t>{128, 512, 1024}));
  EXPECT_EQ(sizeRuleLengths(100), (std::vector<int64_t>{100, 200}));
  EXPECT_EQ(sizeRuleLengths(1), (std::vector<int64_t>{1}));
}

TEST(SizeRule, EachLengthRunsTheModelsFirstChoiceThere) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "full");
    AttentionProblem p = attention(8192, 128);
    p.batch = 2;
    p.queryHeads = p.keyHeads = 16;
    p.mask = causal ? MaskKind::Causal : MaskKind::None;
    const Target &t = target("h200");
    SolveOptions options;
    options.topK = 4;
    Result<ScheduleResult> planned = scheduleAttention(p, t, options);
    ASSERT_TRUE(planned.ok()) << planned.error();
    const size_t before = planned->candidates.size();
    Result<SizeRule> rule = attentionSizeRule(p, t, options, *planned);
    ASSERT_TRUE(rule.ok()) << rule.error();
    // The ranked candidates keep their order; new first choices follow.
    ASSERT_GE(planned->candidates.size(), before);
    ASSERT_LE(planned->candidates.size(), before + sizeRuleLengths(p.queryLen).size() - 1);
    if (rule->empty())
      continue;
    ASSERT_EQ(rule->variants.size(), rule->upperBounds.size() + 1);
    for (size_t i = 1; i < rule->upperBounds.size(); ++i)
      EXPECT_LT(rule->upperBounds[i - 1], rule->upperBounds[i]);
    auto pick = [&](int64_t n) {
      size_t k = 0;
      while (k < rule->upperBounds.size() && n > rule->upperBounds[k])
        ++k;
      return rule->variants[k];
    };
    EXPECT_EQ(pick(p.queryLen), 0) << "the planned length runs the plan's first choice";
    SolveOptions first = options;
    first.topK = 1;
    for (int64_t n : sizeRuleLengths(p.queryLen)) {
      AttentionProblem at = p;
      at.queryLen = at.keyLen = n;
      at.batch = std::max<int64_t>(1, p.batch * p.queryLen / n);
      Result<ScheduleResult> alone = scheduleAttention(at, t, first);
      ASSERT_TRUE(alone.ok()) << alone.error();
      int64_t v = pick(n);
      ASSERT_LT(static_cast<size_t>(v), planned->candidates.size());
      EXPECT_TRUE(planned->candidates[v].schedule == alone->candidates.front().schedule)
          << "N = " << n << " runs variant " << v << ", not the model's first choice there";
    }
  }
}

} // namespace
