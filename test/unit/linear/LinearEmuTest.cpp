//===- LinearEmuTest.cpp - emitted recurrence kernels on the host emulator ===//
//
// The kernels flash-lower-kernels + the CUDA emitter produce for the specs in
// specs/ (generated at build time by flashgen-opt, see CMakeLists.txt), run
// on the device library's host emulator (test/unit/device/emu: lane-accurate
// ldmatrix, mma.sync, shuffles, deferred and poisoned cp.async) and compared
// with the float64 step-by-step reference (reference/Recurrence.h) under
// the accuracy measure of docs/semantics.md §5. Inputs are the standard
// random inputs (reference/Inputs.h) rounded to what the device reads: bf16
// q, k, v, f32 gates and states. Ragged T (partial last chunks), two value
// tiles, several inner tiles per chunk, initial and final states and every
// gate kind are covered. Outputs are poisoned with NaN first.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_decay.cu"
#include "emu_delta.cu"
#include "emu_gated_delta.cu"
#include "emu_exp.cu"
#include "emu_plain.cu"
#include "emu_scored_decay.cu"
#include "emu_scored_sig.cu"
#include "emu_sig.cu"
#include "emu_step_decay.cu"
#include "emu_step_delta.cu"
#include "emu_step_exp.cu"
#include "emu_step_gated_delta.cu"
#include "emu_step_odd.cu"
#include "emu_step_sig.cu"
#include "emu_step_vector.cu"
#include "emu_twopass.cu"
#include "emu_twopass_vector.cu"
#include "emu_vector.cu"
#include "example_decay.cu"
#include "example_gla_vector.cu"
#include "example_linear_plain.cu"
#include "example_mlstm.cu"
#include "example_mlstm_sig.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/DeltaRule.h"
#include "reference/ErrorScale.h"
#include "reference/Inputs.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace emu_test;
using namespace linear_emu;
namespace ref = flashgen::reference;
using fg::bf16;

/// Device buffers of one case; o, the rows' normalisers (the mLSTM kinds'
/// `norm`, set norm.asked = false to pass null) and the final state
/// poisoned.
struct Buffers {
  DevTensor<bf16> q, k, v, o;
  DevTensor<float> g, i, f, c0, n0, m0, cf, nf, mf;
  RowNormBuffer norm;
  explicit Buffers(const Case& c, const ref::LinearInputs<double>& in)
      : q(in.q),
        k(in.k),
        v(in.v),
        o(in.v.shape(), DevTensor<bf16>::kPoison),
        g(in.logDecay),
        i(in.inputGate),
        f(in.forgetGate),
        c0(in.initial.c),
        n0(in.initial.n),
        m0(in.initial.m),
        cf({c.batch, c.heads, c.keyDim, c.valueDim}, DevTensor<float>::kPoison),
        nf({c.batch, c.heads, c.keyDim}, DevTensor<float>::kPoison),
        mf({c.batch, c.heads}, DevTensor<float>::kPoison),
        norm(c.batch, c.heads, c.steps) {}
};

/// The chunk kernels round the state to 16 bits for the inter-chunk
/// product; the step kernels keep it in f32 from the inputs on.
constexpr double kChunkStateTolerance = 2e-2;
constexpr double kStepStateTolerance = 1e-5;

void checkOutputs(const Case& c, const ref::LinearInputs<double>& in, const Buffers& d, bool finalState,
                  double tolerance, double stateTolerance = kChunkStateTolerance) {
  ref::LinearProblem problem;
  problem.gate = c.gate;
  const ref::LinearResult<double> want = ref::referenceRecurrence(problem, in);
  const ref::Tensor<double> scale = ref::linearErrorScale(problem, in);
  const ref::Tensor<float> got = fromBf16(d.o, in.v.shape());
  const double error = ref::scaledError(got, want.out, scale);
  std::printf("[linear-emu] %s B=%lld H=%lld T=%lld: output error %.3g (scaled, semantics.md §5)\n",
              ref::gateKindName(c.gate), (long long)c.batch, (long long)c.heads, (long long)c.steps, error);
  EXPECT_LT(error, tolerance) << "outputs of gate " << ref::gateKindName(c.gate);
  if (ref::gateHasNormalizer(c.gate)) expectRowNorm(d.norm, want.rowNorm, ref::gateKindName(c.gate));
  if (!finalState) return;
  auto relative = [](const DevTensor<float>& got, const ref::Tensor<double>& want) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < want.size(); ++i) {
      const double e = std::fabs(double(got.mem.v[i]) - want.data()[i]);
      num = std::max(num, std::isnan(e) ? INFINITY : e);
      den = std::max(den, std::fabs(want.data()[i]));
    }
    return den > 0 ? num / den : num;
  };
  const double ec = relative(d.cf, want.finalState.c);
  std::printf("[linear-emu]   final C error %.3g (max abs / max |C|)\n", ec);
  EXPECT_LT(ec, stateTolerance) << "final C";
  if (ref::gateHasNormalizer(c.gate)) {
    const double en = relative(d.nf, want.finalState.n);
    std::printf("[linear-emu]   final n error %.3g\n", en);
    EXPECT_LT(en, stateTolerance) << "final n";
  }
  if (ref::gateHasStabilizer(c.gate))
    for (int64_t i = 0; i < want.finalState.m.size(); ++i)
      EXPECT_NEAR(d.mf.mem.v[i], want.finalState.m.data()[i], 1e-4) << "final m[" << i << "]";
}

/// bf16 inputs, bf16 P and a bf16 copy of the state in the inter-chunk
/// product: a few 2^-9 relative roundings per term.
constexpr double kTolerance = 4e-3;

class LinearEmuTest : public EmuTest {};

void runDecay(const Case& c) {
  using namespace emu_decay_v0_k;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_decay_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.o.mem.data(), d.o.s(0),
              d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

TEST_F(LinearEmuTest, DecayRaggedTwoValueTiles) { runDecay(Case{ref::GateKind::Decay, 2, 2, 150, 64, 64}); }

/// T shorter than one chunk, exactly two chunks, and a single step.
TEST_F(LinearEmuTest, DecayShortAndExactLengths) {
  for (int64_t steps : {37, 128, 1}) runDecay(Case{ref::GateKind::Decay, 1, 2, steps, 64, 64});
}

TEST_F(LinearEmuTest, PlainTwoQueryTilesPerChunk) {
  using namespace emu_plain_v0_k;
  const Case c{ref::GateKind::None, 1, 2, 200, 64, 64};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_plain_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

void runSig(const Case& c, bool passInitial, bool inPlace = false, bool askNorm = true) {
  using namespace emu_sig_v0_k;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  d.norm.asked = askNorm;
  // In place: a writable copy of the initial state is both c0 and cf (the
  // bundle's may_alias).
  DevTensor<float> state(in.initial.c.shape(), /*writable=*/true);
  for (int64_t i = 0; i < in.initial.c.size(); ++i) state.mem[i] = d.c0.mem[i];
  const float* c0 = inPlace ? state.mem.data() : d.c0.mem.data();
  float* cf = inPlace ? state.mem.data() : d.cf.mem.data();
  emu::launch(emu::Dim3{32 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_sig_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(),
              d.f.s(0), d.f.s(1), d.f.s(2), passInitial ? c0 : nullptr, d.c0.s(0), d.c0.s(1), d.c0.s(2),
              d.c0.s(3), passInitial ? (const float*)d.n0.mem.data() : nullptr, d.n0.s(0), d.n0.s(1), d.n0.s(2),
              d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0), d.norm.s(1),
              d.norm.s(2), d.norm.s(3), cf, d.cf.s(0), d.cf.s(1), d.cf.s(2),
              d.cf.s(3), d.nf.mem.data(), d.nf.s(0), d.nf.s(1), d.nf.s(2), int(c.batch), int(c.steps));
  if (inPlace)
    for (int64_t i = 0; i < in.initial.c.size(); ++i) d.cf.mem[i] = state.mem[i];
  checkOutputs(c, in, d, true, kTolerance);
}

/// The chunkwise kernel in place: each CTA reads its slice of C before it
/// writes it, so cf may be c0's memory (the bundle's may_alias).
TEST_F(LinearEmuTest, SigStatesInPlace) {
  runSig(Case{ref::GateKind::MlstmSig, 2, 1, 130, 64, 32, true, 31}, true, /*inPlace=*/true);
}

TEST_F(LinearEmuTest, SigInitialAndFinalStateTwoWarps) {
  runSig(Case{ref::GateKind::MlstmSig, 2, 1, 130, 64, 32, true}, true);
}

/// No norm asked either (null `norm`).
TEST_F(LinearEmuTest, SigNullInitialStateIsZero) {
  runSig(Case{ref::GateKind::MlstmSig, 1, 1, 64, 64, 32, false}, false, /*inPlace=*/false, /*askNorm=*/false);
}

/// T = 0: no chunk runs; the final state is the initial state.
TEST_F(LinearEmuTest, SigEmptySequenceKeepsTheInitialState) {
  runSig(Case{ref::GateKind::MlstmSig, 1, 1, 0, 64, 32, true}, true);
}

/// Launches an mlstm_exp kernel (chunkwise or step: the same parameters)
/// on d, one CTA per value tile of `valueTiles` and per batch element; a
/// Case without an initial state passes null c0, n0 and m0.
template <class... P>
void launchMlstmExp(void (*kernel)(P...), unsigned valueTiles, int threads, size_t smemBytes, const Case& c,
                    Buffers& d) {
  emu::launch(emu::Dim3{valueTiles, 1, unsigned(c.batch)}, threads, smemBytes, kernel,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(),
              d.f.s(0), d.f.s(1), d.f.s(2), c.initial ? (const float*)d.c0.mem.data() : nullptr, d.c0.s(0),
              d.c0.s(1), d.c0.s(2), d.c0.s(3), c.initial ? (const float*)d.n0.mem.data() : nullptr, d.n0.s(0),
              d.n0.s(1), d.n0.s(2), c.initial ? (const float*)d.m0.mem.data() : nullptr, d.m0.s(0), d.m0.s(1),
              d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0), d.norm.s(1),
              d.norm.s(2), d.norm.s(3), d.cf.mem.data(), d.cf.s(0), d.cf.s(1),
              d.cf.s(2), d.cf.s(3), d.nf.mem.data(), d.nf.s(0), d.nf.s(1), d.nf.s(2), d.mf.mem.data(), d.mf.s(0),
              d.mf.s(1), int(c.batch), int(c.steps));
}

void runExp(const Case& c) {
  using namespace emu_exp_v0_k;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  launchMlstmExp(flashgen_emu_exp_v0, 64 / kTileDv, kThreads, kSmemBytes, c, d);
  checkOutputs(c, in, d, true, kTolerance);
}

TEST_F(LinearEmuTest, ExpStabilizerAcrossChunksAndKeyTiles) {
  runExp(Case{ref::GateKind::MlstmExp, 1, 1, 170, 64, 64, true});
}

TEST_F(LinearEmuTest, ExpLargeGates) {
  Case c{ref::GateKind::MlstmExp, 1, 1, 100, 64, 64, false, 7};
  c.gateRange = 30;
  runExp(c);
}

/// chunk_two_pass: the states kernel writes every boundary state to
/// scratch, then the outputs kernel runs one CTA per (chunk, value tile).
TEST_F(LinearEmuTest, TwoPassExpMatchesTheRecurrence) {
  const Case c{ref::GateKind::MlstmExp, 1, 1, 150, 64, 64, true, 3};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  const int64_t chunks = (c.steps + 63) / 64;
  DevTensor<float> sc({c.batch, c.heads, chunks + 1, c.keyDim, c.valueDim}, DevTensor<float>::kPoison);
  DevTensor<float> sn({c.batch, c.heads, chunks + 1, c.keyDim}, DevTensor<float>::kPoison);
  DevTensor<float> sm({c.batch, c.heads, chunks + 1}, DevTensor<float>::kPoison);
  {
    using namespace emu_twopass_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_twopass_v0_states, (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2),
                d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3),
                (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(), d.f.s(0),
                d.f.s(1), d.f.s(2), (const float*)d.c0.mem.data(), d.c0.s(0), d.c0.s(1), d.c0.s(2), d.c0.s(3),
                (const float*)d.n0.mem.data(), d.n0.s(0), d.n0.s(1), d.n0.s(2), (const float*)d.m0.mem.data(),
                d.m0.s(0), d.m0.s(1), d.cf.mem.data(), d.cf.s(0), d.cf.s(1), d.cf.s(2), d.cf.s(3), d.nf.mem.data(),
                d.nf.s(0), d.nf.s(1), d.nf.s(2), d.mf.mem.data(), d.mf.s(0), d.mf.s(1), sc.mem.data(), sc.s(0),
                sc.s(1), sc.s(2), sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3),
                sm.mem.data(), sm.s(0), sm.s(1), sm.s(2), int(c.batch), int(c.steps));
  }
  {
    using namespace emu_twopass_v0_outputs_k;
    emu::launch(emu::Dim3{unsigned(chunks) * (64 / kTileDv), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_twopass_v0_outputs, (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2),
                d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3),
                (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3), (const float*)d.i.mem.data(),
                d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(), d.f.s(0), d.f.s(1), d.f.s(2),
                d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0), d.norm.s(1),
                d.norm.s(2), d.norm.s(3), (const float*)sc.mem.data(), sc.s(0),
                sc.s(1), sc.s(2), sc.s(3), sc.s(4), (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2),
                sn.s(3), (const float*)sm.mem.data(), sm.s(0), sm.s(1), sm.s(2), int(c.batch), int(c.steps));
  }
  checkOutputs(c, in, d, true, kTolerance);
}

/// The two-pass vector form: its states kernel gates k alone.
TEST_F(LinearEmuTest, TwoPassVectorMatchesTheRecurrence) {
  const Case c{ref::GateKind::Vector, 1, 1, 150, 64, 64, false, 5};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  const int64_t chunks = (c.steps + 63) / 64;
  DevTensor<float> sc({c.batch, c.heads, chunks + 1, c.keyDim, c.valueDim}, DevTensor<float>::kPoison);
  {
    using namespace emu_twopass_vector_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_twopass_vector_v0_states, (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2),
                d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3),
                (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.g.s(3), sc.mem.data(), sc.s(0),
                sc.s(1), sc.s(2), sc.s(3), sc.s(4), int(c.batch), int(c.steps));
  }
  {
    using namespace emu_twopass_vector_v0_outputs_k;
    emu::launch(emu::Dim3{unsigned(chunks) * (64 / kTileDv), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_twopass_vector_v0_outputs, (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1),
                d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3),
                (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3), (const float*)d.g.mem.data(),
                d.g.s(0), d.g.s(1), d.g.s(2), d.g.s(3), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3),
                (const float*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), int(c.batch),
                int(c.steps));
  }
  checkOutputs(c, in, d, false, kTolerance);
}

/// chunk_scored: the scores pre-pass writes each chunk's gated P, scanned
/// gate buffer and (mlstm_sig) key sums (scratch poisoned first: a read of
/// anything it does not write shows as NaN), then the fused loop stages
/// them beside q, k, v instead of computing Q K^T, scanning the gates and
/// summing the keys.
TEST_F(LinearEmuTest, ScoredSigMatchesTheRecurrence) {
  const Case c{ref::GateKind::MlstmSig, 2, 1, 150, 64, 64, true, 13};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  const int64_t chunks = (c.steps + 63) / 64;
  DevTensor<bf16> scores({c.batch, c.heads, chunks * 64, 64}, DevTensor<bf16>::kPoison);
  DevTensor<float> gates({c.batch, c.heads, chunks, 4 * 64 + 4}, DevTensor<float>::kPoison);
  DevTensor<float> sums({c.batch, c.heads, chunks, c.keyDim}, DevTensor<float>::kPoison);
  // The intra-chunk part of each row's N sums the staged bf16 P (the fused
  // kernel sums P in f32 before rounding it): a 2^-9 relative rounding per
  // term, 1.7e-3 relative L2 measured (seed 13), errors spread evenly over
  // the rows.
  d.norm.nTolerance = 4e-3;
  {
    using namespace emu_scored_sig_v0_scores_k;
    emu::launch(emu::Dim3{unsigned(chunks), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_scored_sig_v0_scores, (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2),
                d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3),
                (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(), d.f.s(0),
                d.f.s(1), d.f.s(2), scores.mem.data(), scores.s(0), scores.s(1), scores.s(2), scores.s(3),
                gates.mem.data(), gates.s(0), gates.s(1), gates.s(2), gates.s(3), sums.mem.data(), sums.s(0),
                sums.s(1), sums.s(2), sums.s(3), int(c.batch), int(c.steps));
  }
  {
    using namespace emu_scored_sig_v0_k;
    emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_scored_sig_v0,
                (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
                d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1),
                d.v.s(2), d.v.s(3), (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2),
                (const float*)d.f.mem.data(), d.f.s(0), d.f.s(1), d.f.s(2), (const float*)d.c0.mem.data(),
                d.c0.s(0), d.c0.s(1), d.c0.s(2), d.c0.s(3), (const float*)d.n0.mem.data(), d.n0.s(0), d.n0.s(1),
                d.n0.s(2), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0),
                d.norm.s(1), d.norm.s(2), d.norm.s(3), d.cf.mem.data(), d.cf.s(0),
                d.cf.s(1), d.cf.s(2), d.cf.s(3), d.nf.mem.data(), d.nf.s(0), d.nf.s(1), d.nf.s(2),
                (const bf16*)scores.mem.data(), scores.s(0), scores.s(1), scores.s(2), scores.s(3),
                (const float*)gates.mem.data(), gates.s(0), gates.s(1), gates.s(2), gates.s(3),
                (const float*)sums.mem.data(), sums.s(0), sums.s(1), sums.s(2), sums.s(3), int(c.batch),
                int(c.steps));
  }
  checkOutputs(c, in, d, true, kTolerance);
}

/// chunk_scored for decay at a ragged T: two heads, chunks of 32, one stage.
TEST_F(LinearEmuTest, ScoredDecayRagged) {
  for (int64_t steps : {100, 7}) {
    const Case c{ref::GateKind::Decay, 1, 2, steps, 64, 32, false, 17};
    const auto in = inputsFor(c);
    Buffers d(c, in);
    const int64_t chunks = (c.steps + 31) / 32;
    DevTensor<bf16> scores({c.batch, c.heads, chunks * 32, 32}, DevTensor<bf16>::kPoison);
    DevTensor<float> gates({c.batch, c.heads, chunks, 4 * 32 + 4}, DevTensor<float>::kPoison);
    {
      using namespace emu_scored_decay_v0_scores_k;
      emu::launch(emu::Dim3{unsigned(chunks), 2, unsigned(c.batch)}, kThreads, kSmemBytes,
                  flashgen_emu_scored_decay_v0_scores, (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1),
                  d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3),
                  (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), scores.mem.data(), scores.s(0),
                  scores.s(1), scores.s(2), scores.s(3), gates.mem.data(), gates.s(0), gates.s(1), gates.s(2),
                  gates.s(3), int(c.batch), int(c.steps));
    }
    {
      using namespace emu_scored_decay_v0_k;
      emu::launch(emu::Dim3{32 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes,
                  flashgen_emu_scored_decay_v0, (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2),
                  d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3),
                  (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3),
                  (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.o.mem.data(), d.o.s(0),
                  d.o.s(1), d.o.s(2), d.o.s(3), (const bf16*)scores.mem.data(), scores.s(0), scores.s(1),
                  scores.s(2), scores.s(3), (const float*)gates.mem.data(), gates.s(0), gates.s(1),
                  gates.s(2), gates.s(3), int(c.batch), int(c.steps));
    }
    checkOutputs(c, in, d, false, kTolerance);
  }
}

TEST_F(LinearEmuTest, VectorGatesRagged) {
  using namespace emu_vector_v0_k;
  const Case c{ref::GateKind::Vector, 1, 1, 140, 64, 64};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_vector_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.g.s(3), d.o.mem.data(),
              d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

// The delta rule's two kernels (docs/semantics.md §7) against the float64
// step recurrence: delta_prepare writes every chunk's WY factors, then
// delta_fused corrects them with the carried state and runs linear_fused's
// outputs and state update over the corrected values.

/// Delta-rule inputs rounded as the device reads them: bf16 q, k, v; beta
/// in bf16 or f32; f32 log-decays in [-0.3, 0] (gates near 1 and well
/// below); an f32 initial state. Without l2norm_qk, k is scaled to about
/// unit norm so every (I - beta k k^T) stays a contraction.
struct DeltaCase {
  int64_t batch, heads, steps, keyDim, valueDim;
  bool gated = false, l2norm = false, initial = false, betaBf16 = false;
  uint64_t seed = 11;
};

ref::DeltaInputs<double> deltaInputsFor(const DeltaCase& c) {
  ref::Rng rng(c.seed);
  auto bf = [](double x) { return double(bf16_value(bf16_from<bf16>(float(x)))); };
  auto fill = [&](ref::Shape shape, auto draw) {
    ref::Tensor<double> t(shape);
    for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = draw();
    return t;
  };
  const double kScale = c.l2norm ? 1.0 : 1.0 / std::sqrt(double(c.keyDim));
  ref::DeltaInputs<double> in;
  in.q = fill({c.batch, c.heads, c.steps, c.keyDim}, [&] { return bf(rng.normal()); });
  in.k = fill({c.batch, c.heads, c.steps, c.keyDim}, [&] { return bf(kScale * rng.normal()); });
  in.v = fill({c.batch, c.heads, c.steps, c.valueDim}, [&] { return bf(rng.normal()); });
  in.beta = fill({c.batch, c.heads, c.steps}, [&] {
    const double b = rng.uniform(0.0, 1.0);
    return c.betaBf16 ? bf(b) : double(float(b));
  });
  if (c.gated) in.logDecay = fill({c.batch, c.heads, c.steps}, [&] { return double(float(rng.uniform(-0.3, 0.0))); });
  if (c.initial)
    in.initial = fill({c.batch, c.heads, c.keyDim, c.valueDim}, [&] { return double(float(0.3 * rng.normal())); });
  return in;
}

/// o and the final state against the step recurrence: max abs error over
/// max |reference| (bf16 outputs, bf16 corrected values and state copy).
void checkDelta(const DeltaCase& c, const ref::DeltaInputs<double>& in, const DevTensor<bf16>& o,
                const DevTensor<float>* finalState, double stateTolerance = kChunkStateTolerance) {
  ref::DeltaProblem problem;
  problem.gated = c.gated;
  problem.l2NormQK = c.l2norm;
  const ref::DeltaResult<double> want = ref::referenceDeltaRule(problem, in);
  auto relative = [](auto value, const ref::Tensor<double>& ref) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < ref.size(); ++i) {
      const double e = std::fabs(value(i) - ref.data()[i]);
      num = std::max(num, std::isnan(e) ? INFINITY : e);
      den = std::max(den, std::fabs(ref.data()[i]));
    }
    return den > 0 ? num / den : num;
  };
  const double eo = relative([&](int64_t i) { return double(bf16_value(o.mem.v[i])); }, want.out);
  std::printf("[delta-emu] %s%s B=%lld H=%lld T=%lld Dk=%lld Dv=%lld: output error %.3g (max abs / max |o|)\n",
              c.gated ? "gated" : "plain", c.l2norm ? " l2norm" : "", (long long)c.batch, (long long)c.heads,
              (long long)c.steps, (long long)c.keyDim, (long long)c.valueDim, eo);
  EXPECT_LT(eo, 2e-2) << "delta-rule outputs";
  if (!finalState) return;
  const double es = relative([&](int64_t i) { return double(finalState->mem.v[i]); }, want.finalState);
  std::printf("[delta-emu]   final S error %.3g (max abs / max |S|)\n", es);
  EXPECT_LT(es, stateTolerance) << "delta-rule final state";
}

/// The WY factors delta_prepare writes and delta_fused reads (scratch of
/// whole 64-row chunks), NaN-poisoned: rows the prepare kernel leaves
/// unwritten (past T) must not reach the outputs (the fused kernel's loads
/// stop at T).
struct DeltaScratch {
  int64_t chunks;
  DevTensor<bf16> w, u;
  DevTensor<float> norm;  ///< l2norm_qk: each row's 1/|q|, 1/|k| ([B, H, rows, 2])
  explicit DeltaScratch(const DeltaCase& c)
      : chunks(std::max<int64_t>((c.steps + 63) / 64, 1)),
        w({c.batch, c.heads, chunks * 64, c.keyDim}, DevTensor<bf16>::kPoison),
        u({c.batch, c.heads, chunks * 64, c.valueDim}, DevTensor<bf16>::kPoison),
        norm({c.batch, c.heads, chunks * 64, 2}, DevTensor<float>::kPoison) {}
};

/// DeltaNet with an f32 beta: two value tiles, two inner key tiles, ragged
/// T (three chunks, the last partial) and two heads per batch.
TEST_F(LinearEmuTest, DeltaRuleRaggedTwoValueTiles) {
  const DeltaCase c{2, 2, 150, 64, 64};
  const auto in = deltaInputsFor(c);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> beta(in.beta);
  DeltaScratch wy(c);
  {
    using namespace emu_delta_v0_prepare_k;
    emu::launch(emu::Dim3{unsigned(wy.chunks), 2, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_delta_v0_prepare, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)beta.mem.data(),
                beta.s(0), beta.s(1), beta.s(2), wy.w.mem.data(), wy.w.s(0), wy.w.s(1), wy.w.s(2), wy.w.s(3),
                wy.u.mem.data(), wy.u.s(0), wy.u.s(1), wy.u.s(2), wy.u.s(3), int(c.batch), int(c.steps));
  }
  {
    using namespace emu_delta_v0_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_delta_v0,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
                k.s(1), k.s(2), k.s(3), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), (const bf16*)wy.w.mem.data(),
                wy.w.s(0), wy.w.s(1), wy.w.s(2), wy.w.s(3), (const bf16*)wy.u.mem.data(), wy.u.s(0), wy.u.s(1),
                wy.u.s(2), wy.u.s(3), int(c.batch), int(c.steps));
  }
  checkDelta(c, in, o, nullptr);
}

void runGatedDelta(const DeltaCase& c, bool passInitial, bool inPlace = false) {
  const auto in = deltaInputsFor(c);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), beta(in.beta), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> g(in.logDecay), s0(in.initial);
  DevTensor<float> sf({c.batch, c.heads, c.keyDim, c.valueDim}, DevTensor<float>::kPoison);
  if (inPlace)  // sf starts as the initial state and is the kernel's c0 too
    for (int64_t i = 0; i < in.initial.size(); ++i) sf.mem[i] = s0.mem[i];
  const float* initial = inPlace ? sf.mem.data() : s0.mem.data();
  DeltaScratch wy(c);
  {
    using namespace emu_gated_delta_v0_prepare_k;
    emu::launch(emu::Dim3{unsigned(wy.chunks), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_gated_delta_v0_prepare, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3),
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const bf16*)beta.mem.data(),
                beta.s(0), beta.s(1), beta.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2),
                wy.w.mem.data(), wy.w.s(0), wy.w.s(1), wy.w.s(2), wy.w.s(3), wy.u.mem.data(), wy.u.s(0),
                wy.u.s(1), wy.u.s(2), wy.u.s(3), wy.norm.mem.data(), wy.norm.s(0), wy.norm.s(1), wy.norm.s(2),
                wy.norm.s(3), int(c.batch), int(c.steps));
  }
  {
    using namespace emu_gated_delta_v0_k;
    emu::launch(emu::Dim3{32 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_gated_delta_v0,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
                k.s(1), k.s(2), k.s(3), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2),
                passInitial ? initial : nullptr, s0.s(0), s0.s(1), s0.s(2), s0.s(3),
                o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), sf.mem.data(), sf.s(0), sf.s(1), sf.s(2), sf.s(3),
                (const bf16*)wy.w.mem.data(), wy.w.s(0), wy.w.s(1), wy.w.s(2), wy.w.s(3),
                (const bf16*)wy.u.mem.data(), wy.u.s(0), wy.u.s(1), wy.u.s(2), wy.u.s(3),
                (const float*)wy.norm.mem.data(), wy.norm.s(0), wy.norm.s(1), wy.norm.s(2), wy.norm.s(3),
                int(c.batch), int(c.steps));
  }
  checkDelta(c, in, o, &sf);
}

/// Gated DeltaNet, l2-normalised q and k, bf16 beta, Dk != Dv, one stage,
/// an initial state in and the final state out, over a ragged T.
TEST_F(LinearEmuTest, GatedDeltaRuleWithStates) {
  DeltaCase c{2, 1, 140, 64, 32};
  c.gated = c.l2norm = c.initial = c.betaBf16 = true;
  runGatedDelta(c, true);
}

/// T shorter than one chunk and a single step; no initial state (zeros).
/// delta_fused in place (cf over c0), three chunks.
TEST_F(LinearEmuTest, GatedDeltaRuleStatesInPlace) {
  DeltaCase c{2, 1, 140, 64, 32};
  c.gated = c.l2norm = c.initial = c.betaBf16 = true;
  c.seed = 33;
  runGatedDelta(c, true, /*inPlace=*/true);
}

TEST_F(LinearEmuTest, GatedDeltaRuleShortLengths) {
  for (int64_t steps : {37, 1}) {
    DeltaCase c{1, 1, steps, 64, 32};
    c.gated = c.l2norm = c.betaBf16 = true;
    runGatedDelta(c, false);
  }
}

// The recurrent step kernels (decoding: the state slice in registers, one
// rank-one update per token) against the same float64 step recurrence, at a
// few tokens per call, with states in and out, and in place (the final
// state written over the initial one, as a decoder keeps its cache).

void runStepExp(const Case& c) {
  using namespace emu_step_exp_v0_k;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  launchMlstmExp(flashgen_emu_step_exp_v0, 32 / kTileDv, kThreads, kSmemBytes, c, d);
  checkOutputs(c, in, d, true, kTolerance, kStepStateTolerance);
}

/// mLSTM (exponential input gate): the stabiliser and normaliser carried
/// token to token, two value tiles, large preactivations.
TEST_F(LinearEmuTest, StepExpStabilizerAcrossTokens) {
  Case c{ref::GateKind::MlstmExp, 2, 1, 5, 64, 32, true, 21};
  c.gateRange = 12;
  runStepExp(c);
}

/// Dims no chunk kernel takes (Dk = 96, Dv = 40): 5 value tiles of 8
/// columns, 3 key rows a thread.
TEST_F(LinearEmuTest, StepOddDims) {
  using namespace emu_step_odd_v0_k;
  Case c{ref::GateKind::MlstmExp, 2, 1, 3, 96, 40, true, 27};
  c.gateRange = 6;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  launchMlstmExp(flashgen_emu_step_odd_v0, 40 / kTileDv, kThreads, kSmemBytes, c, d);
  checkOutputs(c, in, d, true, kTolerance, kStepStateTolerance);
}

/// No token: the final state is the initial state.
TEST_F(LinearEmuTest, StepExpNoTokenKeepsTheState) {
  runStepExp(Case{ref::GateKind::MlstmExp, 1, 1, 0, 64, 32, true, 22});
}

TEST_F(LinearEmuTest, StepSigWithStates) {
  using namespace emu_step_sig_v0_k;
  const Case c{ref::GateKind::MlstmSig, 2, 2, 3, 64, 64, true, 23};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_sig_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(),
              d.f.s(0), d.f.s(1), d.f.s(2), (const float*)d.c0.mem.data(), d.c0.s(0), d.c0.s(1), d.c0.s(2),
              d.c0.s(3), (const float*)d.n0.mem.data(), d.n0.s(0), d.n0.s(1), d.n0.s(2), d.o.mem.data(), d.o.s(0),
              d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0), d.norm.s(1), d.norm.s(2), d.norm.s(3),
              d.cf.mem.data(), d.cf.s(0), d.cf.s(1), d.cf.s(2), d.cf.s(3),
              d.nf.mem.data(), d.nf.s(0), d.nf.s(1), d.nf.s(2), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, true, kTolerance, kStepStateTolerance);
}

/// Scalar decay, two value tiles of 64, one token and a few; `inPlace`
/// writes the final state over the initial state's memory.
void runStepDecay(const Case& c, bool inPlace) {
  using namespace emu_step_decay_v0_k;
  const auto in = inputsFor(c);
  Buffers d(c, in);
  DevTensor<float> state(in.initial.c.shape(), /*writable=*/true);
  for (int64_t i = 0; i < in.initial.c.size(); ++i) state.mem[i] = d.c0.mem[i];
  const float* c0 = inPlace ? state.mem.data() : d.c0.mem.data();
  float* cf = inPlace ? state.mem.data() : d.cf.mem.data();
  emu::launch(emu::Dim3{128 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_decay_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), c0, d.c0.s(0), d.c0.s(1),
              d.c0.s(2), d.c0.s(3), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), cf, d.cf.s(0),
              d.cf.s(1), d.cf.s(2), d.cf.s(3), int(c.batch), int(c.steps));
  if (inPlace)
    for (int64_t i = 0; i < in.initial.c.size(); ++i) d.cf.mem[i] = state.mem[i];
  checkOutputs(c, in, d, true, kTolerance, kStepStateTolerance);
}

TEST_F(LinearEmuTest, StepDecayOneAndFourTokens) {
  for (int64_t steps : {1, 4}) runStepDecay(Case{ref::GateKind::Decay, 2, 2, steps, 64, 128, true, 24}, false);
}

TEST_F(LinearEmuTest, StepDecayInPlace) { runStepDecay(Case{ref::GateKind::Decay, 2, 2, 3, 64, 128, true, 25}, true); }

TEST_F(LinearEmuTest, StepVectorGates) {
  using namespace emu_step_vector_v0_k;
  const Case c{ref::GateKind::Vector, 2, 1, 6, 32, 32, false, 26};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{32 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_vector_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.g.s(3), d.o.mem.data(),
              d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

/// Gated DeltaNet, l2-normalised q and k, bf16 beta, the state in and out
/// in place, four value tiles of 8 columns.
TEST_F(LinearEmuTest, StepGatedDeltaRuleInPlace) {
  DeltaCase c{2, 1, 4, 64, 32};
  c.gated = c.l2norm = c.initial = c.betaBf16 = true;
  const auto in = deltaInputsFor(c);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), beta(in.beta), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> g(in.logDecay), s0(in.initial);
  DevTensor<float> state(in.initial.shape(), /*writable=*/true);
  for (int64_t i = 0; i < in.initial.size(); ++i) state.mem[i] = s0.mem[i];
  using namespace emu_step_gated_delta_v0_k;
  emu::launch(emu::Dim3{32 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes,
              flashgen_emu_step_gated_delta_v0, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3),
              (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0),
              v.s(1), v.s(2), v.s(3), (const bf16*)beta.mem.data(), beta.s(0), beta.s(1), beta.s(2),
              (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), (const float*)state.mem.data(), s0.s(0),
              s0.s(1), s0.s(2), s0.s(3), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), state.mem.data(), s0.s(0),
              s0.s(1), s0.s(2), s0.s(3), int(c.batch), int(c.steps));
  checkDelta(c, in, o, &state, kStepStateTolerance);
}

/// DeltaNet without decay or normalisation, f32 beta, no states.
TEST_F(LinearEmuTest, StepDeltaRule) {
  const DeltaCase c{1, 2, 7, 64, 64};
  const auto in = deltaInputsFor(c);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> beta(in.beta);
  using namespace emu_step_delta_v0_k;
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_delta_v0,
              (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
              k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3),
              (const float*)beta.mem.data(), beta.s(0), beta.s(1), beta.s(2), o.mem.data(), o.s(0), o.s(1),
              o.s(2), o.s(3), int(c.batch), int(c.steps));
  checkDelta(c, in, o, nullptr);
}

// The examples' kernels with the library's default schedule
// (flash-schedule{search=false}; d_k = 128: 64 x 64 inner tiles, two value
// tiles of 64; d_k = 256: 64 x 32 inner tiles, sixteen value tiles of 32),
// on a short ragged sequence.

TEST_F(LinearEmuTest, ExampleDecay) {
  using namespace decay_v0_k;
  const Case c{ref::GateKind::Decay, 1, 16, 100, 128, 128};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{128 / kTileDv, 16, 1}, kThreads, kSmemBytes, flashgen_decay_v0, (const bf16*)d.q.mem.data(),
              d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2),
              d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3),
              (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.o.mem.data(), d.o.s(0), d.o.s(1),
              d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

TEST_F(LinearEmuTest, ExampleLinearPlain) {
  using namespace linear_plain_v0_k;
  const Case c{ref::GateKind::None, 1, 16, 70, 128, 128};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{128 / kTileDv, 16, 1}, kThreads, kSmemBytes, flashgen_linear_plain_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

TEST_F(LinearEmuTest, ExampleGlaVector) {
  using namespace gla_vector_v0_k;
  const Case c{ref::GateKind::Vector, 1, 16, 80, 128, 128};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{128 / kTileDv, 16, 1}, kThreads, kSmemBytes, flashgen_gla_vector_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.g.mem.data(), d.g.s(0), d.g.s(1), d.g.s(2), d.g.s(3), d.o.mem.data(),
              d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

TEST_F(LinearEmuTest, ExampleMlstmSigWithStates) {
  using namespace mlstm_sig_v0_k;
  const Case c{ref::GateKind::MlstmSig, 1, 16, 90, 128, 128, true};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  d.norm.asked = false;  // null norm
  emu::launch(emu::Dim3{128 / kTileDv, 16, 1}, kThreads, kSmemBytes, flashgen_mlstm_sig_v0,
              (const bf16*)d.q.mem.data(), d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(),
              d.k.s(0), d.k.s(1), d.k.s(2), d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2),
              d.v.s(3), (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(),
              d.f.s(0), d.f.s(1), d.f.s(2), (const float*)d.c0.mem.data(), d.c0.s(0), d.c0.s(1), d.c0.s(2),
              d.c0.s(3), (const float*)d.n0.mem.data(), d.n0.s(0), d.n0.s(1), d.n0.s(2), d.o.mem.data(), d.o.s(0),
              d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(), d.norm.s(0), d.norm.s(1), d.norm.s(2), d.norm.s(3),
              d.cf.mem.data(), d.cf.s(0), d.cf.s(1), d.cf.s(2), d.cf.s(3),
              d.nf.mem.data(), d.nf.s(0), d.nf.s(1), d.nf.s(2), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, true, kTolerance);
}

TEST_F(LinearEmuTest, ExampleMlstm) {
  using namespace mlstm_v0_k;
  const Case c{ref::GateKind::MlstmExp, 1, 8, 70, 256, 512};
  const auto in = inputsFor(c);
  Buffers d(c, in);
  emu::launch(emu::Dim3{512 / kTileDv, 8, 1}, kThreads, kSmemBytes, flashgen_mlstm_v0, (const bf16*)d.q.mem.data(),
              d.q.s(0), d.q.s(1), d.q.s(2), d.q.s(3), (const bf16*)d.k.mem.data(), d.k.s(0), d.k.s(1), d.k.s(2),
              d.k.s(3), (const bf16*)d.v.mem.data(), d.v.s(0), d.v.s(1), d.v.s(2), d.v.s(3),
              (const float*)d.i.mem.data(), d.i.s(0), d.i.s(1), d.i.s(2), (const float*)d.f.mem.data(), d.f.s(0),
              d.f.s(1), d.f.s(2), d.o.mem.data(), d.o.s(0), d.o.s(1), d.o.s(2), d.o.s(3), d.norm.ptr(),
              d.norm.s(0), d.norm.s(1), d.norm.s(2), d.norm.s(3), int(c.batch), int(c.steps));
  checkOutputs(c, in, d, false, kTolerance);
}

}  // namespace
