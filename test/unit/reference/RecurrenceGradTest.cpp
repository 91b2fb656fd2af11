//===- RecurrenceGradTest.cpp - recurrence gradients by finite differences ===//
//
// reference/RecurrenceGrad.h against central differences of the forward
// recurrence (Recurrence.h) itself, for every gate kind, from a zero and a
// given initial state, with and without a final-state gradient: every
// element of q, k, v, the gate operands and the initial state is perturbed
// and the scalar L = sum(o * dout) + the final-state terms recomputed.
//
//===----------------------------------------------------------------------===//

#include "TestHelpers.h"
#include "reference/RecurrenceGrad.h"
#include "reference/ChunkwiseGrad.h"
#include "reference/Inputs.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"
#include "reference/ReferenceError.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace flashgen::reference;

namespace {

const GateKind kAllGates[] = {GateKind::None, GateKind::Decay, GateKind::Vector,
                              GateKind::MlstmExp, GateKind::MlstmSig};

Tensor<double> randomLike(const Shape &shape, std::mt19937_64 &rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Tensor<double> t(shape);
  for (double &x : t.values())
    x = normal(rng);
  return t;
}

/// The inputs of a small problem of `gate` (initial state when asked).
LinearInputs<double> smallInputs(GateKind gate, int64_t batch, int64_t heads, int64_t steps,
                                 int64_t keyDim, int64_t valueDim, bool initial, uint64_t seed) {
  LinearInputSpec spec;
  spec.gate = gate;
  spec.batch = batch;
  spec.heads = heads;
  spec.steps = steps;
  spec.keyDim = keyDim;
  spec.valueDim = valueDim;
  spec.initialState = initial;
  spec.seed = seed;
  return generateLinearInputs(spec);
}

/// A random final-state gradient of `gate`'s state (c, then n and m where
/// the gate kind has them).
RecurrentState<double> randomStateGradient(GateKind gate, int64_t batch, int64_t heads,
                                           int64_t keyDim, int64_t valueDim, std::mt19937_64 &rng) {
  RecurrentState<double> d;
  d.c = randomLike({batch, heads, keyDim, valueDim}, rng);
  if (gateHasNormalizer(gate))
    d.n = randomLike({batch, heads, keyDim}, rng);
  if (gateHasStabilizer(gate))
    d.m = randomLike({batch, heads}, rng);
  return d;
}

/// L(inputs) as the gradient defines it.
double loss(const LinearProblem &problem, const LinearInputs<double> &in,
            const Tensor<double> &dout, const RecurrentState<double> *dFinal) {
  LinearResult<double> r = referenceRecurrence(problem, in);
  double l = 0.0;
  for (size_t i = 0; i < r.out.values().size(); ++i)
    l += r.out.values()[i] * dout.values()[i];
  if (dFinal) {
    auto dot = [](const Tensor<double> &a, const Tensor<double> &b) {
      double s = 0.0;
      for (size_t i = 0; i < b.values().size(); ++i)
        s += a.values()[i] * b.values()[i];
      return s;
    };
    l += dot(r.finalState.c, dFinal->c);
    if (!dFinal->n.empty())
      l += dot(r.finalState.n, dFinal->n);
    if (!dFinal->m.empty())
      l += dot(r.finalState.m, dFinal->m);
  }
  return l;
}

/// Every element of `operand` (of `in`) perturbed by +-h: the central
/// difference against `analytic`, relative to the largest analytic entry.
void expectMatchesFiniteDifferences(const LinearProblem &problem, LinearInputs<double> in,
                                    Tensor<double> LinearInputs<double>::*operand,
                                    Tensor<double> RecurrentState<double>::*state,
                                    const Tensor<double> &analytic, const Tensor<double> &dout,
                                    const RecurrentState<double> *dFinal, const char *name) {
  Tensor<double> &x = operand ? in.*operand : in.initial.*state;
  ASSERT_EQ(x.shape(), analytic.shape()) << name;
  EXPECT_LT(flashgen::reference::testing::finiteDifferenceError(x, analytic,
                                           [&] { return loss(problem, in, dout, dFinal); }),
            1e-6)
      << name;
}

void checkGate(GateKind gate, bool initial, bool finalGradient, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << gateKindName(gate) << (initial ? ", initial state" : "")
                                    << (finalGradient ? ", final-state gradient" : ""));
  LinearProblem problem;
  problem.gate = gate;
  LinearInputs<double> in = smallInputs(gate, 2, 1, 7, 3, 2, initial, seed);
  std::mt19937_64 rng(seed * 7 + 1);
  Tensor<double> dout = randomLike({2, 1, 7, 2}, rng);
  RecurrentState<double> dFinal;
  if (finalGradient)
    dFinal = randomStateGradient(gate, 2, 1, 3, 2, rng);
  const RecurrentState<double> *df = finalGradient ? &dFinal : nullptr;
  LinearGradResult g = referenceRecurrenceGrad(problem, in, dout, df);
  using In = LinearInputs<double>;
  using St = RecurrentState<double>;
  expectMatchesFiniteDifferences(problem, in, &In::q, nullptr, g.dq, dout, df, "dq");
  expectMatchesFiniteDifferences(problem, in, &In::k, nullptr, g.dk, dout, df, "dk");
  expectMatchesFiniteDifferences(problem, in, &In::v, nullptr, g.dv, dout, df, "dv");
  if (!in.logDecay.empty())
    expectMatchesFiniteDifferences(problem, in, &In::logDecay, nullptr, g.dLogDecay, dout, df,
                                   "dlog_decay");
  else
    EXPECT_TRUE(g.dLogDecay.empty());
  if (!in.inputGate.empty()) {
    expectMatchesFiniteDifferences(problem, in, &In::inputGate, nullptr, g.dInputGate, dout, df,
                                   "dinput_gate");
    expectMatchesFiniteDifferences(problem, in, &In::forgetGate, nullptr, g.dForgetGate, dout, df,
                                   "dforget_gate");
  }
  if (initial) {
    expectMatchesFiniteDifferences(problem, in, nullptr, &St::c, g.dInitial.c, dout, df, "dC0");
    if (gateHasNormalizer(gate))
      expectMatchesFiniteDifferences(problem, in, nullptr, &St::n, g.dInitial.n, dout, df, "dn0");
    if (gateHasStabilizer(gate))
      expectMatchesFiniteDifferences(problem, in, nullptr, &St::m, g.dInitial.m, dout, df, "dm0");
  } else {
    // From the zero state: its gradient still says how training it would
    // move the loss (the same as from a given zero state).
    LinearInputs<double> zero = in;
    zero.initial = RecurrentState<double>{};
    zero.initial.c = Tensor<double>(g.dInitial.c.shape());
    if (gateHasNormalizer(gate))
      zero.initial.n = Tensor<double>(g.dInitial.n.shape());
    if (gateHasStabilizer(gate))
      zero.initial.m = Tensor<double>(g.dInitial.m.shape());
    expectMatchesFiniteDifferences(problem, zero, nullptr, &St::c, g.dInitial.c, dout, df, "dC0");
  }
}

TEST(RecurrenceGradTest, EveryGateMatchesFiniteDifferences) {
  uint64_t seed = 11;
  for (GateKind gate : kAllGates)
    for (bool initial : {false, true})
      for (bool finalGradient : {false, true})
        checkGate(gate, initial, finalGradient, seed++);
}

TEST(RecurrenceGradTest, SplitSequenceChainsThroughTheState) {
  // The gradient of a sequence run in two halves, the second from the
  // first's final state, equals the whole sequence's: the second half's
  // dInitial is the first half's final-state gradient.
  LinearProblem problem;
  problem.gate = GateKind::MlstmExp;
  LinearInputSpec spec;
  spec.gate = problem.gate;
  spec.steps = 8;
  spec.keyDim = 4;
  spec.valueDim = 3;
  spec.seed = 5;
  LinearInputs<double> whole = generateLinearInputs(spec);
  std::mt19937_64 rng(9);
  Tensor<double> dout = randomLike({1, 1, 8, 3}, rng);
  auto half = [&](const Tensor<double> &t, int64_t from) {
    if (t.empty())
      return t;
    Shape s = t.shape();
    const int64_t inner = t.values().size() / s[2];
    s[2] = 4;
    std::vector<double> v(t.values().begin() + from * inner,
                          t.values().begin() + (from + 4) * inner);
    return Tensor<double>(s, v);
  };
  LinearInputs<double> first, second;
  for (auto [part, from] : {std::pair<LinearInputs<double> *, int64_t>{&first, 0}, {&second, 4}}) {
    part->q = half(whole.q, from);
    part->k = half(whole.k, from);
    part->v = half(whole.v, from);
    part->inputGate = half(whole.inputGate, from);
    part->forgetGate = half(whole.forgetGate, from);
  }
  second.initial = referenceRecurrence(problem, first).finalState;
  LinearGradResult late = referenceRecurrenceGrad(problem, second, half(dout, 4));
  LinearGradResult early = referenceRecurrenceGrad(problem, first, half(dout, 0), &late.dInitial);
  LinearGradResult all = referenceRecurrenceGrad(problem, whole, dout);
  for (int64_t i = 0; i < 4 * 4; ++i) {
    EXPECT_NEAR(early.dq.values()[i], all.dq.values()[i], 1e-12);
    EXPECT_NEAR(late.dk.values()[i], all.dk.values()[16 + i], 1e-12);
  }
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_NEAR(early.dForgetGate.values()[i], all.dForgetGate.values()[i], 1e-12);
}

TEST(RecurrenceGradTest, MalformedGradientsAreErrors) {
  LinearProblem problem;
  LinearInputSpec spec;
  spec.steps = 3;
  spec.keyDim = 2;
  spec.valueDim = 2;
  LinearInputs<double> in = generateLinearInputs(spec);
  EXPECT_THROW(referenceRecurrenceGrad(problem, in, Tensor<double>({1, 1, 3, 3})), ReferenceError);
  RecurrentState<double> bad;
  bad.c = Tensor<double>({1, 1, 2, 3});
  EXPECT_THROW(referenceRecurrenceGrad(problem, in, Tensor<double>({1, 1, 3, 2}), &bad), ReferenceError);
}

} // namespace

namespace {

// The chunkwise backward (reference/ChunkwiseGrad.h) against the
// definition: every gate kind (mlstm_exp unstabilised, its stabiliser's
// eps term and max chain backwards), chunk sizes that do and do
// not divide T (1, 3, T, T + 2), with and without initial states and a
// final-state gradient, GQA-free batch x heads.
TEST(ChunkwiseGradTest, MatchesTheDefinitionAtEveryChunkSize) {
  uint64_t seed = 100;
  for (GateKind gate : kAllGates)
    for (bool initial : {false, true})
      for (int64_t chunk : {1, 3, 10, 12}) {
        SCOPED_TRACE(::testing::Message() << gateKindName(gate) << " chunk " << chunk
                                          << (initial ? ", initial state" : ""));
        LinearProblem problem;
        problem.gate = gate;
        LinearInputs<double> in = smallInputs(gate, 2, 2, 10, 4, 3, initial, seed++);
        std::mt19937_64 rng(seed);
        Tensor<double> dout = randomLike({2, 2, 10, 3}, rng);
        RecurrentState<double> dFinal = randomStateGradient(gate, 2, 2, 4, 3, rng);
        const RecurrentState<double> *withFinal = &dFinal;
        for (const RecurrentState<double> *df : {(const RecurrentState<double> *)nullptr, withFinal}) {
          LinearGradResult want = referenceRecurrenceGrad(problem, in, dout, df);
          LinearGradResult got = chunkwiseRecurrenceGrad(problem, in, dout, df, chunk);
          auto close = [](const Tensor<double> &a, const Tensor<double> &b, const char *name,
                          double tolerance = 1e-10) {
            ASSERT_EQ(a.shape(), b.shape()) << name;
            double largest = 1e-30, worst = 0.0;
            for (size_t i = 0; i < b.values().size(); ++i) {
              largest = std::max(largest, std::fabs(b.values()[i]));
              worst = std::max(worst, std::fabs(a.values()[i] - b.values()[i]));
            }
            EXPECT_LT(worst / largest, tolerance) << name;
          };
          close(got.dq, want.dq, "dq");
          close(got.dk, want.dk, "dk");
          close(got.dv, want.dv, "dv");
          if (!want.dLogDecay.empty()) close(got.dLogDecay, want.dLogDecay, "dlog_decay");
          if (!want.dInputGate.empty()) {
            close(got.dInputGate, want.dInputGate, "dinput_gate");
            close(got.dForgetGate, want.dForgetGate, "dforget_gate");
          }
          close(got.dInitial.c, want.dInitial.c, "dC0");
          if (gateHasNormalizer(gate)) close(got.dInitial.n, want.dInitial.n, "dn0");
          // m_0's gradient sums terms of both signs (the initial state's
          // exp(m_0) scale against the stabiliser chain): rounding cancels
          // to about 1e-9 of it.
          if (gateHasStabilizer(gate)) close(got.dInitial.m, want.dInitial.m, "dm0", 1e-8);
        }
      }
}

TEST(ChunkwiseGradTest, BadChunksAndGradientsAreErrors) {
  LinearProblem problem;
  LinearInputSpec spec;
  spec.steps = 3;
  spec.keyDim = 2;
  spec.valueDim = 2;
  LinearInputs<double> in = generateLinearInputs(spec);
  Tensor<double> dout({1, 1, 3, 2});
  EXPECT_THROW(chunkwiseRecurrenceGrad(problem, in, dout, nullptr, 0), ReferenceError);
  EXPECT_THROW(chunkwiseRecurrenceGrad(problem, in, Tensor<double>({1, 1, 3, 3}), nullptr, 2),
               ReferenceError);
}

} // namespace
