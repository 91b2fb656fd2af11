//===- AttentionGradTest.cpp - gradients against finite differences -------===//
//
// referenceAttentionGrad is checked against central finite differences of
// the forward definition (referenceAttention) for the scalar loss
// sum(o * do), element by element, for every mask kind, GQA, N != M and the
// standard score modifiers. The differences never go through the code under
// test, so a wrong sign, a missing term or a missing GQA sum fails.
//
//===----------------------------------------------------------------------===//

#include "reference/AttentionGrad.h"
#include "reference/Random.h"

#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace flashgen::reference;
using flashgen::reference::testing::relativeError;

namespace {

Tensor<double> randomTensor(Shape shape, Rng rng) {
  Tensor<double> t(std::move(shape));
  for (double &x : t.values())
    x = rng.normal();
  return t;
}

struct Case {
  AttentionShape shape;
  AttentionProblem problem;
  ScoreModGrad scoreGrad;
};

struct Inputs {
  Tensor<double> q, k, v, dout;
};

Inputs randomInputs(const AttentionShape &s, uint64_t seed) {
  Rng rng(seed);
  return {randomTensor({s.batch, s.queryHeads, s.queries, s.headDim}, rng.split(0)),
          randomTensor({s.batch, s.kvHeads, s.keys, s.headDim}, rng.split(1)),
          randomTensor({s.batch, s.kvHeads, s.keys, s.valueDim}, rng.split(2)),
          randomTensor({s.batch, s.queryHeads, s.queries, s.valueDim},
                       rng.split(3))};
}

double loss(const AttentionProblem &problem, const Inputs &in) {
  Tensor<double> o = referenceAttention(problem, in.q, in.k, in.v).out;
  double sum = 0.0;
  for (int64_t i = 0; i < o.size(); ++i)
    sum += o[i] * in.dout[i];
  return sum;
}

/// d loss / d x for every element x of the tensor `member` selects.
Tensor<double> finiteDifference(const AttentionProblem &problem, Inputs in,
                                Tensor<double> Inputs::*member) {
  const double h = 1e-5;
  Tensor<double> &x = in.*member;
  Tensor<double> grad(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss(problem, in);
    x[i] = saved - h;
    const double down = loss(problem, in);
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/// Largest relative error of dq, dk, dv against finite differences.
double gradientError(const Case &c, uint64_t seed) {
  Inputs in = randomInputs(c.shape, seed);
  AttentionGradResult grad =
      referenceAttentionGrad(c.problem, c.scoreGrad, in.q, in.k, in.v, in.dout);
  double error = 0.0;
  for (auto [analytic, member] :
       {std::pair<const Tensor<double> *, Tensor<double> Inputs::*>{
            &grad.dq, &Inputs::q},
        {&grad.dk, &Inputs::k},
        {&grad.dv, &Inputs::v}})
    error = std::max(error, relativeError(*analytic,
                                          finiteDifference(c.problem, in, member)));
  return error;
}

AttentionShape shapeOf(int64_t batch, int64_t hq, int64_t hkv, int64_t n,
                       int64_t m, int64_t d, int64_t dv) {
  AttentionShape s;
  s.batch = batch;
  s.queryHeads = hq;
  s.kvHeads = hkv;
  s.queries = n;
  s.keys = m;
  s.headDim = d;
  s.valueDim = dv;
  return s;
}

// Central differences with h = 1e-5 in float64 are accurate to ~1e-9
// relative; a wrong term is off by O(1).
constexpr double kTolerance = 1e-6;

TEST(AttentionGradTest, NoMask) {
  Case c{shapeOf(1, 2, 2, 5, 5, 4, 3), {}, {}};
  EXPECT_LT(gradientError(c, 1), kTolerance);
}

TEST(AttentionGradTest, ExplicitScale) {
  Case c{shapeOf(1, 1, 1, 4, 6, 3, 2), {}, {}};
  c.problem.scale = -0.7;
  EXPECT_LT(gradientError(c, 2), kTolerance);
}

TEST(AttentionGradTest, CausalMoreQueriesThanKeys) {
  // N > M: the first N - M rows see no key; their gradients are 0.
  Case c{shapeOf(1, 1, 1, 6, 4, 3, 3), {}, {}};
  c.problem.mask = MaskKind::Causal;
  EXPECT_LT(gradientError(c, 3), kTolerance);
  Inputs in = randomInputs(c.shape, 3);
  AttentionGradResult grad =
      referenceAttentionGrad(c.problem, {}, in.q, in.k, in.v, in.dout);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t e = 0; e < 3; ++e)
      EXPECT_EQ(grad.dq.at({0, 0, i, e}), 0.0);
}

TEST(AttentionGradTest, CausalMoreKeysThanQueries) {
  Case c{shapeOf(2, 1, 1, 3, 7, 4, 2), {}, {}};
  c.problem.mask = MaskKind::Causal;
  EXPECT_LT(gradientError(c, 4), kTolerance);
}

TEST(AttentionGradTest, SlidingWindow) {
  Case c{shapeOf(1, 2, 1, 6, 6, 3, 3), {}, {}};
  c.problem.mask = MaskKind::SlidingWindow;
  c.problem.window = 2;
  EXPECT_LT(gradientError(c, 5), kTolerance);
}

TEST(AttentionGradTest, GroupedQueryHeadsSumIntoTheirKvHead) {
  Case c{shapeOf(2, 4, 2, 4, 5, 3, 2), {}, {}};
  EXPECT_LT(gradientError(c, 6), kTolerance);
}

TEST(AttentionGradTest, Softcap) {
  // A small cap keeps tanh far from linear, so a missing score_grad shows.
  Case c{shapeOf(1, 2, 1, 4, 5, 4, 3), {}, softcapScoreModGrad(0.8)};
  c.problem.scoreMod = softcapScoreMod(0.8);
  c.problem.scale = 1.5;
  EXPECT_LT(gradientError(c, 7), kTolerance);
}

TEST(AttentionGradTest, AlibiCausal) {
  // ALiBi adds a score-independent bias: score_grad is 1 (empty).
  Case c{shapeOf(1, 2, 2, 5, 6, 3, 2), {}, {}};
  c.problem.mask = MaskKind::Causal;
  c.problem.scoreMod = alibiScoreMod(2, 5, 6);
  EXPECT_LT(gradientError(c, 8), kTolerance);
}

TEST(AttentionGradTest, MaskModAndMinusInfinityScores) {
  // mask_mod hides keys; score_mod sends more to -inf; both contribute 0.
  Case c{shapeOf(1, 2, 1, 5, 5, 3, 3), {}, {}};
  c.problem.maskMod = [](int64_t, int64_t h, int64_t i, int64_t j) {
    return (i + j + h) % 3 != 0;
  };
  c.problem.scoreMod = [](double s, int64_t, int64_t, int64_t i, int64_t j) {
    return j == 4 && i < 2 ? -std::numeric_limits<double>::infinity() : 2 * s;
  };
  c.scoreGrad = [](double, int64_t, int64_t, int64_t, int64_t) { return 2.0; };
  EXPECT_LT(gradientError(c, 9), kTolerance);
}

TEST(AttentionGradTest, WrongScoreGradIsDetected) {
  // The check itself: the softcap case with the identity's derivative, or
  // with the derivative's sign flipped, must be far off.
  Case c{shapeOf(1, 1, 1, 4, 4, 4, 3), {}, {}};
  c.problem.scoreMod = softcapScoreMod(0.8);
  c.problem.scale = 1.5;
  EXPECT_GT(gradientError(c, 10), 1e-2);
  ScoreModGrad right = softcapScoreModGrad(0.8);
  c.scoreGrad = [right](double s, int64_t b, int64_t h, int64_t i, int64_t j) {
    return -right(s, b, h, i, j);
  };
  EXPECT_GT(gradientError(c, 10), 1e-2);
}

TEST(AttentionGradTest, ErrorScalesBoundTheGradients) {
  Case c{shapeOf(1, 4, 2, 5, 6, 3, 4), {}, softcapScoreModGrad(2.0)};
  c.problem.scoreMod = softcapScoreMod(2.0);
  c.problem.mask = MaskKind::Causal;
  Inputs in = randomInputs(c.shape, 11);
  AttentionGradResult grad =
      referenceAttentionGrad(c.problem, c.scoreGrad, in.q, in.k, in.v, in.dout);
  for (auto [value, scale] :
       {std::pair<const Tensor<double> *, const Tensor<double> *>{
            &grad.dq, &grad.dqScale},
        {&grad.dk, &grad.dkScale},
        {&grad.dv, &grad.dvScale}}) {
    ASSERT_EQ(value->shape(), scale->shape());
    double largest = 0.0;
    for (int64_t i = 0; i < value->size(); ++i) {
      EXPECT_LE(std::fabs((*value)[i]), (*scale)[i] * (1 + 1e-12));
      largest = std::max(largest, (*scale)[i]);
    }
    EXPECT_GT(largest, 0.0);
  }
  // The forward came along: o and lse of the same inputs.
  EXPECT_EQ(relativeError(grad.forward.out,
                          referenceAttention(c.problem, in.q, in.k, in.v).out),
            0.0);
}

TEST(AttentionGradTest, GivenForwardUsesTheGivenOAndLse) {
  // flashgen-ref passes o and lse rounded as the kernel reads them: the
  // gradients must follow those operands, not a recomputed forward.
  Case c{shapeOf(1, 2, 1, 4, 5, 3, 3), {}, {}};
  Inputs in = randomInputs(c.shape, 13);
  AttentionResult forward = referenceAttention(c.problem, in.q, in.k, in.v);
  AttentionGradResult exact =
      referenceAttentionGrad(c.problem, {}, in.q, in.k, in.v, in.dout);
  AttentionGradResult same = attentionGradGivenForward(
      c.problem, {}, in.q, in.k, in.v, forward.out, forward.logSumExp, in.dout);
  EXPECT_EQ(relativeError(same.dq, exact.dq), 0.0);
  EXPECT_EQ(relativeError(same.dk, exact.dk), 0.0);
  EXPECT_EQ(relativeError(same.dv, exact.dv), 0.0);

  // A different o changes D_i, so dq and dk, but not dv = P^T do.
  Tensor<double> shiftedO = forward.out;
  for (double &x : shiftedO.values())
    x += 0.25;
  AttentionGradResult shifted = attentionGradGivenForward(
      c.problem, {}, in.q, in.k, in.v, shiftedO, forward.logSumExp, in.dout);
  EXPECT_EQ(relativeError(shifted.dv, exact.dv), 0.0);
  EXPECT_GT(relativeError(shifted.dq, exact.dq), 1e-3);

  // A larger lse scales every P_ij, so dv, by exp(-shift).
  Tensor<double> shiftedLse = forward.logSumExp;
  for (double &x : shiftedLse.values())
    x += std::log(2.0);
  AttentionGradResult halved = attentionGradGivenForward(
      c.problem, {}, in.q, in.k, in.v, forward.out, shiftedLse, in.dout);
  for (int64_t i = 0; i < exact.dv.size(); ++i)
    EXPECT_NEAR(halved.dv[i], exact.dv[i] / 2, 1e-12);

  EXPECT_THROW(attentionGradGivenForward(c.problem, {}, in.q, in.k, in.v,
                                         forward.out, Tensor<double>({1, 2, 5}),
                                         in.dout),
               ReferenceError);
}

TEST(AttentionGradTest, DoMustHaveOutputShape) {
  AttentionProblem problem;
  Inputs in = randomInputs(shapeOf(1, 1, 1, 3, 3, 2, 2), 12);
  Tensor<double> wrong({1, 1, 3, 3});
  EXPECT_THROW(referenceAttentionGrad(problem, {}, in.q, in.k, in.v, wrong),
               ReferenceError);
}

} // namespace
