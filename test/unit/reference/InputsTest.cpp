//===- InputsTest.cpp - RNG and standard inputs ---------------------------===//

#include "reference/Inputs.h"
#include "reference/Bf16.h"
#include "reference/Random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

using namespace flashgen::reference;

namespace {

TEST(RandomTest, SameSeedSameSequenceDifferentSeedDifferent) {
  Rng a(123), b(123), c(124);
  int differences = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differences += x != c.next();
  }
  EXPECT_EQ(differences, 100);
}

TEST(RandomTest, SplitmixKnownFirstOutput) {
  // splitmix64 seeded with 0 starts 0xE220A8397B1DCDAF (the published
  // sequence); pins the generator so GPU hosts reproduce our inputs.
  Rng rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ull);
}

TEST(RandomTest, UniformStaysInRangeAndFillsIt) {
  Rng rng(9);
  double lowest = 1.0, highest = 0.0, sum = 0.0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lowest = std::min(lowest, u);
    highest = std::max(highest, u);
    sum += u;
  }
  EXPECT_LT(lowest, 1e-3);
  EXPECT_GT(highest, 1.0 - 1e-3);
  EXPECT_NEAR(sum / draws, 0.5, 0.01);
}

TEST(RandomTest, NormalHasUnitMoments) {
  Rng rng(10);
  double sum = 0.0, squares = 0.0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    const double x = rng.normal();
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    squares += x * x;
  }
  EXPECT_NEAR(sum / draws, 0.0, 0.02);
  EXPECT_NEAR(squares / draws, 1.0, 0.02);
}

TEST(RandomTest, UniformIntCoversInclusiveRange) {
  Rng rng(11);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const int64_t x = rng.uniformInt(-3, 4);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 4);
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(rng.uniformInt(5, 5), 5);
  EXPECT_THROW(rng.uniformInt(2, 1), ReferenceError);
}

TEST(RandomTest, SplitStreamsAreIndependentAndStable) {
  const Rng root(5);
  Rng s1 = root.split(1), s1again = root.split(1), s2 = root.split(2);
  EXPECT_EQ(s1.next(), s1again.next());
  EXPECT_NE(root.split(1).next(), s2.next());
}

TEST(InputsTest, LinearInputsHaveShapesAndRanges) {
  LinearInputSpec spec;
  spec.gate = GateKind::Vector;
  spec.batch = 2;
  spec.heads = 3;
  spec.steps = 50;
  spec.keyDim = 4;
  spec.valueDim = 6;
  spec.initialState = true;
  spec.gates.logDecayMin = -0.5;
  spec.gates.logDecayMax = -0.1;
  auto in = generateLinearInputs(spec);
  EXPECT_EQ(in.q.shape(), (Shape{2, 3, 50, 4}));
  EXPECT_EQ(in.v.shape(), (Shape{2, 3, 50, 6}));
  EXPECT_EQ(in.logDecay.shape(), (Shape{2, 3, 50, 4}));
  EXPECT_TRUE(in.inputGate.empty());
  EXPECT_EQ(in.initial.c.shape(), (Shape{2, 3, 4, 6}));
  EXPECT_TRUE(in.initial.n.empty());
  for (double g : in.logDecay.values()) {
    EXPECT_GE(g, -0.5);
    EXPECT_LT(g, -0.1);
  }

  spec.gate = GateKind::MlstmExp;
  spec.gates.inputGateMin = -30;
  spec.gates.inputGateMax = 30;
  auto mlstm = generateLinearInputs(spec);
  EXPECT_TRUE(mlstm.logDecay.empty());
  EXPECT_EQ(mlstm.forgetGate.shape(), (Shape{2, 3, 50}));
  EXPECT_EQ(mlstm.initial.m.shape(), (Shape{2, 3}));
  const auto [lo, hi] = std::minmax_element(mlstm.inputGate.values().begin(),
                                            mlstm.inputGate.values().end());
  EXPECT_LT(*lo, -20.0); // the range is really used
  EXPECT_GT(*hi, 20.0);
  EXPECT_GE(*lo, -30.0);
  EXPECT_LT(*hi, 30.0);
}

TEST(InputsTest, OperandsDoNotDependOnOtherOperands) {
  // Each tensor has its own stream: q and k stay the same whatever the gate
  // kind or whether an initial state is drawn.
  LinearInputSpec spec;
  spec.seed = 77;
  auto plain = generateLinearInputs(spec);
  spec.gate = GateKind::MlstmSig;
  spec.initialState = true;
  auto gated = generateLinearInputs(spec);
  EXPECT_EQ(plain.q.values(), gated.q.values());
  EXPECT_EQ(plain.k.values(), gated.k.values());
  EXPECT_EQ(plain.v.values(), gated.v.values());
  EXPECT_NE(plain.q.values(), plain.k.values());
  spec.seed = 78;
  EXPECT_NE(generateLinearInputs(spec).q.values(), gated.q.values());
}

TEST(InputsTest, RoundingIsApplied) {
  LinearInputSpec spec;
  spec.gate = GateKind::Decay;
  spec.initialState = true;
  spec.dataRounding = Rounding::Bf16;
  spec.gateRounding = Rounding::Float32;
  spec.stateRounding = Rounding::Float32;
  auto in = generateLinearInputs(spec);
  int inexactInBf16 = 0;
  for (double x : in.q.values())
    EXPECT_EQ(x, roundToBf16(x));
  for (double g : in.logDecay.values()) {
    EXPECT_EQ(g, static_cast<double>(static_cast<float>(g)));
    inexactInBf16 += g != roundToBf16(g);
  }
  for (double c : in.initial.c.values())
    EXPECT_EQ(c, static_cast<double>(static_cast<float>(c)));
  EXPECT_GT(inexactInBf16, 0) << "gates were rounded to bf16, not float";

  AttentionInputSpec attention;
  attention.rounding = Rounding::Bf16;
  auto a = generateAttentionInputs(attention);
  for (double x : a.k.values())
    EXPECT_EQ(x, roundToBf16(x));
}

TEST(InputsTest, AttentionInputsHaveShapes) {
  AttentionInputSpec spec;
  spec.batch = 2;
  spec.queryHeads = 8;
  spec.kvHeads = 2;
  spec.queries = 3;
  spec.keys = 5;
  spec.headDim = 7;
  spec.valueDim = 9;
  auto in = generateAttentionInputs(spec);
  EXPECT_EQ(in.q.shape(), (Shape{2, 8, 3, 7}));
  EXPECT_EQ(in.k.shape(), (Shape{2, 2, 5, 7}));
  EXPECT_EQ(in.v.shape(), (Shape{2, 2, 5, 9}));
}

TEST(InputsTest, BadSpecsAreRejected) {
  LinearInputSpec positiveDecay;
  positiveDecay.gate = GateKind::Decay;
  positiveDecay.gates.logDecayMax = 0.5;
  EXPECT_THROW(generateLinearInputs(positiveDecay), ReferenceError);
  LinearInputSpec inverted;
  inverted.gates.inputGateMin = 3;
  inverted.gates.inputGateMax = -3;
  EXPECT_THROW(generateLinearInputs(inverted), ReferenceError);
  LinearInputSpec negative;
  negative.steps = -1;
  EXPECT_THROW(generateLinearInputs(negative), ReferenceError);
  AttentionInputSpec noHeads;
  noHeads.kvHeads = 0;
  EXPECT_THROW(generateAttentionInputs(noHeads), ReferenceError);
}

} // namespace

TEST(InputsTest, OutputGradientHasItsOwnStream) {
  // A backward case draws do as well; q, k and v stay what the forward draws.
  AttentionInputSpec spec;
  spec.batch = 2;
  spec.queryHeads = 4;
  spec.kvHeads = 2;
  spec.queries = 5;
  spec.keys = 7;
  spec.headDim = 3;
  spec.valueDim = 6;
  spec.seed = 21;
  spec.rounding = Rounding::Bf16;
  AttentionInputs forward = generateAttentionInputs(spec);
  EXPECT_TRUE(forward.dout.empty());
  spec.outputGradient = true;
  AttentionInputs backward = generateAttentionInputs(spec);
  EXPECT_EQ(backward.q.values(), forward.q.values());
  EXPECT_EQ(backward.k.values(), forward.k.values());
  EXPECT_EQ(backward.v.values(), forward.v.values());
  ASSERT_EQ(backward.dout.shape(), (Shape{2, 4, 5, 6}));
  for (double x : backward.dout.values())
    EXPECT_EQ(x, applyRounding(x, Rounding::Bf16));
  EXPECT_TRUE(std::any_of(backward.dout.values().begin(),
                          backward.dout.values().end(),
                          [](double x) { return x != 0.0; }));
}

// Extra operands (docs/semantics.md §2.7): integer tensors are segment ids,
// scalars lengths, f32 values normal in f32; each extra its own stream.
TEST(InputsTest, ExtraIntegerTensorsAreSegmentIdsPerRow) {
  ExtraInputSpec spec;
  spec.shape = {3, 400};
  spec.seed = 7;
  Tensor<double> ids = generateExtraInput(spec);
  ASSERT_EQ(ids.shape(), (Shape{3, 400}));
  for (int64_t b = 0; b < 3; ++b) {
    const double *row = ids.values().data() + b * 400;
    EXPECT_EQ(row[0], 0);
    for (int64_t i = 1; i < 400; ++i)
      ASSERT_TRUE(row[i] == row[i - 1] || row[i] == row[i - 1] + 1)
          << "row " << b << " at " << i;
    // About 4 documents a row: at least 2 and far fewer than the tokens.
    EXPECT_GE(row[399], 1);
    EXPECT_LE(row[399], 20);
  }
}

TEST(InputsTest, PerSequenceExtrasAreLengths) {
  // A [B] integer extra (a serving batch's cache lengths) gets one length
  // per sequence, not segment ids (which would start every row at 0).
  ExtraInputSpec lengths;
  lengths.shape = {64};
  lengths.scalarMax = 300;
  lengths.perSequence = true;
  Tensor<double> value = generateExtraInput(lengths);
  double least = 1e9, most = 0;
  for (double v : value.values()) {
    EXPECT_EQ(v, std::floor(v));
    least = std::min(least, v);
    most = std::max(most, v);
  }
  EXPECT_GE(least, 0);
  EXPECT_LE(most, 300);
  EXPECT_EQ(value.values()[0], 0) << "the first sequence's cache is empty";
  EXPECT_GT(most - least, 100) << "64 lengths drawn from [0, 300] spread out";
}

TEST(InputsTest, ExtraScalarsAreLengthsAndFloatsAreRoundedNormals) {
  ExtraInputSpec scalar;
  scalar.scalarMax = 50;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    scalar.seed = seed;
    Tensor<double> value = generateExtraInput(scalar);
    ASSERT_EQ(value.values().size(), 1u);
    EXPECT_GE(value.values()[0], 1);
    EXPECT_LE(value.values()[0], 50);
  }
  ExtraInputSpec table;
  table.shape = {16, 64};
  table.integer = false;
  Tensor<double> values = generateExtraInput(table);
  double sum = 0;
  for (double v : values.values()) {
    EXPECT_EQ(v, double(float(v)));
    sum += v;
  }
  EXPECT_LT(std::fabs(sum / values.values().size()), 0.2);
  table.index = 1; // another extra of the op: another stream
  EXPECT_NE(generateExtraInput(table).values(), values.values());
}
