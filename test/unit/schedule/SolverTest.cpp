//===- SolverTest.cpp - Z3 search against brute force ---------------------===//
//
// On every space, the Z3 search must return exactly the points enumeration
// ranks first, in the same order, with the same objective; infeasible
// spaces must come back with a core that really has no common point.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/Enumerate.h"
#include "schedule/LinearSpace.h"
#include "schedule/Z3Search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

void expectSameRanking(const SearchSpace &space, unsigned topK) {
  SearchOptions options;
  options.topK = topK;
  Result<SearchOutcome> z3 = searchWithZ3(space, options);
  ASSERT_TRUE(z3.ok()) << z3.error();
  SearchOutcome brute = searchByEnumeration(space, options);
  ASSERT_EQ(z3->ranked.size(), brute.ranked.size());
  for (size_t i = 0; i < brute.ranked.size(); ++i) {
    SCOPED_TRACE("rank " + std::to_string(i));
    EXPECT_EQ(z3->ranked[i].linear, brute.ranked[i].linear);
    EXPECT_EQ(z3->ranked[i].point, brute.ranked[i].point);
    EXPECT_EQ(z3->ranked[i].objective.primary, brute.ranked[i].objective.primary);
    EXPECT_TRUE(space.feasible(z3->ranked[i].point));
  }
  EXPECT_EQ(z3->conflict.empty(), brute.conflict.empty());
}

/// A random space: 3 to 5 dimensions of 2 to 6 values, 1 to 4 table
/// constraints over random dimension subsets, an objective with many ties
/// and a few undefined points.
SearchSpace randomSpace(std::mt19937 &rng, bool tightLimits) {
  SearchSpace s;
  size_t dims = 3 + rng() % 3;
  for (size_t d = 0; d < dims; ++d) {
    SpaceDim dim;
    dim.name = "x" + std::to_string(d);
    size_t n = 2 + rng() % 5;
    for (size_t i = 0; i < n; ++i)
      dim.values.push_back(static_cast<int64_t>(1 + rng() % 300));
    s.dims.push_back(dim);
  }
  size_t constraints = 1 + rng() % 4;
  for (size_t c = 0; c < constraints; ++c) {
    SpaceConstraint k;
    k.resource = "r" + std::to_string(c);
    for (size_t d = 0; d < dims; ++d)
      if (rng() % 2)
        k.dims.push_back(d);
    if (k.dims.empty())
      k.dims.push_back(rng() % dims);
    uint32_t salt = rng();
    std::vector<size_t> used = k.dims;
    k.value = [used, salt](const Point &p) {
      uint64_t h = salt;
      for (size_t d : used)
        h = h * 1000003u + static_cast<uint64_t>(p[d]);
      return static_cast<int64_t>((h ^ (h >> 13)) % 1000);
    };
    k.limit = tightLimits ? 30 + rng() % 100 : 300 + rng() % 600;
    k.limitText = "limit " + std::to_string(k.limit);
    s.constraints.push_back(k);
  }
  uint32_t salt = rng();
  s.objective = [salt](const Point &p) {
    uint64_t h = salt;
    for (int64_t v : p)
      h = h * 6364136223846793005ull + static_cast<uint64_t>(v);
    ObjectiveValue o;
    o.defined = (h >> 7) % 23 != 0;
    o.primary = static_cast<int64_t>((h >> 11) % 40);  // many ties
    o.secondary = static_cast<int64_t>((h >> 29) % 3); // and tied ties
    return o;
  };
  return s;
}

} // namespace

TEST(Z3Search, MatchesEnumerationOnRandomSpaces) {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    SearchSpace s = randomSpace(rng, false);
    expectSameRanking(s, 6);
  }
}

TEST(Z3Search, InfeasibleSpacesComeWithARealConflict) {
  std::mt19937 rng(99);
  int infeasible = 0;
  for (int trial = 0; trial < 60 && infeasible < 8; ++trial) {
    SearchSpace s = randomSpace(rng, true);
    SearchOptions options;
    Result<SearchOutcome> z3 = searchWithZ3(s, options);
    ASSERT_TRUE(z3.ok()) << z3.error();
    SearchOutcome brute = searchByEnumeration(s, options);
    ASSERT_EQ(z3->ranked.empty(), brute.ranked.empty());
    if (!z3->ranked.empty())
      continue;
    ++infeasible;
    ASSERT_FALSE(z3->conflict.empty());
    // No point satisfies the core's constraints together.
    SearchSpace core = s;
    core.constraints.clear();
    for (size_t ci : z3->conflict)
      core.constraints.push_back(s.constraints[ci]);
    EXPECT_TRUE(searchByEnumeration(core, options).ranked.empty());
    // Enumeration's conflict is deletion-minimal: dropping any member
    // leaves a feasible space.
    for (size_t drop = 0; drop < brute.conflict.size(); ++drop) {
      SearchSpace fewer = s;
      fewer.constraints.clear();
      for (size_t i = 0; i < brute.conflict.size(); ++i)
        if (i != drop)
          fewer.constraints.push_back(s.constraints[brute.conflict[i]]);
      EXPECT_FALSE(searchByEnumeration(fewer, options).ranked.empty());
    }
  }
  EXPECT_GE(infeasible, 3);
}

TEST(Z3Search, FewerFeasiblePointsThanAsked) {
  SearchSpace s;
  s.dims = {{"a", {1, 2, 3}, {}}, {"b", {1, 2}, {}}};
  SpaceConstraint c;
  c.resource = "sum";
  c.dims = {0, 1};
  c.value = [](const Point &p) { return p[0] + p[1]; };
  c.limit = 3; // (1,1), (2,1), (1,2)
  s.constraints.push_back(c);
  s.objective = [](const Point &p) {
    return ObjectiveValue{true, 10 - p[0] * p[1], 0};
  };
  SearchOptions options;
  options.topK = 10;
  Result<SearchOutcome> z3 = searchWithZ3(s, options);
  ASSERT_TRUE(z3.ok());
  ASSERT_EQ(z3->ranked.size(), 3u);
  // Objective 10 - a b: (2,1) and (1,2) tie at 8, broken by index: (2,1)
  // has index 1, (1,2) index 3; then (1,1) at 9.
  EXPECT_EQ(z3->ranked[0].point, (Point{2, 1}));
  EXPECT_EQ(z3->ranked[1].point, (Point{1, 2}));
  EXPECT_EQ(z3->ranked[2].point, (Point{1, 1}));
  expectSameRanking(s, 10);
}

TEST(Z3Search, MatchesEnumerationOnAttentionSpaces) {
  struct Case {
    AttentionProblem p;
    const char *target;
    Algorithm algorithm;
  };
  AttentionProblem gqa = attention(2048, 128, MaskKind::Causal, 2, 16);
  gqa.keyHeads = 4;
  AttentionProblem window = attention(3000, 64, MaskKind::SlidingWindow, 1, 8);
  window.window = 512;
  AttentionProblem decode = attention(1, 128, MaskKind::None, 4, 32);
  decode.keyLen = 8192;
  Case cases[] = {
      {attention(8192, 128), "sm_90", Algorithm::Flash2},
      {attention(8192, 64, MaskKind::Causal, 2, 16), "sm_80", Algorithm::Flash2},
      {gqa, "sm_90", Algorithm::Flash2},
      {window, "sm_test_small", Algorithm::Flash2},
      {decode, "sm_90", Algorithm::Flash2},
      {attention(4096, 512, MaskKind::None, 1, 4), "sm_90", Algorithm::Flash2DSplit},
      {attention(2048, 512, MaskKind::Causal), "sm_test_small",
       Algorithm::Flash2DSplit},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c.p) + " " + c.target);
    Result<ScheduleSpace> space = attentionSpace(c.p, target(c.target), c.algorithm);
    ASSERT_TRUE(space.ok()) << space.error();
    expectSameRanking(space->space, 8);
  }
}

TEST(Z3Search, MatchesEnumerationOnRecurrenceSpaces) {
  struct Case {
    LinearProblem p;
    const char *target;
  };
  LinearProblem gla = linear(3000, 128, 128, GateKind::Vector, 2, 8);
  gla.hasInitialState = true;
  Case cases[] = {
      {linear(16384, 128, 128, GateKind::Decay, 4, 16), "sm_90"},
      {linear(8192, 256, 512, GateKind::MlstmExp, 8, 8), "sm_90"},
      {gla, "sm_80"},
      {linear(512, 64, 64, GateKind::None), "sm_test_small"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c.p) + " " + c.target);
    Result<ScheduleSpace> space = linearSpace(c.p, target(c.target), std::nullopt);
    ASSERT_TRUE(space.ok()) << space.error();
    expectSameRanking(space->space, 8);
  }
}

TEST(Z3Search, LimitsAreInclusive) {
  // A constraint whose limit sits exactly on a table value: <= is inclusive
  // in both engines.
  SearchSpace s;
  s.dims = {{"a", {1, 2, 4, 8}, {}}};
  SpaceConstraint c;
  c.resource = "a squared";
  c.dims = {0};
  c.value = [](const Point &p) { return p[0] * p[0]; };
  c.limit = 16;
  s.constraints.push_back(c);
  s.objective = [](const Point &p) { return ObjectiveValue{true, -p[0], 0}; };
  SearchOptions options;
  options.topK = 1;
  Result<SearchOutcome> z3 = searchWithZ3(s, options);
  ASSERT_TRUE(z3.ok());
  ASSERT_EQ(z3->ranked.size(), 1u);
  EXPECT_EQ(z3->ranked[0].point, Point{4});
}

namespace {

/// Every constraint may read only the dimensions it declares (the Z3
/// encoding tabulates it over those): changing any other dimension must
/// not change its value.
void expectConstraintsReadOnlyTheirDims(const SearchSpace &s) {
  std::mt19937 rng(3);
  for (size_t ci = 0; ci < s.constraints.size(); ++ci) {
    const SpaceConstraint &c = s.constraints[ci];
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<size_t> index(s.dims.size());
      for (size_t d = 0; d < s.dims.size(); ++d)
        index[d] = rng() % s.dims[d].values.size();
      Point a = s.point(index);
      for (size_t d = 0; d < s.dims.size(); ++d)
        if (std::find(c.dims.begin(), c.dims.end(), d) == c.dims.end())
          index[d] = rng() % s.dims[d].values.size();
      Point b = s.point(index);
      ASSERT_EQ(c.value(a), c.value(b))
          << c.resource << " reads an undeclared dimension";
    }
  }
}

} // namespace

TEST(SearchSpaces, ConstraintsReadOnlyTheirDeclaredDimensions) {
  for (const char *name : {"sm_80", "sm_90", "sm_test_small"}) {
    const Target &t = target(name);
    for (Algorithm a : {Algorithm::Flash2, Algorithm::Flash2DSplit}) {
      AttentionProblem p = attention(4096, a == Algorithm::Flash2 ? 128 : 512,
                                     MaskKind::Causal);
      Result<ScheduleSpace> space = attentionSpace(p, t, a);
      ASSERT_TRUE(space.ok()) << space.error();
      expectConstraintsReadOnlyTheirDims(space->space);
    }
    for (GateKind g : {GateKind::Vector, GateKind::MlstmExp, GateKind::Decay}) {
      Result<ScheduleSpace> space =
          linearSpace(linear(4096, 128, 256, g), t, std::nullopt);
      ASSERT_TRUE(space.ok()) << space.error();
      expectConstraintsReadOnlyTheirDims(space->space);
    }
  }
}
