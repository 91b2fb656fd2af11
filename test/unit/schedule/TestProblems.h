//===- TestProblems.h - problems the schedule tests share ------*- C++ -*-===//
//
// Builders for the attention and recurrence problems the tests use, and a
// helper that visits every feasible point of a schedule space.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_TEST_UNIT_SCHEDULE_TESTPROBLEMS_H
#define FLASHGEN_TEST_UNIT_SCHEDULE_TESTPROBLEMS_H

#include "schedule/AttentionSpace.h"
#include "schedule/Problem.h"
#include "schedule/SearchSpace.h"
#include "schedule/Target.h"

#include <gtest/gtest.h>

namespace flashgen::schedule::test {

inline const Target &target(const char *name) {
  Result<const Target *> t = lookupTarget(name);
  EXPECT_TRUE(t.ok()) << t.error();
  return **t;
}

inline AttentionProblem attention(int64_t n, int64_t d,
                                  MaskKind mask = MaskKind::None,
                                  int64_t batch = 1, int64_t heads = 1) {
  AttentionProblem p;
  p.batch = batch;
  p.queryHeads = p.keyHeads = heads;
  p.queryLen = p.keyLen = n;
  p.headDim = p.valueDim = d;
  p.mask = mask;
  return p;
}

/// Serving decode as examples/decode_gqa.mlir: GQA 32/8, d = 128, N new
/// tokens of each sequence over M cached keys, bottom-right causal.
inline AttentionProblem decode(int64_t batch, int64_t queryLen, int64_t keyLen) {
  AttentionProblem p = attention(queryLen, 128, MaskKind::Causal, batch, 32);
  p.keyHeads = 8;
  p.keyLen = keyLen;
  return p;
}

inline LinearProblem linear(int64_t t, int64_t dk, int64_t dv, GateKind gate,
                            int64_t batch = 1, int64_t heads = 1) {
  LinearProblem p;
  p.batch = batch;
  p.heads = heads;
  p.length = t;
  p.keyDim = dk;
  p.valueDim = dv;
  p.gate = gate;
  return p;
}

/// Calls f(schedule) for every point of `space` that satisfies its
/// constraints; returns how many there were.
template <typename F> size_t forEachFeasible(const ScheduleSpace &space, F f) {
  size_t n = 0;
  for (size_t linear = 0; linear < space.space.size(); ++linear) {
    Point p = space.space.point(space.space.indexOf(linear));
    if (!space.space.feasible(p))
      continue;
    ++n;
    f(space.toSchedule(p));
  }
  return n;
}

} // namespace flashgen::schedule::test

#endif // FLASHGEN_TEST_UNIT_SCHEDULE_TESTPROBLEMS_H
