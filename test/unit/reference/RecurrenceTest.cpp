//===- RecurrenceTest.cpp - tests of the step-by-step recurrence ---------===//
//
// The recurrence is the definition, so it is checked against forms derived
// independently in this file: a hand-worked two-step case and, for every gate
// kind, the quadratic "parallel" form o_t = sum_s w_ts <q~_t, k_s> v_s
// (+ the decayed initial state), computed without any stabiliser. Also:
// state carry-over (splitting the sequence), large gates, validation.
//
//===----------------------------------------------------------------------===//

#include "reference/Recurrence.h"
#include "reference/GateMath.h"
#include "reference/Inputs.h"
#include "reference/Random.h"

#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace flashgen::reference;
using flashgen::reference::testing::allFinite;
using flashgen::reference::testing::relativeError;

namespace {

const GateKind kAllGates[] = {GateKind::None, GateKind::Decay, GateKind::Vector,
                              GateKind::MlstmExp, GateKind::MlstmSig};

TEST(RecurrenceTest, HandWorkedTwoStepsWithoutGate) {
  // Dk = Dv = 1, scale 1: S1 = k1 v1, o1 = q1 S1; S2 = S1 + k2 v2, o2 = q2 S2.
  LinearProblem problem;
  problem.scale = 1.0;
  LinearInputs<double> in;
  in.q = Tensor<double>({1, 1, 2, 1}, {2.0, -1.0});
  in.k = Tensor<double>({1, 1, 2, 1}, {3.0, 0.5});
  in.v = Tensor<double>({1, 1, 2, 1}, {5.0, 4.0});
  auto result = referenceRecurrence(problem, in);
  EXPECT_DOUBLE_EQ(result.out[0], 2.0 * 15.0);
  EXPECT_DOUBLE_EQ(result.out[1], -1.0 * (15.0 + 2.0));
  EXPECT_DOUBLE_EQ(result.finalState.c[0], 17.0);
}

TEST(RecurrenceTest, HandWorkedMlstmExpOneStep) {
  // From the zero state, m0 = 0: lf = log sigmoid(f); m1 = max(lf, i);
  // C1 = exp(i - m1) k v, n1 = exp(i - m1) k;
  // o = C1 q / (max(|n1 q|, exp(-m1)) + eps).
  const double i = 1.5, f = -0.3, q = 0.8, k = -2.0, v = 3.0;
  LinearProblem problem;
  problem.gate = GateKind::MlstmExp;
  problem.scale = 1.0;
  LinearInputs<double> in;
  in.q = Tensor<double>({1, 1, 1, 1}, {q});
  in.k = Tensor<double>({1, 1, 1, 1}, {k});
  in.v = Tensor<double>({1, 1, 1, 1}, {v});
  in.inputGate = Tensor<double>({1, 1, 1}, {i});
  in.forgetGate = Tensor<double>({1, 1, 1}, {f});
  auto result = referenceRecurrence(problem, in);
  const double lf = std::log(1.0 / (1.0 + std::exp(-f)));
  const double m1 = std::max(lf, i);
  const double c1 = std::exp(i - m1) * k * v, n1 = std::exp(i - m1) * k;
  const double expected =
      c1 * q / (std::max(std::fabs(n1 * q), std::exp(-m1)) + 1e-6);
  EXPECT_NEAR(result.out[0], expected, 1e-15);
  EXPECT_NEAR(result.finalState.m[0], m1, 1e-15);
  EXPECT_NEAR(result.finalState.n[0], n1, 1e-15);
}

/// The parallel form of docs/semantics.md §3.2, unstabilised: log weight
/// of key s at query t is F_t - F_s + log input_s with F the cumulative
/// log-forget, and the initial state weighs exp(F_t) (times exp(m0) for
/// mlstm_exp). Only valid for moderate gates (no overflow).
LinearResult<double> parallelForm(const LinearProblem &problem,
                                  const LinearInputs<double> &in) {
  const int64_t b = in.q.dim(0), h = in.q.dim(1), t = in.q.dim(2);
  const int64_t dk = in.q.dim(3), dv = in.v.dim(3);
  const double scale = problem.scale ? *problem.scale : 1.0 / std::sqrt(dk);
  const GateKind gate = problem.gate;
  const bool hasInitial = !in.initial.c.empty();
  LinearResult<double> result;
  result.out = Tensor<double>({b, h, t, dv});
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t hi = 0; hi < h; ++hi) {
      // cumulative log forget per key dim (width 1 for scalar gates)
      const int64_t width = gate == GateKind::Vector ? dk : 1;
      std::vector<double> cum((t + 1) * width, 0.0), logIn(t, 0.0);
      for (int64_t s = 0; s < t; ++s)
        for (int64_t d = 0; d < width; ++d) {
          double lf = 0.0;
          if (gate == GateKind::Decay)
            lf = in.logDecay.at({bi, hi, s});
          if (gate == GateKind::Vector)
            lf = in.logDecay.at({bi, hi, s, d});
          if (gate == GateKind::MlstmExp || gate == GateKind::MlstmSig) {
            lf = std::log(1.0 /
                          (1.0 + std::exp(-in.forgetGate.at({bi, hi, s}))));
            const double ig = in.inputGate.at({bi, hi, s});
            logIn[s] = gate == GateKind::MlstmExp
                           ? ig
                           : std::log(1.0 / (1.0 + std::exp(-ig)));
          }
          cum[(s + 1) * width + d] = cum[s * width + d] + lf;
        }
      const double m0 = gate == GateKind::MlstmExp && hasInitial
                            ? in.initial.m.at({bi, hi})
                            : 0.0;
      for (int64_t tt = 0; tt < t; ++tt) {
        std::vector<double> num(dv, 0.0);
        double den = 0.0;
        double mT = cum[(tt + 1) * width] + m0; // stabiliser, for eps only
        for (int64_t s = 0; s <= tt; ++s) {
          double dot = 0.0;
          for (int64_t d = 0; d < dk; ++d) {
            const int64_t w = width == 1 ? 0 : d;
            dot +=
                scale * in.q.at({bi, hi, tt, d}) * in.k.at({bi, hi, s, d}) *
                std::exp(cum[(tt + 1) * width + w] - cum[(s + 1) * width + w]);
          }
          const double weight = std::exp(logIn[s]);
          mT = std::max(mT, cum[(tt + 1) * width] - cum[(s + 1) * width] +
                                logIn[s]);
          for (int64_t e = 0; e < dv; ++e)
            num[e] += weight * dot * in.v.at({bi, hi, s, e});
          den += weight * dot;
        }
        if (hasInitial)
          for (int64_t d = 0; d < dk; ++d) {
            const int64_t w = width == 1 ? 0 : d;
            const double qd = scale * in.q.at({bi, hi, tt, d}) *
                              std::exp(cum[(tt + 1) * width + w] + m0);
            for (int64_t e = 0; e < dv; ++e)
              num[e] += qd * in.initial.c.at({bi, hi, d, e});
            if (gateHasNormalizer(gate))
              den += qd * in.initial.n.at({bi, hi, d});
          }
        for (int64_t e = 0; e < dv; ++e) {
          double o = num[e];
          // Unstabilised: divide by max(|n q|, 1) + eps * exp(m_t) for
          // mlstm_exp (semantics.md §3.2), max(|n q|, 1) + eps for mlstm_sig.
          if (gate == GateKind::MlstmExp)
            o /= std::max(std::fabs(den), 1.0) +
                 problem.normalizerEps * std::exp(mT);
          if (gate == GateKind::MlstmSig)
            o /= std::max(std::fabs(den), 1.0) + problem.normalizerEps;
          result.out.at({bi, hi, tt, e}) = o;
        }
      }
    }
  return result;
}

TEST(RecurrenceTest, MatchesParallelFormForEveryGate) {
  for (GateKind gate : kAllGates)
    for (bool initial : {false, true}) {
      LinearInputSpec spec;
      spec.gate = gate;
      spec.batch = 2;
      spec.heads = 2;
      spec.steps = 37;
      spec.keyDim = 5;
      spec.valueDim = 7;
      spec.initialState = initial;
      spec.seed = 99;
      auto in = generateLinearInputs(spec);
      LinearProblem problem;
      problem.gate = gate;
      auto expected = parallelForm(problem, in);
      auto actual = referenceRecurrence(problem, in);
      EXPECT_LT(relativeError(actual.out, expected.out), 1e-12)
          << gateKindName(gate) << (initial ? " with" : " without")
          << " initial state";
    }
}

/// Steps [from, to) of a [B, H, T] or [B, H, T, X] tensor; empty stays empty.
Tensor<double> sliceSteps(const Tensor<double> &x, int64_t from, int64_t to) {
  if (x.empty())
    return Tensor<double>();
  Shape shape = x.shape();
  const int64_t inner = x.rank() == 4 ? shape[3] : 1;
  shape[2] = to - from;
  Tensor<double> part(shape);
  for (int64_t bh = 0; bh < shape[0] * shape[1]; ++bh)
    for (int64_t t = from; t < to; ++t)
      for (int64_t d = 0; d < inner; ++d)
        part[(bh * (to - from) + t - from) * inner + d] =
            x[(bh * x.dim(2) + t) * inner + d];
  return part;
}

/// The operands of steps [from, to), without initial state.
LinearInputs<double> stepRange(const LinearInputs<double> &in, int64_t from,
                               int64_t to) {
  LinearInputs<double> part;
  part.q = sliceSteps(in.q, from, to);
  part.k = sliceSteps(in.k, from, to);
  part.v = sliceSteps(in.v, from, to);
  part.logDecay = sliceSteps(in.logDecay, from, to);
  part.inputGate = sliceSteps(in.inputGate, from, to);
  part.forgetGate = sliceSteps(in.forgetGate, from, to);
  return part;
}

TEST(RecurrenceTest, SplittingTheSequenceCarriesTheState) {
  // Running steps [0, T1) and then [T1, T) from the first part's final
  // state equals one run over [0, T): the state is complete.
  for (GateKind gate : kAllGates)
    for (bool initial : {false, true}) {
      LinearInputSpec spec;
      spec.gate = gate;
      spec.heads = 3;
      spec.steps = 40;
      spec.keyDim = 6;
      spec.valueDim = 4;
      spec.initialState = initial;
      spec.seed = 5;
      auto in = generateLinearInputs(spec);
      LinearProblem problem;
      problem.gate = gate;
      auto whole = referenceRecurrence(problem, in);

      const int64_t split = 17;
      LinearInputs<double> first = stepRange(in, 0, split);
      first.initial = in.initial;
      auto a = referenceRecurrence(problem, first);
      LinearInputs<double> second = stepRange(in, split, 40);
      second.initial = a.finalState;
      auto b = referenceRecurrence(problem, second);

      EXPECT_LT(relativeError(a.out, sliceSteps(whole.out, 0, split)), 1e-14);
      EXPECT_LT(relativeError(b.out, sliceSteps(whole.out, split, 40)), 1e-14)
          << gateKindName(gate);
      EXPECT_LT(relativeError(b.finalState.c, whole.finalState.c), 1e-14);
      if (gateHasNormalizer(gate))
        EXPECT_LT(relativeError(b.finalState.n, whole.finalState.n), 1e-14);
      if (gateHasStabilizer(gate))
        EXPECT_LT(relativeError(b.finalState.m, whole.finalState.m), 1e-14);
    }
}

TEST(RecurrenceTest, ZeroStepsReturnTheInitialState) {
  LinearInputSpec spec;
  spec.gate = GateKind::MlstmExp;
  spec.steps = 0;
  spec.initialState = true;
  auto in = generateLinearInputs(spec);
  LinearProblem problem;
  problem.gate = GateKind::MlstmExp;
  auto result = referenceRecurrence(problem, in);
  EXPECT_EQ(result.out.shape(), (Shape{1, 1, 0, 16}));
  EXPECT_EQ(result.finalState.c.values(), in.initial.c.values());
  EXPECT_EQ(result.finalState.n.values(), in.initial.n.values());
  EXPECT_EQ(result.finalState.m.values(), in.initial.m.values());
}

TEST(RecurrenceTest, LargeMlstmGatesStayFinite) {
  // Preactivations +-30: exp(i) alone would be 1e13; the stabiliser keeps
  // every factor <= 1 and the outputs finite and bounded.
  for (GateKind gate : {GateKind::MlstmExp, GateKind::MlstmSig}) {
    LinearInputSpec spec;
    spec.gate = gate;
    spec.heads = 2;
    spec.steps = 300;
    spec.keyDim = 8;
    spec.valueDim = 8;
    spec.initialState = true;
    spec.gates.inputGateMin = spec.gates.forgetGateMin = -30.0;
    spec.gates.inputGateMax = spec.gates.forgetGateMax = 30.0;
    spec.seed = 17;
    auto in = generateLinearInputs(spec);
    LinearProblem problem;
    problem.gate = gate;
    auto result = referenceRecurrence(problem, in);
    EXPECT_TRUE(allFinite(result.out)) << gateKindName(gate);
    EXPECT_TRUE(allFinite(result.finalState.c));
    EXPECT_TRUE(allFinite(result.finalState.n));
    if (gate == GateKind::MlstmExp) {
      EXPECT_TRUE(allFinite(result.finalState.m));
      // m tracks the largest log weight, so it is at least the last i_t.
      EXPECT_GE(result.finalState.m[0], in.inputGate.at({0, 0, 299}));
    }
  }
}

TEST(RecurrenceTest, MlstmExpStabiliserIsTheLargestLogWeight) {
  // m_T = max(F_T + m0, max_s (F_T - F_s + i_s)) with F the cumulative
  // log-forget: check the recurrence's final m against this closed form.
  LinearInputSpec spec;
  spec.gate = GateKind::MlstmExp;
  spec.steps = 50;
  spec.keyDim = 3;
  spec.valueDim = 2;
  spec.initialState = true;
  spec.gates.inputGateMin = -10.0;
  spec.gates.inputGateMax = 10.0;
  spec.seed = 8;
  auto in = generateLinearInputs(spec);
  LinearProblem problem;
  problem.gate = GateKind::MlstmExp;
  auto result = referenceRecurrence(problem, in);
  std::vector<double> cum(51, 0.0);
  for (int64_t s = 0; s < 50; ++s)
    cum[s + 1] = cum[s] + logSigmoid(in.forgetGate[s]);
  double expected = cum[50] + in.initial.m[0];
  for (int64_t s = 0; s < 50; ++s)
    expected = std::max(expected, cum[50] - cum[s + 1] + in.inputGate[s]);
  EXPECT_NEAR(result.finalState.m[0], expected, 1e-12);
}

template <typename F> std::string errorOf(F call) {
  try {
    call();
  } catch (const ReferenceError &error) {
    return error.what();
  }
  return "";
}

TEST(RecurrenceTest, InvalidOperandsNameTheProblem) {
  LinearInputSpec spec;
  spec.gate = GateKind::MlstmExp;
  spec.steps = 8;
  spec.keyDim = 4;
  spec.valueDim = 3;
  spec.initialState = true;
  const auto good = generateLinearInputs(spec);
  LinearProblem problem;
  problem.gate = GateKind::MlstmExp;
  EXPECT_EQ(errorOf([&] { referenceRecurrence(problem, good); }), "");

  auto expectError = [&](LinearInputs<double> in, const LinearProblem &p,
                         const std::string &fragment) {
    const std::string message = errorOf([&] { referenceRecurrence(p, in); });
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "expected '" << fragment << "' in '" << message << "'";
  };
  auto in = good;
  in.v = Tensor<double>({1, 1, 9, 3});
  expectError(in, problem, "'v' has shape [1, 1, 9, 3] but [1, 1, 8, *]");
  in = good;
  in.k = Tensor<double>({1, 1, 8, 5});
  expectError(in, problem, "'k' has shape");
  in = good;
  in.forgetGate = Tensor<double>();
  expectError(in, problem, "'forgetGate' has shape [] but [1, 1, 8]");
  in = good;
  in.logDecay = Tensor<double>({1, 1, 8});
  expectError(in, problem,
              "'logDecay' (shape [1, 1, 8]) is not used by gate "
              "kind mlstm_exp");
  in = good;
  in.initial.m = Tensor<double>();
  expectError(in, problem, "'initial m' has shape [] but [1, 1]");
  in = good;
  in.initial.c = Tensor<double>({1, 1, 3, 4});
  expectError(in, problem, "'initial C' has shape [1, 1, 3, 4]");

  LinearProblem decay;
  decay.gate = GateKind::Decay;
  in = good;
  expectError(in, decay, "'logDecay' has shape [] but [1, 1, 8]");
  LinearProblem vector;
  vector.gate = GateKind::Vector;
  in = good;
  in.inputGate = Tensor<double>();
  in.forgetGate = Tensor<double>();
  in.initial = {};
  in.logDecay = Tensor<double>({1, 1, 8});
  expectError(in, vector, "'logDecay' has shape [1, 1, 8] but [1, 1, 8, 4]");
  LinearProblem badEps = problem;
  badEps.normalizerEps = -1.0;
  expectError(good, badEps, "normalizer eps");
  expectError(LinearInputs<double>{}, problem, "'q' must have rank 4");
}

TEST(RecurrenceTest, PropertyMatchesParallelFormAndSplits) {
  // >= 200 random (gate, shape, scale, eps, split point) cases: the
  // recurrence equals the parallel form, and splitting it anywhere with the
  // state carried over changes nothing.
  Rng rng(77);
  for (int c = 0; c < 250; ++c) {
    LinearInputSpec spec;
    spec.gate = kAllGates[rng.uniformInt(0, 4)];
    spec.batch = rng.uniformInt(1, 2);
    spec.heads = rng.uniformInt(1, 2);
    spec.steps = rng.uniformInt(1, 30);
    spec.keyDim = rng.uniformInt(1, 6);
    spec.valueDim = rng.uniformInt(1, 6);
    spec.initialState = rng.uniformInt(0, 1);
    spec.seed = rng.next();
    auto in = generateLinearInputs(spec);
    LinearProblem problem;
    problem.gate = spec.gate;
    if (rng.uniformInt(0, 1))
      problem.scale = rng.uniform(0.1, 2.0);
    problem.normalizerEps = rng.uniform(0.0, 1e-3);
    auto whole = referenceRecurrence(problem, in);
    ASSERT_TRUE(allFinite(whole.out)) << "case " << c;
    ASSERT_LT(relativeError(whole.out, parallelForm(problem, in).out), 1e-11)
        << "case " << c << " gate " << gateKindName(spec.gate);

    const int64_t split = rng.uniformInt(0, spec.steps);
    LinearInputs<double> first = stepRange(in, 0, split);
    first.initial = in.initial;
    auto a = referenceRecurrence(problem, first);
    LinearInputs<double> second = stepRange(in, split, spec.steps);
    second.initial = a.finalState;
    auto b = referenceRecurrence(problem, second);
    ASSERT_LT(relativeError(b.out, sliceSteps(whole.out, split, spec.steps)),
              1e-13)
        << "case " << c;
    ASSERT_LT(relativeError(b.finalState.c, whole.finalState.c), 1e-13)
        << "case " << c;
  }
}

} // namespace
