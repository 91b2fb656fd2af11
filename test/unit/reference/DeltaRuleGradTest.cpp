//===- DeltaRuleGradTest.cpp - delta-rule gradients by finite differences --===//
//
// reference/DeltaRuleGrad.h against central differences of the step
// recurrence (DeltaRule.h) itself: DeltaNet and gated DeltaNet, with and
// without l2-normalised q and k, from a zero and a given initial state,
// with and without a final-state gradient. Every element of q, k, v, beta,
// the log-decays and the initial state is perturbed and the scalar L =
// sum(o * dout) + sum(S_T * dFinal) recomputed. Also: a hand-computed
// scalar case, and the chain rule through a split sequence (the first
// half's final-state gradient is the second half's initial-state one).
//
//===----------------------------------------------------------------------===//

#include "reference/DeltaRuleGrad.h"

#include "TestHelpers.h"
#include "reference/ReferenceError.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace flashgen::reference {
namespace {

Tensor<double> normal(const Shape &shape, std::mt19937_64 &rng, double sigma = 1.0) {
  std::normal_distribution<double> n(0.0, sigma);
  Tensor<double> t(shape);
  for (double &x : t.values())
    x = n(rng);
  return t;
}

Tensor<double> uniform(const Shape &shape, std::mt19937_64 &rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor<double> t(shape);
  for (double &x : t.values())
    x = u(rng);
  return t;
}

/// B = 2, H = 1, T = 6, Dk = 3, Dv = 2: k ~ N(0, 1/Dk) (|k| about 1, as the
/// kernels' tests draw it), beta in (0, 1), log-decays in [-1, -0.01].
DeltaInputs<double> smallInputs(const DeltaProblem &p, bool initial, uint64_t seed) {
  std::mt19937_64 rng(seed);
  DeltaInputs<double> in;
  in.q = normal({2, 1, 6, 3}, rng);
  in.k = normal({2, 1, 6, 3}, rng, 1.0 / std::sqrt(3.0));
  in.v = normal({2, 1, 6, 2}, rng);
  in.beta = uniform({2, 1, 6}, rng, 0.05, 0.95);
  if (p.gated)
    in.logDecay = uniform({2, 1, 6}, rng, -1.0, -0.01);
  if (initial)
    in.initial = normal({2, 1, 3, 2}, rng, 0.5);
  return in;
}

double dot(const Tensor<double> &a, const Tensor<double> &b) {
  double s = 0.0;
  for (size_t i = 0; i < b.values().size(); ++i)
    s += a.values()[i] * b.values()[i];
  return s;
}

double loss(const DeltaProblem &p, const DeltaInputs<double> &in, const Tensor<double> &dout,
            const Tensor<double> *dFinal) {
  DeltaResult<double> r = referenceDeltaRule(p, in);
  return dot(r.out, dout) + (dFinal ? dot(r.finalState, *dFinal) : 0.0);
}

/// Every element of in.*operand perturbed by +-h against `analytic`,
/// relative to the largest analytic entry.
void expectMatchesFiniteDifferences(const DeltaProblem &p, DeltaInputs<double> in,
                                    Tensor<double> DeltaInputs<double>::*operand,
                                    const Tensor<double> &analytic, const Tensor<double> &dout,
                                    const Tensor<double> *dFinal, const char *name) {
  Tensor<double> &x = in.*operand;
  ASSERT_EQ(x.shape(), analytic.shape()) << name;
  EXPECT_LT(testing::finiteDifferenceError(x, analytic, [&] { return loss(p, in, dout, dFinal); }), 1e-6)
      << name;
}

void check(bool gated, bool l2, bool initial, bool finalGradient, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << (gated ? "gated" : "plain") << (l2 ? ", l2norm_qk" : "")
                                    << (initial ? ", initial state" : "")
                                    << (finalGradient ? ", final-state gradient" : ""));
  DeltaProblem p;
  p.gated = gated;
  p.l2NormQK = l2;
  DeltaInputs<double> in = smallInputs(p, initial, seed);
  std::mt19937_64 rng(seed + 1);
  const Tensor<double> dout = normal({2, 1, 6, 2}, rng);
  const Tensor<double> dFinal = normal({2, 1, 3, 2}, rng);
  const Tensor<double> *df = finalGradient ? &dFinal : nullptr;
  DeltaGradResult g = referenceDeltaRuleGrad(p, in, dout, df);
  using In = DeltaInputs<double>;
  expectMatchesFiniteDifferences(p, in, &In::q, g.dq, dout, df, "dq");
  expectMatchesFiniteDifferences(p, in, &In::k, g.dk, dout, df, "dk");
  expectMatchesFiniteDifferences(p, in, &In::v, g.dv, dout, df, "dv");
  expectMatchesFiniteDifferences(p, in, &In::beta, g.dbeta, dout, df, "dbeta");
  if (gated)
    expectMatchesFiniteDifferences(p, in, &In::logDecay, g.dLogDecay, dout, df, "dlog_decay");
  else
    EXPECT_TRUE(g.dLogDecay.empty());
  if (initial) {
    expectMatchesFiniteDifferences(p, in, &In::initial, g.dInitial, dout, df, "dS0");
  } else {
    // The zero state's gradient: perturb an explicit zero state.
    DeltaInputs<double> zero = in;
    zero.initial = Tensor<double>({2, 1, 3, 2});
    expectMatchesFiniteDifferences(p, zero, &In::initial, g.dInitial, dout, df, "dS0 (zero state)");
  }
}

TEST(DeltaRuleGrad, MatchesFiniteDifferences) {
  uint64_t seed = 1;
  for (bool gated : {false, true})
    for (bool l2 : {false, true})
      for (bool initial : {false, true})
        for (bool finalGradient : {false, true})
          check(gated, l2, initial, finalGradient, seed++);
}

// One step, scalars, scale 1: S_1 = S_0 + beta k (v - k S_0), o = q S_1.
// With S_0 = 2, q = 3, k = 1, v = 4, beta = 0.5: u = 2, S_1 = 3, o = 9;
// dout = 1: dq = S_1 = 3; G = q = 3, du = beta G k = 1.5 = dv, dbeta = k G u
// = 6, dk = beta G u - S_0 du = 3 - 3 = 0, dS_0 = G - k du = 1.5.
TEST(DeltaRuleGrad, OneScalarStepByHand) {
  DeltaProblem p;
  p.scale = 1.0;
  DeltaInputs<double> in;
  in.q = Tensor<double>({1, 1, 1, 1}, {3});
  in.k = Tensor<double>({1, 1, 1, 1}, {1});
  in.v = Tensor<double>({1, 1, 1, 1}, {4});
  in.beta = Tensor<double>({1, 1, 1}, {0.5});
  in.initial = Tensor<double>({1, 1, 1, 1}, {2});
  DeltaGradResult g = referenceDeltaRuleGrad(p, in, Tensor<double>({1, 1, 1, 1}, {1}));
  EXPECT_NEAR(g.dq[0], 3.0, 1e-14);
  EXPECT_NEAR(g.dv[0], 1.5, 1e-14);
  EXPECT_NEAR(g.dbeta[0], 6.0, 1e-14);
  EXPECT_NEAR(g.dk[0], 0.0, 1e-14);
  EXPECT_NEAR(g.dInitial[0], 1.5, 1e-14);
}

// Splitting the sequence: the second half run from the first half's final
// state, its initial-state gradient fed to the first half as the final
// state's, gives the whole sequence's gradients.
TEST(DeltaRuleGrad, ChainsThroughASplitSequence) {
  DeltaProblem p;
  p.gated = true;
  p.l2NormQK = true;
  DeltaInputs<double> in = smallInputs(p, true, 41);
  std::mt19937_64 rng(42);
  const Tensor<double> dout = normal({2, 1, 6, 2}, rng);
  DeltaGradResult whole = referenceDeltaRuleGrad(p, in, dout);
  auto steps = [](const Tensor<double> &t, int64_t from, int64_t to) {
    Shape s = t.shape();
    const int64_t inner = s.size() == 4 ? s[3] : 1;
    Shape out = s;
    out[2] = to - from;
    Tensor<double> r(out);
    for (int64_t b = 0; b < s[0] * s[1]; ++b)
      for (int64_t i = 0; i < (to - from) * inner; ++i)
        r[b * (to - from) * inner + i] = t[(b * s[2] + from) * inner + i];
    return r;
  };
  DeltaInputs<double> first, second;
  for (auto [part, from, to] : {std::tuple{&first, 0, 3}, {&second, 3, 6}}) {
    part->q = steps(in.q, from, to);
    part->k = steps(in.k, from, to);
    part->v = steps(in.v, from, to);
    part->beta = steps(in.beta, from, to);
    part->logDecay = steps(in.logDecay, from, to);
  }
  first.initial = in.initial;
  second.initial = referenceDeltaRule(p, first).finalState;
  DeltaGradResult g2 = referenceDeltaRuleGrad(p, second, steps(dout, 3, 6));
  DeltaGradResult g1 = referenceDeltaRuleGrad(p, first, steps(dout, 0, 3), &g2.dInitial);
  auto expectSame = [&](const Tensor<double> &got, const Tensor<double> &want, const char *what) {
    ASSERT_EQ(got.shape(), want.shape()) << what;
    for (size_t i = 0; i < want.values().size(); ++i)
      EXPECT_NEAR(got.values()[i], want.values()[i], 1e-12) << what << "[" << i << "]";
  };
  expectSame(steps(whole.dk, 0, 3), g1.dk, "dk, first half");
  expectSame(steps(whole.dk, 3, 6), g2.dk, "dk, second half");
  expectSame(steps(whole.dLogDecay, 0, 3), g1.dLogDecay, "dlog_decay, first half");
  expectSame(whole.dInitial, g1.dInitial, "dS0");
}

/// The largest |a - b| over the largest |b| (0 for two empty tensors).
double relativeDifference(const Tensor<double> &a, const Tensor<double> &b) {
  EXPECT_EQ(a.shape(), b.shape());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.values().size(); ++i) {
    diff = std::max(diff, std::abs(a.values()[i] - b.values()[i]));
    scale = std::max(scale, std::abs(b.values()[i]));
  }
  return scale > 0.0 ? diff / scale : diff;
}

// The chunkwise form (what the backward kernels compute) against the step
// recurrence's gradients: chunk sizes from 1 to past T (ragged last
// chunks), every combination of gates, l2norm_qk, an initial state and a
// final-state gradient; then a longer sequence with decays near 0 and 1
// and beta at 0 and 1, where the WY system's triangular solves matter.
TEST(DeltaRuleGrad, ChunkwiseMatchesTheStepRecurrence) {
  uint64_t seed = 40;
  for (bool gated : {false, true})
    for (bool l2 : {false, true})
      for (bool initial : {false, true})
        for (bool finalGradient : {false, true}) {
          DeltaProblem p;
          p.gated = gated;
          p.l2NormQK = l2;
          DeltaInputs<double> in = smallInputs(p, initial, seed);
          std::mt19937_64 rng(seed++);
          const Tensor<double> dout = normal({2, 1, 6, 2}, rng);
          const Tensor<double> dFinal = normal({2, 1, 3, 2}, rng);
          const Tensor<double> *df = finalGradient ? &dFinal : nullptr;
          const DeltaGradResult want = referenceDeltaRuleGrad(p, in, dout, df);
          for (int64_t chunk : {1, 2, 4, 5, 6, 9}) {
            SCOPED_TRACE(::testing::Message()
                         << (gated ? "gated" : "plain") << (l2 ? ", l2norm_qk" : "")
                         << (initial ? ", initial state" : "")
                         << (finalGradient ? ", final-state gradient" : "") << ", chunk "
                         << chunk);
            const DeltaGradResult got = chunkwiseDeltaRuleGrad(p, in, dout, df, chunk);
            EXPECT_LT(relativeDifference(got.dq, want.dq), 1e-11);
            EXPECT_LT(relativeDifference(got.dk, want.dk), 1e-11);
            EXPECT_LT(relativeDifference(got.dv, want.dv), 1e-11);
            EXPECT_LT(relativeDifference(got.dbeta, want.dbeta), 1e-11);
            EXPECT_LT(relativeDifference(got.dInitial, want.dInitial), 1e-11);
            if (gated)
              EXPECT_LT(relativeDifference(got.dLogDecay, want.dLogDecay), 1e-11);
            else
              EXPECT_TRUE(got.dLogDecay.empty());
          }
        }
}

TEST(DeltaRuleGrad, ChunkwiseMatchesOnALongerSequence) {
  DeltaProblem p;
  p.gated = true;
  p.l2NormQK = true;
  std::mt19937_64 rng(77);
  const int64_t steps = 53, dk = 8, dv = 5;
  DeltaInputs<double> in;
  in.q = normal({1, 2, steps, dk}, rng);
  in.k = normal({1, 2, steps, dk}, rng);
  in.v = normal({1, 2, steps, dv}, rng);
  in.beta = uniform({1, 2, steps}, rng, 0.0, 1.0);
  in.logDecay = uniform({1, 2, steps}, rng, -8.0, -1e-4);
  for (int64_t t : {0, 7, 20})
    in.beta[t] = 1.0;  // a projection step
  in.beta[11] = 0.0;   // a step that writes nothing
  in.initial = normal({1, 2, dk, dv}, rng, 0.5);
  const Tensor<double> dout = normal({1, 2, steps, dv}, rng);
  const Tensor<double> dFinal = normal({1, 2, dk, dv}, rng);
  const DeltaGradResult want = referenceDeltaRuleGrad(p, in, dout, &dFinal);
  for (int64_t chunk : {8, 16, 64}) {
    SCOPED_TRACE(::testing::Message() << "chunk " << chunk);
    const DeltaGradResult got = chunkwiseDeltaRuleGrad(p, in, dout, &dFinal, chunk);
    EXPECT_LT(relativeDifference(got.dq, want.dq), 1e-10);
    EXPECT_LT(relativeDifference(got.dk, want.dk), 1e-10);
    EXPECT_LT(relativeDifference(got.dv, want.dv), 1e-10);
    EXPECT_LT(relativeDifference(got.dbeta, want.dbeta), 1e-10);
    EXPECT_LT(relativeDifference(got.dLogDecay, want.dLogDecay), 1e-10);
    EXPECT_LT(relativeDifference(got.dInitial, want.dInitial), 1e-10);
  }
  EXPECT_THROW(chunkwiseDeltaRuleGrad(p, in, dout, &dFinal, 0), ReferenceError);
}

TEST(DeltaRuleGrad, RefusesMismatchedGradients) {
  DeltaProblem p;
  DeltaInputs<double> in = smallInputs(p, false, 7);
  EXPECT_THROW(referenceDeltaRuleGrad(p, in, Tensor<double>({2, 1, 5, 2})), ReferenceError);
  const Tensor<double> badFinal({2, 1, 2, 3});
  EXPECT_THROW(referenceDeltaRuleGrad(p, in, Tensor<double>({2, 1, 6, 2}), &badFinal),
               ReferenceError);
}

} // namespace
} // namespace flashgen::reference
