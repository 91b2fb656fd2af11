//===- AttentionTest.cpp - tests of the float64 attention definition -----===//
//
// Hand-worked cases, closed forms for the score modifiers, every mask kind,
// and a property sweep against an independently written FlashAttention-style
// tiled online softmax.
//
//===----------------------------------------------------------------------===//

#include "reference/Attention.h"
#include "reference/Inputs.h"
#include "reference/Random.h"

#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace flashgen::reference;
using flashgen::reference::testing::relativeError;
using flashgen::reference::testing::testVisible;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

Tensor<double> tensor(Shape shape, std::vector<double> values) {
  return Tensor<double>(std::move(shape), std::move(values));
}

/// FlashAttention-style tiled online softmax over key tiles of `tile`
/// rows, with its own masking; what a GPU kernel computes.
AttentionResult tiledOnlineSoftmax(const AttentionProblem &problem,
                                   const Tensor<double> &q,
                                   const Tensor<double> &k,
                                   const Tensor<double> &v, int64_t tile) {
  const int64_t b = q.dim(0), hq = q.dim(1), n = q.dim(2), d = q.dim(3);
  const int64_t hkv = k.dim(1), m = k.dim(2), dv = v.dim(3);
  const double scale = problem.scale ? *problem.scale : 1.0 / std::sqrt(d);
  AttentionResult result;
  result.out = Tensor<double>({b, hq, n, dv});
  result.logSumExp = Tensor<double>::full({b, hq, n}, -kInf);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t kvh = h / (hq / hkv);
      for (int64_t i = 0; i < n; ++i) {
        double runningMax = -kInf, runningSum = 0.0;
        std::vector<double> acc(dv, 0.0);
        for (int64_t j0 = 0; j0 < m; j0 += tile) {
          const int64_t j1 = std::min(j0 + tile, m);
          std::vector<double> s(j1 - j0, -kInf);
          double tileMax = -kInf;
          for (int64_t j = j0; j < j1; ++j) {
            if (!testVisible(problem.mask, problem.window, n, m, i, j))
              continue;
            if (problem.maskMod && !problem.maskMod(bi, h, i, j))
              continue;
            double dot = 0.0;
            for (int64_t c = 0; c < d; ++c)
              dot += q.at({bi, h, i, c}) * k.at({bi, kvh, j, c});
            double score = dot * scale;
            if (problem.scoreMod)
              score = problem.scoreMod(score, bi, h, i, j);
            s[j - j0] = score;
            tileMax = std::max(tileMax, score);
          }
          const double newMax = std::max(runningMax, tileMax);
          if (newMax == -kInf)
            continue;
          const double correction =
              runningMax == -kInf ? 0.0 : std::exp(runningMax - newMax);
          runningSum *= correction;
          for (double &a : acc)
            a *= correction;
          for (int64_t j = j0; j < j1; ++j) {
            if (s[j - j0] == -kInf)
              continue;
            const double p = std::exp(s[j - j0] - newMax);
            runningSum += p;
            for (int64_t c = 0; c < dv; ++c)
              acc[c] += p * v.at({bi, kvh, j, c});
          }
          runningMax = newMax;
        }
        if (runningMax == -kInf)
          continue;
        for (int64_t c = 0; c < dv; ++c)
          result.out.at({bi, h, i, c}) = acc[c] / runningSum;
        result.logSumExp.at({bi, h, i}) = runningMax + std::log(runningSum);
      }
    }
  return result;
}

TEST(AttentionTest, HandWorkedTwoKeys) {
  // s = [0, ln 3] -> weights [1/4, 3/4] -> o = 4/4 + 3*8/4 = 7.
  AttentionProblem problem;
  problem.scale = 1.0;
  auto result = referenceAttention(problem, tensor({1, 1, 1, 1}, {1.0}),
                                   tensor({1, 1, 2, 1}, {0.0, std::log(3.0)}),
                                   tensor({1, 1, 2, 1}, {4.0, 8.0}));
  EXPECT_NEAR(result.out[0], 7.0, 1e-14);
  EXPECT_NEAR(result.logSumExp[0], std::log(4.0), 1e-14);
}

TEST(AttentionTest, HandWorkedDefaultScaleUsesInverseSqrtHeadDim) {
  // D = 4: scale 1/2; k1 has sum 2 ln 3, so s = [0, ln 3] as above.
  const double h = std::log(3.0) / 2.0;
  auto result =
      referenceAttention(AttentionProblem{}, tensor({1, 1, 1, 4}, {1, 1, 1, 1}),
                         tensor({1, 1, 2, 4}, {0, 0, 0, 0, h, h, h, h}),
                         tensor({1, 1, 2, 1}, {4.0, 8.0}));
  EXPECT_NEAR(result.out[0], 7.0, 1e-14);
}

TEST(AttentionTest, HandWorkedCausalBottomRightAligned) {
  // N = 2, M = 3: row 0 sits at key position 1 and sees keys {0, 1}
  // (weights 1/4, 3/4 -> 7); row 1 sees all three (1/5, 3/5, 1/5 -> 25.6).
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  problem.scale = 1.0;
  auto result =
      referenceAttention(problem, tensor({1, 1, 2, 1}, {1.0, 1.0}),
                         tensor({1, 1, 3, 1}, {0.0, std::log(3.0), 0.0}),
                         tensor({1, 1, 3, 1}, {4.0, 8.0, 100.0}));
  EXPECT_NEAR(result.out[0], 7.0, 1e-13);
  EXPECT_NEAR(result.out[1], 25.6, 1e-13);
}

TEST(AttentionTest, HandWorkedSlidingWindowAveragesVisibleValues) {
  // Equal scores (q = 0): each row averages the values it sees; with
  // w = 2 row i sees keys {i-1, i}.
  AttentionProblem problem;
  problem.mask = MaskKind::SlidingWindow;
  problem.window = 2;
  auto result = referenceAttention(problem, Tensor<double>({1, 1, 4, 3}),
                                   Tensor<double>({1, 1, 4, 3}),
                                   tensor({1, 1, 4, 1}, {0, 1, 2, 3}));
  const double expected[] = {0.0, 0.5, 1.5, 2.5};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(result.out[i], expected[i], 1e-15) << "row " << i;
}

/// With v_j = e_j (Dv = M) the output row is the softmax weight vector, so
/// the visibility pattern can be read off directly.
void expectPattern(MaskKind kind, int64_t window, int64_t n, int64_t m) {
  AttentionProblem problem;
  problem.mask = kind;
  problem.window = window;
  AttentionInputSpec spec;
  spec.queries = n;
  spec.keys = m;
  spec.headDim = 8;
  spec.seed = 7;
  auto inputs = generateAttentionInputs(spec);
  Tensor<double> identity({1, 1, m, m});
  for (int64_t j = 0; j < m; ++j)
    identity.at({0, 0, j, j}) = 1.0;
  auto result = referenceAttention(problem, inputs.q, inputs.k, identity);
  for (int64_t i = 0; i < n; ++i) {
    double rowSum = 0.0;
    int64_t visible = 0;
    for (int64_t j = 0; j < m; ++j) {
      const double weight = result.out.at({0, 0, i, j});
      rowSum += weight;
      if (testVisible(kind, window, n, m, i, j)) {
        EXPECT_GT(weight, 0.0) << "row " << i << " key " << j;
        ++visible;
      } else {
        EXPECT_EQ(weight, 0.0) << "row " << i << " key " << j;
      }
    }
    EXPECT_NEAR(rowSum, visible ? 1.0 : 0.0, 1e-14) << "row " << i;
    EXPECT_EQ(std::isinf(result.logSumExp.at({0, 0, i})), visible == 0);
  }
}

TEST(AttentionTest, MaskPatternNone) { expectPattern(MaskKind::None, 0, 5, 7); }

TEST(AttentionTest, MaskPatternCausalMoreKeysThanQueries) {
  expectPattern(MaskKind::Causal, 0, 4, 9);
}

TEST(AttentionTest, MaskPatternCausalMoreQueriesThanKeys) {
  // N > M: the first N - M rows see no key at all.
  expectPattern(MaskKind::Causal, 0, 9, 4);
}

TEST(AttentionTest, MaskPatternSlidingWindow) {
  expectPattern(MaskKind::SlidingWindow, 3, 8, 8);
  expectPattern(MaskKind::SlidingWindow, 1, 5, 9);
  expectPattern(MaskKind::SlidingWindow, 4, 9, 5);
  expectPattern(MaskKind::SlidingWindow, 100, 6, 6);
}

TEST(AttentionTest, SlidingWindowCountsExactlyWKeys) {
  AttentionProblem problem;
  problem.mask = MaskKind::SlidingWindow;
  problem.window = 3;
  AttentionShape shape{1, 1, 1, 10, 10, 4, 4};
  for (int64_t i = 0; i < 10; ++i) {
    int64_t visible = 0;
    for (int64_t j = -2; j < 12; ++j)
      visible += isKeyVisible(problem, shape, 0, 0, i, j);
    EXPECT_EQ(visible, std::min<int64_t>(i + 1, 3)) << "row " << i;
  }
}

TEST(AttentionTest, OutputModMapsEveryStoredElementNotTheLse) {
  // docs/semantics.md §2.11: o' = output_mod(o, b, h, i, d) on the
  // normalised output, a row without keys (causal, N > M) included; the
  // log-sum-exp stays the unmodified one.
  AttentionInputSpec spec;
  spec.batch = 2;
  spec.queryHeads = 2;
  spec.kvHeads = 1;
  spec.queries = 6;
  spec.keys = 4;
  spec.seed = 11;
  auto inputs = generateAttentionInputs(spec);
  AttentionProblem plain;
  plain.mask = MaskKind::Causal;
  AttentionProblem gated = plain;
  gated.outputMod = [](double o, int64_t b, int64_t h, int64_t i, int64_t d) {
    return o * 0.5 + double(b) - double(h) + 0.25 * double(i) + 1e-3 * double(d);
  };
  auto want = referenceAttention(plain, inputs.q, inputs.k, inputs.v);
  auto got = referenceAttention(gated, inputs.q, inputs.k, inputs.v);
  int64_t zeroRows = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(got.logSumExp.at({b, h, i}), want.logSumExp.at({b, h, i}));
        zeroRows += std::isinf(want.logSumExp.at({b, h, i}));
        for (int64_t d = 0; d < 16; ++d) {
          double o = want.out.at({b, h, i, d});
          EXPECT_EQ(got.out.at({b, h, i, d}),
                    o * 0.5 + double(b) - double(h) + 0.25 * double(i) + 1e-3 * double(d));
        }
      }
  EXPECT_EQ(zeroRows, 2 * 2 * 2); // rows 0 and 1 see no key (N - M = 2)
}

TEST(AttentionTest, FullyMaskedRowsGiveZerosNotNaN) {
  AttentionInputSpec spec;
  spec.queries = 6;
  spec.keys = 5;
  spec.seed = 3;
  auto inputs = generateAttentionInputs(spec);

  // Rows hidden by mask_mod, by a score_mod returning -inf, and (N > M,
  // causal) by the mask kind itself.
  AttentionProblem byMaskMod;
  byMaskMod.maskMod = [](int64_t, int64_t, int64_t i, int64_t) {
    return i % 2 == 0;
  };
  AttentionProblem byScoreMod;
  byScoreMod.scoreMod = [](double s, int64_t, int64_t, int64_t i, int64_t) {
    return i % 2 == 0 ? s : -kInf;
  };
  AttentionProblem byCausal;
  byCausal.mask = MaskKind::Causal;

  for (const AttentionProblem &problem : {byMaskMod, byScoreMod}) {
    auto result = referenceAttention(problem, inputs.q, inputs.k, inputs.v);
    for (int64_t i = 0; i < 6; ++i) {
      double rowAbs = 0.0;
      for (int64_t c = 0; c < 16; ++c) {
        ASSERT_FALSE(std::isnan(result.out.at({0, 0, i, c})));
        rowAbs += std::fabs(result.out.at({0, 0, i, c}));
      }
      if (i % 2)
        EXPECT_EQ(rowAbs, 0.0) << "row " << i;
      else
        EXPECT_GT(rowAbs, 0.0) << "row " << i;
      EXPECT_EQ(result.logSumExp.at({0, 0, i}) == -kInf, i % 2 == 1);
    }
  }
  auto causal = referenceAttention(byCausal, inputs.q, inputs.k, inputs.v);
  for (int64_t c = 0; c < 16; ++c)
    EXPECT_EQ(causal.out.at({0, 0, 0, c}), 0.0); // row 0 sits at key -1
  EXPECT_GT(std::fabs(causal.out.at({0, 0, 1, 0})), 0.0);
}

TEST(AttentionTest, NoKeysAtAllGivesZeros) {
  auto result = referenceAttention(
      AttentionProblem{}, Tensor<double>::full({1, 2, 3, 4}, 1.0),
      Tensor<double>({1, 2, 0, 4}), Tensor<double>({1, 2, 0, 5}));
  ASSERT_EQ(result.out.shape(), (Shape{1, 2, 3, 5}));
  for (double value : result.out.values())
    EXPECT_EQ(value, 0.0);
}

TEST(AttentionTest, SoftcapMatchesClosedForm) {
  // Scores up to ~+-60 so the cap bends them visibly.
  AttentionInputSpec spec;
  spec.queries = 7;
  spec.keys = 11;
  spec.headDim = 8;
  spec.valueDim = 3;
  spec.stddev = 4.0;
  spec.seed = 11;
  auto in = generateAttentionInputs(spec);
  AttentionProblem problem;
  problem.scoreMod = softcapScoreMod(30.0);
  auto result = referenceAttention(problem, in.q, in.k, in.v);
  const double scale = 1.0 / std::sqrt(8.0);
  double largestScore = 0.0;
  for (int64_t i = 0; i < 7; ++i) {
    std::vector<double> weights(11);
    double total = 0.0;
    for (int64_t j = 0; j < 11; ++j) {
      double dot = 0.0;
      for (int64_t c = 0; c < 8; ++c)
        dot += in.q.at({0, 0, i, c}) * in.k.at({0, 0, j, c});
      largestScore = std::max(largestScore, std::fabs(dot * scale));
      weights[j] = std::exp(30.0 * std::tanh(dot * scale / 30.0));
      total += weights[j];
    }
    for (int64_t c = 0; c < 3; ++c) {
      double expected = 0.0;
      for (int64_t j = 0; j < 11; ++j)
        expected += weights[j] / total * in.v.at({0, 0, j, c});
      EXPECT_NEAR(result.out.at({0, 0, i, c}), expected, 1e-12);
    }
  }
  EXPECT_GT(largestScore, 20.0) << "inputs too small to exercise the cap";
}

TEST(AttentionTest, AlibiMatchesGeometricClosedForm) {
  // q = 0: every score is the ALiBi bias slope*(j - i - (M - N)), so with
  // causal masking row i weighs key j by r^j, r = exp(slope), j <= i + M - N:
  // o_i = sum_j r^j v_j / sum_j r^j.
  const int64_t heads = 4, n = 5, m = 8;
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  problem.scoreMod = alibiScoreMod(heads, n, m);
  Tensor<double> v({1, 1, m, 1});
  for (int64_t j = 0; j < m; ++j)
    v[j] = static_cast<double>(j * j) - 3.0;
  auto result = referenceAttention(problem, Tensor<double>({1, heads, n, 2}),
                                   Tensor<double>::full({1, 1, m, 2}, 0.5), v);
  for (int64_t h = 0; h < heads; ++h) {
    const double slope = std::pow(2.0, -8.0 * (h + 1) / heads);
    EXPECT_DOUBLE_EQ(alibiSlope(h, heads), slope);
    const double r = std::exp(slope);
    for (int64_t i = 0; i < n; ++i) {
      double numerator = 0.0, denominator = 0.0;
      for (int64_t j = 0; j <= i + m - n; ++j) {
        numerator += std::pow(r, j) * v[j];
        denominator += std::pow(r, j);
      }
      EXPECT_NEAR(result.out.at({0, h, i, 0}), numerator / denominator, 1e-12)
          << "head " << h << " row " << i;
    }
  }
}

TEST(AttentionTest, GroupedQueryHeadsMatchRepeatedKvHeads) {
  AttentionInputSpec spec;
  spec.batch = 2;
  spec.queryHeads = 6;
  spec.kvHeads = 2;
  spec.queries = 5;
  spec.keys = 9;
  spec.headDim = 4;
  spec.valueDim = 3;
  spec.seed = 5;
  auto in = generateAttentionInputs(spec);
  Tensor<double> k({2, 6, 9, 4}), v({2, 6, 9, 3});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 6; ++h)
      for (int64_t j = 0; j < 9; ++j) {
        for (int64_t c = 0; c < 4; ++c)
          k.at({b, h, j, c}) = in.k.at({b, h / 3, j, c});
        for (int64_t c = 0; c < 3; ++c)
          v.at({b, h, j, c}) = in.v.at({b, h / 3, j, c});
      }
  AttentionProblem problem;
  problem.mask = MaskKind::Causal;
  auto gqa = referenceAttention(problem, in.q, in.k, in.v);
  auto mha = referenceAttention(problem, in.q, k, v);
  EXPECT_LT(relativeError(gqa.out, mha.out), 1e-15);
  EXPECT_LT(relativeError(gqa.logSumExp, mha.logSumExp), 1e-15);
}

TEST(AttentionTest, ConstantScoreShiftLeavesOutputAndShiftsLogSumExp) {
  AttentionInputSpec spec;
  spec.queries = 6;
  spec.keys = 6;
  spec.seed = 21;
  auto in = generateAttentionInputs(spec);
  AttentionProblem plain;
  plain.mask = MaskKind::Causal;
  AttentionProblem shifted = plain;
  shifted.scoreMod = [](double s, int64_t, int64_t, int64_t, int64_t) {
    return s + 500.0; // would overflow exp() without max subtraction
  };
  auto a = referenceAttention(plain, in.q, in.k, in.v);
  auto b = referenceAttention(shifted, in.q, in.k, in.v);
  EXPECT_LT(relativeError(b.out, a.out), 1e-13);
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_NEAR(b.logSumExp[i], a.logSumExp[i] + 500.0, 1e-10);
}

TEST(AttentionTest, ScoreModReceivesScaledScoreAndIndices) {
  AttentionProblem problem;
  problem.scale = 0.25;
  int64_t calls = 0;
  problem.scoreMod = [&](double s, int64_t b, int64_t h, int64_t i, int64_t j) {
    ++calls;
    // q = 1, k = j + 1 (D = 1): s must be 0.25 * (j + 1).
    EXPECT_DOUBLE_EQ(s, 0.25 * (j + 1));
    EXPECT_EQ(b, 0);
    EXPECT_GE(h, 0);
    EXPECT_LT(h, 2);
    EXPECT_LT(i, 3);
    return s;
  };
  problem.mask = MaskKind::Causal;
  Tensor<double> k({1, 1, 4, 1});
  for (int64_t j = 0; j < 4; ++j)
    k[j] = j + 1.0;
  referenceAttention(problem, Tensor<double>::full({1, 2, 3, 1}, 1.0), k,
                     Tensor<double>::full({1, 1, 4, 1}, 1.0));
  // Causal, N = 3, M = 4: rows see 2, 3, 4 keys; the hook runs only on
  // visible keys, for both heads.
  EXPECT_EQ(calls, 2 * (2 + 3 + 4));
}

TEST(AttentionTest, NaNFromScoreModPropagates) {
  AttentionProblem problem;
  problem.scoreMod = [](double s, int64_t, int64_t, int64_t i, int64_t) {
    return i == 1 ? std::nan("") : s;
  };
  auto result =
      referenceAttention(problem, Tensor<double>::full({1, 1, 2, 2}, 1.0),
                         Tensor<double>::full({1, 1, 3, 2}, 1.0),
                         Tensor<double>::full({1, 1, 3, 2}, 1.0));
  EXPECT_FALSE(std::isnan(result.out.at({0, 0, 0, 0})));
  EXPECT_TRUE(std::isnan(result.out.at({0, 0, 1, 0})));
}

/// Message of the ReferenceError `call` throws ("" when it does not).
template <typename F> std::string errorOf(F call) {
  try {
    call();
  } catch (const ReferenceError &error) {
    return error.what();
  }
  return "";
}

TEST(AttentionTest, InvalidInputsNameTheProblem) {
  const Tensor<double> q({1, 4, 3, 8}), k({1, 2, 5, 8}), v({1, 2, 5, 6});
  AttentionProblem ok;
  EXPECT_EQ(errorOf([&] { referenceAttention(ok, q, k, v); }), "");
  EXPECT_NE(errorOf([&] {
              referenceAttention(ok, Tensor<double>({4, 3, 8}), k, v);
            }).find("'q' must have rank 4"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              referenceAttention(ok, q, Tensor<double>({1, 2, 5, 7}), v);
            }).find("head dim 7"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              referenceAttention(ok, q, k, Tensor<double>({1, 2, 4, 6}));
            }).find("'v' has shape [1, 2, 4, 6]"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              referenceAttention(ok, Tensor<double>({1, 3, 3, 8}), k, v);
            }).find("multiple of kv heads"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              referenceAttention(ok, Tensor<double>({2, 4, 3, 8}), k, v);
            }).find("batch sizes differ"),
            std::string::npos);
  AttentionProblem noWindow;
  noWindow.mask = MaskKind::SlidingWindow;
  EXPECT_NE(errorOf([&] {
              referenceAttention(noWindow, q, k, v);
            }).find("window >= 1"),
            std::string::npos);
  AttentionProblem strayWindow;
  strayWindow.mask = MaskKind::Causal;
  strayWindow.window = 4;
  EXPECT_NE(errorOf([&] {
              referenceAttention(strayWindow, q, k, v);
            }).find("only meaningful with mask kind sliding_window"),
            std::string::npos);
  AttentionProblem badScale;
  badScale.scale = std::nan("");
  EXPECT_NE(errorOf([&] {
              referenceAttention(badScale, q, k, v);
            }).find("scale must be finite"),
            std::string::npos);
  // The non-throwing form reports the same message.
  auto message = validateAttention(ok, q.shape(), k.shape(), Shape{1, 2, 4, 6});
  ASSERT_TRUE(message.has_value());
  EXPECT_NE(message->find("'v'"), std::string::npos);
}

/// >= 200 random problems: shapes, GQA ratios, every mask kind, mask_mod
/// and score_mod variants, against the tiled online softmax.
TEST(AttentionTest, PropertyMatchesTiledOnlineSoftmax) {
  Rng rng(2024);
  const int cases = 240;
  int withEmptyRows = 0;
  for (int c = 0; c < cases; ++c) {
    AttentionInputSpec spec;
    spec.batch = rng.uniformInt(1, 2);
    spec.kvHeads = rng.uniformInt(1, 3);
    spec.queryHeads = spec.kvHeads * rng.uniformInt(1, 3);
    spec.queries = rng.uniformInt(0, 24);
    spec.keys = rng.uniformInt(0, 24);
    spec.headDim = rng.uniformInt(1, 12);
    spec.valueDim = rng.uniformInt(1, 12);
    spec.seed = rng.next();
    spec.stddev = rng.uniform(0.5, 3.0);
    auto in = generateAttentionInputs(spec);

    AttentionProblem problem;
    problem.mask = static_cast<MaskKind>(rng.uniformInt(0, 2));
    if (problem.mask == MaskKind::SlidingWindow)
      problem.window = rng.uniformInt(1, 10);
    if (rng.uniformInt(0, 1))
      problem.scale = rng.uniform(0.05, 1.5);
    switch (rng.uniformInt(0, 2)) {
    case 1:
      problem.scoreMod = softcapScoreMod(rng.uniform(2.0, 30.0));
      break;
    case 2:
      problem.scoreMod =
          alibiScoreMod(spec.queryHeads, spec.queries, spec.keys);
      break;
    default:
      break;
    }
    if (rng.uniformInt(0, 2) == 0) {
      // Document mask: queries and keys in documents of `length` rows.
      const int64_t length = rng.uniformInt(1, 8);
      problem.maskMod = [length](int64_t, int64_t, int64_t i, int64_t j) {
        return i / length == j / length;
      };
    }
    const int64_t tile = rng.uniformInt(1, 9);
    auto expected = tiledOnlineSoftmax(problem, in.q, in.k, in.v, tile);
    auto actual = referenceAttention(problem, in.q, in.k, in.v);
    ASSERT_LT(relativeError(actual.out, expected.out), 1e-13)
        << "case " << c << " mask " << maskKindName(problem.mask);
    ASSERT_EQ(actual.logSumExp.shape(), expected.logSumExp.shape());
    for (int64_t r = 0; r < actual.logSumExp.size(); ++r) {
      const double a = actual.logSumExp[r], e = expected.logSumExp[r];
      if (e == -kInf) {
        ++withEmptyRows;
        ASSERT_EQ(a, -kInf) << "case " << c;
      } else {
        ASSERT_NEAR(a, e, 1e-12 * std::max(1.0, std::fabs(e))) << "case " << c;
      }
    }
  }
  EXPECT_GT(withEmptyRows, 0) << "sweep never produced a fully masked row";
}

} // namespace
