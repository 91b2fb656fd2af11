//===- DeltaRuleTest.cpp - the delta rule's definition and chunkwise form ===//
//
// Hand-computed steps (scalar and two-dimensional states, gated and not,
// with an initial state), the projection property of unit keys at beta = 1,
// the chunkwise form against the steps at ragged lengths, every chunk size,
// gates near 0 and 1 and betas at 0 and 1, and the shape errors.
//
//===----------------------------------------------------------------------===//

#include "reference/DeltaRule.h"

#include "TestHelpers.h"
#include "reference/Random.h"
#include "reference/ReferenceError.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flashgen::reference {
namespace {

using testing::relativeError;

DeltaInputs<double> scalarInputs() {
  DeltaInputs<double> in;
  in.q = Tensor<double>({1, 1, 2, 1}, {3, 1});
  in.k = Tensor<double>({1, 1, 2, 1}, {1, 2});
  in.v = Tensor<double>({1, 1, 2, 1}, {2, 1});
  in.beta = Tensor<double>({1, 1, 2}, {0.5, 0.1});
  return in;
}

void expectBothForms(const DeltaProblem &p, const DeltaInputs<double> &in,
                     std::vector<double> out, std::vector<double> state) {
  DeltaResult<double> ref = referenceDeltaRule(p, in);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_NEAR(ref.out[i], out[i], 1e-12) << "o[" << i << "]";
  for (size_t i = 0; i < state.size(); ++i)
    EXPECT_NEAR(ref.finalState[i], state[i], 1e-12) << "S[" << i << "]";
  for (int64_t chunk : {1, 2, 5}) {
    DeltaResult<double> c = chunkwiseDeltaRule(p, in, chunk);
    EXPECT_LT(relativeError(c.out, ref.out), 1e-14) << "chunk " << chunk;
    EXPECT_LT(relativeError(c.finalState, ref.finalState), 1e-14)
        << "chunk " << chunk;
  }
}

// S_1 = (1 - 0.5 * 1) * 0 + 0.5 * 1 * 2 = 1, o_1 = 3 S_1 = 3;
// S_2 = (1 - 0.1 * 4) S_1 + 0.1 * 2 * 1 = 0.8, o_2 = S_2.
TEST(DeltaRule, ScalarStepsByHand) {
  DeltaProblem p;
  p.scale = 1.0;
  expectBothForms(p, scalarInputs(), {3.0, 0.8}, {0.8});
}

// Gated, alpha_2 = 0.5: S_2 = (1 - 0.4) * 0.5 * S_1 + 0.2 = 0.5.
TEST(DeltaRule, GatedScalarStepsByHand) {
  DeltaProblem p;
  p.scale = 1.0;
  p.gated = true;
  DeltaInputs<double> in = scalarInputs();
  in.logDecay = Tensor<double>({1, 1, 2}, {0.0, std::log(0.5)});
  expectBothForms(p, in, {3.0, 0.5}, {0.5});
}

// From S_0 = 2: S_1 = 0.5 * 2 + 1 = 2, o_1 = 6; S_2 = 0.6 * 2 + 0.2 = 1.4.
TEST(DeltaRule, InitialStateByHand) {
  DeltaProblem p;
  p.scale = 1.0;
  DeltaInputs<double> in = scalarInputs();
  in.initial = Tensor<double>({1, 1, 1, 1}, {2.0});
  expectBothForms(p, in, {6.0, 1.4}, {1.4});
}

// Orthogonal unit keys at beta = 1 write their values into the state's
// rows: S_2 = [v_1; v_2], and the default scale 1/sqrt(2) reads
// o_2 = (v_1 + v_2) / sqrt(2). A third step at key e_1 with beta = 0.5
// moves row 1 halfway to v_3.
TEST(DeltaRule, UnitKeysWriteRowsByHand) {
  DeltaProblem p;
  DeltaInputs<double> in;
  in.q = Tensor<double>({1, 1, 3, 2}, {1, 0, 1, 1, 0, 1});
  in.k = Tensor<double>({1, 1, 3, 2}, {1, 0, 0, 1, 0, 1});
  in.v = Tensor<double>({1, 1, 3, 2}, {1, 2, 3, 4, 5, 6});
  in.beta = Tensor<double>({1, 1, 3}, {1, 1, 0.5});
  const double r = 1 / std::sqrt(2.0);
  expectBothForms(p, in, {r * 1, r * 2, r * 4, r * 6, r * 4, r * 5},
                  {1, 2, 4, 5});
}

DeltaInputs<double> randomInputs(const DeltaProblem &p, int64_t batch,
                                 int64_t heads, int64_t steps, int64_t dk,
                                 int64_t dv, bool initial, double gLow,
                                 double gHigh, uint64_t seed) {
  Rng rng(seed);
  DeltaInputs<double> in;
  in.q = Tensor<double>({batch, heads, steps, dk});
  in.k = Tensor<double>({batch, heads, steps, dk});
  in.v = Tensor<double>({batch, heads, steps, dv});
  in.beta = Tensor<double>({batch, heads, steps});
  // Keys of norm about 1 keep I - beta k k^T a contraction without l2norm.
  for (int64_t i = 0; i < in.q.size(); ++i) {
    in.q[i] = rng.normal();
    in.k[i] = rng.normal() / std::sqrt(double(dk));
  }
  for (int64_t i = 0; i < in.v.size(); ++i)
    in.v[i] = rng.normal();
  for (int64_t i = 0; i < in.beta.size(); ++i) {
    // betas at both ends of [0, 1] as well as between.
    const int64_t pick = i % 7;
    in.beta[i] = pick == 0 ? 0.0 : pick == 1 ? 1.0 : rng.uniform();
  }
  if (p.gated) {
    in.logDecay = Tensor<double>({batch, heads, steps});
    for (int64_t i = 0; i < in.logDecay.size(); ++i)
      in.logDecay[i] = rng.uniform(gLow, gHigh);
  }
  if (initial) {
    in.initial = Tensor<double>({batch, heads, dk, dv});
    for (int64_t i = 0; i < in.initial.size(); ++i)
      in.initial[i] = rng.normal();
  }
  return in;
}

// With unit keys (l2norm) and beta = 1 each step is a projection: the
// state read at the step's key returns its value. fla's l2norm leaves
// n = ||k^||^2 = |k|^2 / (|k|^2 + 1e-6) a hair below 1, so exactly:
// S_t^T k^ = (1 - n) S_{t-1}^T k^ + n v_t.
TEST(DeltaRule, UnitKeysAtBetaOneStoreTheirValue) {
  DeltaProblem p;
  p.l2NormQK = true;
  DeltaInputs<double> in = randomInputs(p, 1, 1, 40, 8, 5, true, 0, 0, 7);
  for (int64_t t = 0; t < 40; ++t) {
    DeltaInputs<double> step;
    auto rowOf = [&](const Tensor<double> &x, int64_t width) {
      Tensor<double> r({1, 1, 1, width});
      std::copy(x.data() + t * width, x.data() + (t + 1) * width, r.data());
      return r;
    };
    step.q = rowOf(in.q, 8);
    step.k = rowOf(in.k, 8);
    step.v = rowOf(in.v, 5);
    step.beta = Tensor<double>({1, 1, 1}, {1.0});
    step.initial = in.initial;
    double kk = 0;
    for (int64_t d = 0; d < 8; ++d)
      kk += step.k[d] * step.k[d];
    const double norm = std::sqrt(kk + 1e-6), n = kk / (kk + 1e-6);
    auto readAtKey = [&](const Tensor<double> &state, int64_t e) {
      double read = 0;
      for (int64_t d = 0; d < 8; ++d)
        read += step.k[d] / norm * state[d * 5 + e];
      return read;
    };
    std::vector<double> before(5);
    for (int64_t e = 0; e < 5; ++e)
      before[e] = readAtKey(in.initial, e);
    in.initial = referenceDeltaRule(p, step).finalState;
    for (int64_t e = 0; e < 5; ++e) {
      EXPECT_NEAR(readAtKey(in.initial, e), (1 - n) * before[e] + n * step.v[e],
                  1e-12 * (1 + std::fabs(before[e])))
          << "step " << t << " column " << e;
      EXPECT_NEAR(readAtKey(in.initial, e), step.v[e], 1e-4) << "step " << t;
    }
  }
}

struct ChunkCase {
  bool gated, initial, l2norm;
  double gLow, gHigh;
  int64_t steps;
};

TEST(DeltaRule, ChunkwiseFormMatchesTheSteps) {
  const ChunkCase cases[] = {
      {false, false, false, 0, 0, 37},     {false, true, true, 0, 0, 100},
      {true, false, false, -3, 0, 37},     // decays far below 1
      {true, true, false, -1e-3, 0, 100},  // decays near 1
      {true, true, true, -0.5, -0.01, 1},  // a single step
      {true, false, true, -30, -10, 50},   // each step forgets the past
  };
  uint64_t seed = 100;
  for (const ChunkCase &c : cases) {
    DeltaProblem p;
    p.gated = c.gated;
    p.l2NormQK = c.l2norm;
    DeltaInputs<double> in =
        randomInputs(p, 2, 3, c.steps, 12, 7, c.initial, c.gLow, c.gHigh, ++seed);
    DeltaResult<double> ref = referenceDeltaRule(p, in);
    ASSERT_TRUE(testing::allFinite(ref.out));
    for (int64_t chunk : {1, 3, 16, 64, 1000}) {
      SCOPED_TRACE("gated " + std::to_string(c.gated) + " initial " +
                   std::to_string(c.initial) + " l2norm " +
                   std::to_string(c.l2norm) + " T " + std::to_string(c.steps) +
                   " chunk " + std::to_string(chunk));
      DeltaResult<double> got = chunkwiseDeltaRule(p, in, chunk);
      EXPECT_LT(relativeError(got.out, ref.out), 1e-11);
      EXPECT_LT(relativeError(got.finalState, ref.finalState), 1e-11);
    }
  }
}

// In float, chunks of 64 stay within f32 rounding of the definition.
TEST(DeltaRule, FloatChunkwiseIsCloseToTheDefinition) {
  DeltaProblem p;
  p.gated = true;
  p.l2NormQK = true;
  DeltaInputs<double> in = randomInputs(p, 1, 2, 300, 64, 32, true, -0.2, 0, 3);
  DeltaInputs<float> f;
  auto toFloat = [](const Tensor<double> &x) {
    Tensor<float> y(x.shape());
    for (int64_t i = 0; i < x.size(); ++i)
      y[i] = static_cast<float>(x[i]);
    return y;
  };
  f.q = toFloat(in.q);
  f.k = toFloat(in.k);
  f.v = toFloat(in.v);
  f.beta = toFloat(in.beta);
  f.logDecay = toFloat(in.logDecay);
  f.initial = toFloat(in.initial);
  DeltaResult<double> ref = referenceDeltaRule(p, in);
  DeltaResult<float> got = chunkwiseDeltaRule(p, f, 64);
  EXPECT_LT(relativeError(got.out, ref.out), 1e-4);
  EXPECT_LT(relativeError(got.finalState, ref.finalState), 1e-4);
}

TEST(DeltaRule, ShapeErrorsNameTheOperand) {
  DeltaProblem p;
  const Shape q{2, 3, 10, 8}, v{2, 3, 10, 4}, beta{2, 3, 10};
  EXPECT_EQ(validateDelta(p, q, q, v, beta, {}, {}), std::nullopt);
  EXPECT_EQ(*validateDelta(p, q, Shape{2, 3, 10, 4}, v, beta, {}, {}),
            "delta_rule: k has shape [2, 3, 10, 4], expected [2, 3, 10, 8]");
  EXPECT_EQ(*validateDelta(p, q, q, Shape{2, 3, 9, 4}, beta, {}, {}),
            "delta_rule: v has shape [2, 3, 9, 4], expected [2, 3, 10, Dv >= 1]");
  EXPECT_EQ(*validateDelta(p, q, q, v, Shape{2, 3}, {}, {}),
            "delta_rule: beta has shape [2, 3], expected [2, 3, 10]");
  EXPECT_EQ(*validateDelta(p, q, q, v, beta, beta, {}),
            "delta_rule: a log-decay g was given to an ungated delta rule");
  DeltaProblem gated;
  gated.gated = true;
  EXPECT_EQ(*validateDelta(gated, q, q, v, beta, {}, {}),
            "delta_rule: the log-decay g has shape [], expected [2, 3, 10]");
  EXPECT_EQ(*validateDelta(p, q, q, v, beta, {}, Shape{2, 3, 4, 8}),
            "delta_rule: the initial state has shape [2, 3, 4, 8], expected "
            "[2, 3, 8, 4]");
  DeltaInputs<double> in = scalarInputs();
  EXPECT_THROW(chunkwiseDeltaRule(p, in, 0), ReferenceError);
  in.beta = Tensor<double>({1, 1, 3});
  EXPECT_THROW(referenceDeltaRule(p, in), ReferenceError);
}

} // namespace
} // namespace flashgen::reference
