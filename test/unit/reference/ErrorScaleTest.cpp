//===- ErrorScaleTest.cpp - rounding-error scales of the outputs ----------===//
//
// The scale is the op evaluated on term magnitudes, so for non-negative
// operands it has closed forms; and it must be a fair yardstick: a plain
// float32 recurrence meets 1e-5 of it even where its relative error does
// not come close.
//
//===----------------------------------------------------------------------===//

#include "reference/ErrorScale.h"
#include "reference/Inputs.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"

#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace flashgen::reference;
using flashgen::reference::testing::relativeError;

namespace {

void makeNonNegative(Tensor<double> &tensor) {
  for (double &value : tensor.values())
    value = std::fabs(value);
}

TEST(ErrorScaleTest, AttentionScaleIsTheOutputForNonNegativeValues) {
  AttentionInputSpec spec;
  spec.queryHeads = 2;
  spec.queries = 6;
  spec.keys = 9;
  spec.seed = 4;
  auto in = generateAttentionInputs(spec);
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  auto signedScale = attentionErrorScale(problem, in.q, in.k, in.v);
  makeNonNegative(in.v);
  auto out = referenceAttention(problem, in.q, in.k, in.v).out;
  auto scale = attentionErrorScale(problem, in.q, in.k, in.v);
  EXPECT_LT(relativeError(scale, out), 1e-15);
  // |v| is all that matters: the signed inputs give the same scale.
  EXPECT_LT(relativeError(signedScale, scale), 1e-15);
}

TEST(ErrorScaleTest, LinearScaleClosedFormsForNonNegativeOperands) {
  // With q, k, v, C0, n0 >= 0 nothing cancels: without normaliser the scale
  // is the output; with one, num = o D and |q~| . |n| = n . q~, so
  // scale = o (1 + (n . q~) / D) >= o, and = 2 o when |n . q~| >> floor.
  for (GateKind gate : {GateKind::None, GateKind::Decay, GateKind::Vector,
                        GateKind::MlstmExp, GateKind::MlstmSig}) {
    LinearInputSpec spec;
    spec.gate = gate;
    spec.steps = 30;
    spec.keyDim = 5;
    spec.valueDim = 3;
    spec.initialState = true;
    spec.seed = 6;
    auto in = generateLinearInputs(spec);
    makeNonNegative(in.q);
    makeNonNegative(in.k);
    makeNonNegative(in.v);
    makeNonNegative(in.initial.c);
    makeNonNegative(in.initial.n);
    LinearProblem problem;
    problem.gate = gate;
    problem.normalizerEps = 0.0;
    auto out = referenceRecurrence(problem, in).out;
    auto scale = linearErrorScale(problem, in);
    if (!gateHasNormalizer(gate)) {
      EXPECT_LT(relativeError(scale, out), 1e-14) << gateKindName(gate);
      continue;
    }
    for (int64_t i = 0; i < out.size(); ++i) {
      EXPECT_GE(scale[i], out[i] * (1 - 1e-14)) << gateKindName(gate);
      EXPECT_LE(scale[i], 2 * out[i] * (1 + 1e-14)) << gateKindName(gate);
    }
    // Late steps: the normaliser has grown far past the floor.
    EXPECT_NEAR(scale[out.size() - 1], 2 * out[out.size() - 1],
                1e-12 * out[out.size() - 1])
        << gateKindName(gate);
  }
}

TEST(ErrorScaleTest, ScaledErrorEdgeCases) {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor<double> expected({3}, {1.0, 0.0, -2.0});
  const Tensor<double> scale({3}, {2.0, 0.0, 1.0});
  EXPECT_EQ(scaledError(expected, expected, scale), 0.0);
  EXPECT_DOUBLE_EQ(
      scaledError(Tensor<double>({3}, {1.5, 0.0, -2.0}), expected, scale),
      0.25);
  EXPECT_EQ(
      scaledError(Tensor<double>({3}, {1.0, 1e-30, -2.0}), expected, scale),
      inf); // zero scale demands equality
  EXPECT_EQ(scaledError(Tensor<float>({3}, {1.0f, 0.0f, NAN}), expected, scale),
            inf);
  EXPECT_EQ(scaledError(Tensor<double>({2}), expected, scale), inf);
}

TEST(ErrorScaleTest, Float32RecurrenceMeetsTheScaleWherePlainErrorFails) {
  // Large mLSTM gates make some rows ill-conditioned: the float32
  // step-by-step recurrence is far off in relative terms there, yet within
  // 1e-5 of the scale everywhere. This is what makes the scale the right
  // tolerance for float forms.
  Rng rng(31);
  double worstPlain = 0.0, worstScaled = 0.0;
  for (int c = 0; c < 100; ++c) {
    LinearInputSpec spec;
    spec.gate = GateKind::MlstmExp;
    spec.steps = rng.uniformInt(20, 120);
    spec.keyDim = rng.uniformInt(1, 12);
    spec.valueDim = rng.uniformInt(1, 12);
    spec.initialState = rng.uniformInt(0, 1);
    spec.gates.inputGateMin = spec.gates.forgetGateMin = -30.0;
    spec.gates.inputGateMax = spec.gates.forgetGateMax = 30.0;
    spec.dataRounding = spec.gateRounding = spec.stateRounding =
        Rounding::Float32;
    spec.seed = rng.next();
    auto in = generateLinearInputs(spec);
    LinearProblem problem;
    problem.gate = spec.gate;
    LinearInputs<float> inF;
    inF.q = castTensor<float>(in.q);
    inF.k = castTensor<float>(in.k);
    inF.v = castTensor<float>(in.v);
    inF.inputGate = castTensor<float>(in.inputGate);
    inF.forgetGate = castTensor<float>(in.forgetGate);
    inF.initial.c = castTensor<float>(in.initial.c);
    inF.initial.n = castTensor<float>(in.initial.n);
    inF.initial.m = castTensor<float>(in.initial.m);
    auto expected = referenceRecurrence(problem, in).out;
    auto actual = stepwiseRecurrence(problem, inF).out;
    worstPlain = std::max(worstPlain, relativeError(actual, expected));
    worstScaled =
        std::max(worstScaled,
                 scaledError(actual, expected, linearErrorScale(problem, in)));
  }
  EXPECT_LT(worstScaled, 1e-5);
  EXPECT_GT(worstPlain, 1e-4);
}

} // namespace
