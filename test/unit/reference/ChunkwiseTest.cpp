//===- ChunkwiseTest.cpp - chunkwise form against the recurrence ---------===//
//
// The chunkwise form the compiler generates must equal the step-by-step
// definition for every gate kind, chunk size (including non-powers of two
// and chunks longer than the sequence), inner tile sizes that need not
// divide the chunk, T not a multiple of L, Dk != Dv, with and without an
// initial state: relative error < 1e-10 in double; in float, every output
// element within 1e-5 of its rounding-error scale (ErrorScale.h: plain
// relative error would flag ill-conditioned mLSTM rows that no float32 form
// gets right) and the final state within 1e-5 relative.
//
//===----------------------------------------------------------------------===//

#include "reference/Chunkwise.h"
#include "reference/ErrorScale.h"
#include "reference/Inputs.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"

#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <string>

using namespace flashgen::reference;
using flashgen::reference::testing::allFinite;
using flashgen::reference::testing::relativeError;

namespace {

const GateKind kAllGates[] = {GateKind::None, GateKind::Decay, GateKind::Vector,
                              GateKind::MlstmExp, GateKind::MlstmSig};

constexpr double kDoubleTolerance = 1e-10;
constexpr double kFloatTolerance = 1e-5;

LinearInputs<float> toFloat(const LinearInputs<double> &in) {
  LinearInputs<float> out;
  out.q = castTensor<float>(in.q);
  out.k = castTensor<float>(in.k);
  out.v = castTensor<float>(in.v);
  out.logDecay = castTensor<float>(in.logDecay);
  out.inputGate = castTensor<float>(in.inputGate);
  out.forgetGate = castTensor<float>(in.forgetGate);
  out.initial.c = castTensor<float>(in.initial.c);
  out.initial.n = castTensor<float>(in.initial.n);
  out.initial.m = castTensor<float>(in.initial.m);
  return out;
}

/// Largest relative error of the final state (m, a log-scale quantity,
/// absolutely).
template <typename T>
double stateError(const RecurrentState<T> &actual,
                  const RecurrentState<double> &expected, GateKind gate) {
  double worst = relativeError(actual.c, expected.c);
  if (gateHasNormalizer(gate))
    worst = std::max(worst, relativeError(actual.n, expected.n));
  if (gateHasStabilizer(gate))
    for (int64_t i = 0; i < expected.m.size(); ++i)
      worst = std::max(worst, std::fabs(actual.m[i] - expected.m[i]));
  return worst;
}

std::string describe(GateKind gate, const ChunkTiling &tiling,
                     const LinearInputSpec &spec) {
  return std::string(gateKindName(gate)) +
         " L=" + std::to_string(tiling.chunkSize) +
         " innerQ=" + std::to_string(tiling.innerQuery) +
         " innerK=" + std::to_string(tiling.innerKey) +
         " T=" + std::to_string(spec.steps) +
         " Dk=" + std::to_string(spec.keyDim) +
         " Dv=" + std::to_string(spec.valueDim) +
         (spec.initialState ? " +initial" : "");
}

/// Inputs exactly representable in float, so the float run sees the same
/// operands as the double recurrence.
LinearInputs<double> floatExactInputs(LinearInputSpec spec) {
  spec.dataRounding = spec.gateRounding = spec.stateRounding =
      Rounding::Float32;
  return generateLinearInputs(spec);
}

/// Runs both precisions against the recurrence and reports failures.
void expectMatchesRecurrence(const LinearProblem &problem,
                             const LinearInputSpec &spec,
                             const ChunkTiling &tiling) {
  const LinearInputs<double> in = floatExactInputs(spec);
  const LinearResult<double> expected = referenceRecurrence(problem, in);
  const auto inDouble = chunkwiseRecurrence(problem, in, tiling);
  EXPECT_LT(relativeError(inDouble.out, expected.out), kDoubleTolerance)
      << "double outputs, " << describe(problem.gate, tiling, spec);
  EXPECT_LT(stateError(inDouble.finalState, expected.finalState, problem.gate),
            kDoubleTolerance)
      << "double final state, " << describe(problem.gate, tiling, spec);

  const auto inFloat = chunkwiseRecurrence(problem, toFloat(in), tiling);
  const Tensor<double> scale = linearErrorScale(problem, in);
  EXPECT_LT(scaledError(inFloat.out, expected.out, scale), kFloatTolerance)
      << "float outputs, " << describe(problem.gate, tiling, spec);
  EXPECT_LT(stateError(inFloat.finalState, expected.finalState, problem.gate),
            kFloatTolerance)
      << "float final state, " << describe(problem.gate, tiling, spec);
}

class ChunkSizeSweep
    : public ::testing::TestWithParam<std::tuple<GateKind, int64_t>> {};

TEST_P(ChunkSizeSweep, MatchesRecurrence) {
  const auto [gate, chunkSize] = GetParam();
  // Two full chunks and a ragged third one.
  LinearInputSpec spec;
  spec.gate = gate;
  spec.heads = 2;
  spec.steps = 2 * chunkSize + chunkSize / 3 + 5;
  spec.keyDim = 12;
  spec.valueDim = 20;
  spec.seed = 1000 + chunkSize;
  LinearProblem problem;
  problem.gate = gate;
  const std::pair<int64_t, int64_t> tiles[] = {
      {16, 16}, {32, 128}, {128, 32}, {64, 64}, {48, 80}};
  for (auto [innerQuery, innerKey] : tiles)
    for (bool initial : {false, true}) {
      spec.initialState = initial;
      expectMatchesRecurrence(problem, spec,
                              ChunkTiling{chunkSize, innerQuery, innerKey});
    }
}

INSTANTIATE_TEST_SUITE_P(
    AllGates, ChunkSizeSweep,
    ::testing::Combine(::testing::ValuesIn(kAllGates),
                       ::testing::Values(16, 32, 48, 64, 96, 100, 128, 256,
                                         512)),
    [](const auto &info) {
      return std::string(gateKindName(std::get<0>(info.param))) + "_L" +
             std::to_string(std::get<1>(info.param));
    });

TEST(ChunkwiseTest, DegenerateTilings) {
  // L = 1 (every step its own chunk), tiles of one row, L > T (one partial
  // chunk), tiles larger than the chunk.
  const ChunkTiling tilings[] = {
      {1, 1, 1}, {5, 1, 1}, {7, 3, 2}, {500, 64, 16}, {8, 200, 300}};
  for (GateKind gate : kAllGates)
    for (const ChunkTiling &tiling : tilings) {
      LinearInputSpec spec;
      spec.gate = gate;
      spec.steps = 41;
      spec.keyDim = 3;
      spec.valueDim = 5;
      spec.initialState = true;
      spec.seed = 3;
      LinearProblem problem;
      problem.gate = gate;
      expectMatchesRecurrence(problem, spec, tiling);
    }
}

/// The regions' cases: B = 2, H = 3, T = 29 (several chunks of 8, a
/// ragged last one), Dk = 4, Dv = 6, with an initial state. The tests
/// below index [B, H, T, D] tensors with these sizes.
LinearInputSpec regionCase(GateKind gate, uint64_t seed) {
  LinearInputSpec spec;
  spec.gate = gate;
  spec.batch = 2;
  spec.heads = 3;
  spec.steps = 29;
  spec.keyDim = 4;
  spec.valueDim = 6;
  spec.initialState = true;
  spec.seed = seed;
  return spec;
}

TEST(ChunkwiseTest, OutputModIsAppliedToEveryOutputByBothForms) {
  // o'[b, h, t, d] = output_mod(o, b, h, t, d) after the normaliser
  // (docs/semantics.md §3.6), the states untouched: a modifier that reads
  // every index shows any element it misses or misplaces.
  auto mod = [](double o, int64_t b, int64_t h, int64_t t, int64_t d) {
    return o * (1.0 + 0.5 * b) - 0.25 * h + 0.01 * t * (d + 1);
  };
  for (GateKind gate : kAllGates) {
    const LinearInputs<double> in = generateLinearInputs(regionCase(gate, 11));
    LinearProblem plain, modified;
    plain.gate = modified.gate = gate;
    modified.outputMod = mod;
    const LinearResult<double> base = referenceRecurrence(plain, in);
    const LinearResult<double> step = referenceRecurrence(modified, in);
    const LinearResult<double> chunk = chunkwiseRecurrence(modified, in, ChunkTiling{8, 4, 4});
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t t = 0; t < 29; ++t)
          for (int64_t d = 0; d < 6; ++d) {
            const int64_t i = ((b * 3 + h) * 29 + t) * 6 + d;
            EXPECT_DOUBLE_EQ(step.out.data()[i], mod(base.out.data()[i], b, h, t, d))
                << gateKindName(gate) << " at (" << b << ", " << h << ", " << t << ", " << d << ")";
            EXPECT_NEAR(chunk.out.data()[i], step.out.data()[i], 1e-9 * (1 + std::fabs(step.out.data()[i])))
                << gateKindName(gate);
          }
    EXPECT_LT(stateError(step.finalState, base.finalState, gate), 1e-15) << gateKindName(gate);
  }
}

TEST(ChunkwiseTest, FeatureMapStandsForQAndKInBothForms) {
  // q'[b, h, t, d] = phi(q, b, h, t, d), k' likewise, and the recurrence
  // runs on q', k' (docs/semantics.md §3.7): both forms with the map agree
  // with the plain stepwise recurrence on inputs mapped here, element by
  // element (a map that reads every index shows one the reference
  // misplaces), the final state included (it sums k').
  auto phi = [](double x, int64_t b, int64_t h, int64_t t, int64_t d) {
    return std::tanh(x) * (1.0 + 0.25 * b) + 0.1 * h - 0.01 * t * (d + 1);
  };
  for (GateKind gate : kAllGates) {
    const LinearInputs<double> in = generateLinearInputs(regionCase(gate, 13));
    LinearInputs<double> mappedByHand = in;
    for (Tensor<double> *x : {&mappedByHand.q, &mappedByHand.k})
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < 3; ++h)
          for (int64_t t = 0; t < 29; ++t)
            for (int64_t d = 0; d < 4; ++d) {
              double &e = x->data()[((b * 3 + h) * 29 + t) * 4 + d];
              e = phi(e, b, h, t, d);
            }
    LinearProblem plain, mapped;
    plain.gate = mapped.gate = gate;
    mapped.featureMap = phi;
    const LinearResult<double> want = referenceRecurrence(plain, mappedByHand);
    const LinearResult<double> step = referenceRecurrence(mapped, in);
    const LinearResult<double> chunk = chunkwiseRecurrence(mapped, in, ChunkTiling{8, 4, 4});
    for (int64_t i = 0; i < want.out.size(); ++i) {
      EXPECT_DOUBLE_EQ(step.out.data()[i], want.out.data()[i]) << gateKindName(gate) << " at " << i;
      EXPECT_NEAR(chunk.out.data()[i], want.out.data()[i], 1e-9 * (1 + std::fabs(want.out.data()[i])))
          << gateKindName(gate) << " at " << i;
    }
    EXPECT_LT(stateError(step.finalState, want.finalState, gate), 1e-15) << gateKindName(gate);
    EXPECT_LT(stateError(chunk.finalState, want.finalState, gate), 1e-9) << gateKindName(gate);
    // The map changed the problem: the unmapped recurrence differs.
    EXPECT_GT(stateError(referenceRecurrence(plain, in).finalState, want.finalState, gate), 1e-3)
        << gateKindName(gate);
  }
}

TEST(ChunkwiseTest, ZeroStepsReturnTheInitialState) {
  for (GateKind gate : kAllGates) {
    LinearInputSpec spec;
    spec.gate = gate;
    spec.steps = 0;
    spec.initialState = true;
    auto in = generateLinearInputs(spec);
    LinearProblem problem;
    problem.gate = gate;
    auto result = chunkwiseRecurrence(problem, in, ChunkTiling{});
    EXPECT_EQ(result.out.size(), 0);
    EXPECT_EQ(result.finalState.c.values(), in.initial.c.values());
    EXPECT_EQ(result.finalState.n.values(), in.initial.n.values());
    EXPECT_EQ(result.finalState.m.values(), in.initial.m.values());
  }
}

TEST(ChunkwiseTest, BoundaryStatesEqualTheRecurrenceAfterEachChunk) {
  // The inter-chunk pass alone: state c must be the recurrence's state
  // after the first c * L steps.
  for (GateKind gate : kAllGates) {
    LinearInputSpec spec;
    spec.gate = gate;
    spec.batch = 2;
    spec.steps = 70;
    spec.keyDim = 4;
    spec.valueDim = 6;
    spec.initialState = true;
    spec.seed = 12;
    auto in = generateLinearInputs(spec);
    LinearProblem problem;
    problem.gate = gate;
    const int64_t chunkSize = 24; // chunks of 24, 24, 22
    auto states = chunkBoundaryStates(problem, in, chunkSize);
    ASSERT_EQ(states.chunks, 3);
    ASSERT_EQ(states.c.shape(), (Shape{2, 1, 4, 4, 6}));
    for (int64_t chunk = 0; chunk <= 3; ++chunk) {
      LinearInputs<double> prefix = in;
      const int64_t steps = std::min<int64_t>(chunk * chunkSize, 70);
      auto cut = [&](const Tensor<double> &x) {
        if (x.empty())
          return x;
        Shape shape = x.shape();
        const int64_t inner = x.rank() == 4 ? shape[3] : 1;
        shape[2] = steps;
        Tensor<double> part(shape);
        for (int64_t b = 0; b < 2; ++b)
          for (int64_t i = 0; i < steps * inner; ++i)
            part[b * steps * inner + i] = x[b * 70 * inner + i];
        return part;
      };
      prefix.q = cut(in.q);
      prefix.k = cut(in.k);
      prefix.v = cut(in.v);
      prefix.logDecay = cut(in.logDecay);
      prefix.inputGate = cut(in.inputGate);
      prefix.forgetGate = cut(in.forgetGate);
      auto expected = referenceRecurrence(problem, prefix).finalState;
      for (int64_t b = 0; b < 2; ++b) {
        for (int64_t i = 0; i < 4 * 6; ++i)
          EXPECT_NEAR(states.c[((b * 4) + chunk) * 24 + i],
                      expected.c[b * 24 + i],
                      1e-12 * (1 + std::fabs(expected.c[b * 24 + i])))
              << gateKindName(gate) << " chunk " << chunk;
        if (gateHasNormalizer(gate))
          for (int64_t d = 0; d < 4; ++d)
            EXPECT_NEAR(states.n[((b * 4) + chunk) * 4 + d],
                        expected.n[b * 4 + d], 1e-12);
        if (gateHasStabilizer(gate))
          EXPECT_NEAR(states.m[b * 4 + chunk], expected.m[b], 1e-12);
      }
    }
  }
}

TEST(ChunkwiseTest, LargeMlstmGatesStayFiniteAndMatch) {
  // Preactivations +-30 in both gates: exp(i) reaches 1e13 and the
  // cumulative log-forget of a chunk reaches -1000s; the max stabiliser
  // must keep everything finite and exact.
  for (GateKind gate : {GateKind::MlstmExp, GateKind::MlstmSig})
    for (const ChunkTiling &tiling :
         {ChunkTiling{64, 16, 16}, ChunkTiling{96, 32, 48},
          ChunkTiling{256, 64, 32}})
      for (bool initial : {false, true}) {
        LinearInputSpec spec;
        spec.gate = gate;
        spec.heads = 2;
        spec.steps = 600;
        spec.keyDim = 16;
        spec.valueDim = 8;
        spec.initialState = initial;
        spec.gates.inputGateMin = spec.gates.forgetGateMin = -30.0;
        spec.gates.inputGateMax = spec.gates.forgetGateMax = 30.0;
        spec.seed = 31;
        LinearProblem problem;
        problem.gate = gate;
        const LinearInputs<double> in = floatExactInputs(spec);
        const auto expected = referenceRecurrence(problem, in);
        const auto inDouble = chunkwiseRecurrence(problem, in, tiling);
        const auto inFloat = chunkwiseRecurrence(problem, toFloat(in), tiling);
        ASSERT_TRUE(allFinite(inDouble.out));
        ASSERT_TRUE(allFinite(inFloat.out));
        ASSERT_TRUE(allFinite(inFloat.finalState.c));
        EXPECT_LT(relativeError(inDouble.out, expected.out), kDoubleTolerance)
            << describe(gate, tiling, spec);
        EXPECT_LT(stateError(inDouble.finalState, expected.finalState, gate),
                  kDoubleTolerance)
            << describe(gate, tiling, spec);
        EXPECT_LT(scaledError(inFloat.out, expected.out,
                              linearErrorScale(problem, in)),
                  kFloatTolerance)
            << describe(gate, tiling, spec);
        EXPECT_LT(stateError(inFloat.finalState, expected.finalState, gate),
                  kFloatTolerance)
            << describe(gate, tiling, spec);
      }
}

TEST(ChunkwiseTest, InvalidTilingIsRejected) {
  LinearInputSpec spec;
  auto in = generateLinearInputs(spec);
  LinearProblem problem;
  for (const ChunkTiling &tiling :
       {ChunkTiling{0, 16, 16}, ChunkTiling{16, 0, 16},
        ChunkTiling{16, 16, -2}}) {
    try {
      chunkwiseRecurrence(problem, in, tiling);
      ADD_FAILURE() << "tiling accepted";
    } catch (const ReferenceError &error) {
      EXPECT_NE(std::string(error.what()).find("chunk tiling"),
                std::string::npos);
    }
  }
  EXPECT_THROW(chunkBoundaryStates(problem, in, 0), ReferenceError);
}

TEST(ChunkwiseTest, InvalidOperandsAreRejected) {
  LinearInputSpec spec;
  spec.gate = GateKind::Vector;
  auto in = generateLinearInputs(spec);
  LinearProblem problem;
  problem.gate = GateKind::Decay; // wrong logDecay rank for decay
  EXPECT_THROW(chunkwiseRecurrence(problem, in, ChunkTiling{}), ReferenceError);
  EXPECT_THROW(chunkwiseRecurrence(problem, toFloat(in), ChunkTiling{}),
               ReferenceError);
}

/// >= 200 random cases per gate kind: random shapes, tilings, scales,
/// initial states; double and float.
TEST(ChunkwiseTest, PropertyRandomShapesAndTilings) {
  for (GateKind gate : kAllGates) {
    Rng rng(4242 + static_cast<uint64_t>(gate));
    for (int c = 0; c < 200; ++c) {
      LinearInputSpec spec;
      spec.gate = gate;
      spec.batch = rng.uniformInt(1, 2);
      spec.heads = rng.uniformInt(1, 2);
      spec.steps = rng.uniformInt(1, 90);
      spec.keyDim = rng.uniformInt(1, 12);
      spec.valueDim = rng.uniformInt(1, 12);
      spec.initialState = rng.uniformInt(0, 1);
      spec.seed = rng.next();
      spec.gates.inputGateMin = -rng.uniform(0.0, 30.0);
      spec.gates.inputGateMax = rng.uniform(0.0, 30.0);
      spec.gates.logDecayMin = -rng.uniform(0.02, 3.0);
      LinearProblem problem;
      problem.gate = gate;
      if (rng.uniformInt(0, 1))
        problem.scale = rng.uniform(0.1, 1.5);
      const ChunkTiling tiling{rng.uniformInt(1, 64), rng.uniformInt(1, 40),
                               rng.uniformInt(1, 40)};
      SCOPED_TRACE("case " + std::to_string(c));
      expectMatchesRecurrence(problem, spec, tiling);
      if (::testing::Test::HasFailure())
        return;
    }
  }
}

} // namespace
