//===- LinearGradEmuTest.cpp - recurrence gradient kernels on the emulator ===//
//
// The three kernels of a chunk_grad schedule (the forward's state pass, the
// state gradients last chunk first, every chunk's dq, dk, dv and log-decay
// gradients; the mLSTM kinds' four, their rows' dO / den and normaliser
// (and mlstm_exp's stabiliser) gradients second) that flash-lower-kernels
// and the emitter print for the specs emu_grad_decay.mlir,
// emu_grad_vector.mlir, emu_grad_plain.mlir, emu_grad_sig.mlir and
// emu_grad_exp.mlir, run in order on the device
// library's host emulator and compared with the float64 definition of the
// gradients (reference/RecurrenceGrad.h, itself checked against finite
// differences). Ragged T (partial last chunks, a single partial chunk),
// Dk != Dv, two value tiles in the state passes, an initial state and the
// final state's gradient, a null one of each; outputs and the (16-bit)
// scratch states are poisoned with NaN first.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_grad_decay.cu"
#include "emu_grad_exp.cu"
#include "emu_grad_plain.cu"
#include "emu_grad_sig.cu"
#include "emu_grad_sig_wide.cu"
#include "emu_grad_vector.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/Inputs.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"
#include "reference/RecurrenceGrad.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace {

using namespace emu_test;
using namespace linear_emu;

/// ||got - want||_2 / ||want||_2, infinite where got has a NaN (a row the
/// kernels never wrote keeps its poison).
template <class T> double relativeError(const DevTensor<T>& got, const ref::Tensor<double>& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    double g;
    if constexpr (std::is_same<T, bf16>::value)
      g = bf16_value(got.mem.v[i]);
    else
      g = got.mem.v[i];
    if (std::isnan(g)) return INFINITY;
    num += (g - want.data()[i]) * (g - want.data()[i]);
    den += want.data()[i] * want.data()[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// A standard normal tensor rounded as the device reads it.
ref::Tensor<double> normalTensor(const ref::Shape& shape, uint64_t seed, ref::Rounding rounding) {
  ref::Rng rng(seed);
  ref::Tensor<double> t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = ref::applyRounding(rng.normal(), rounding);
  return t;
}

/// CTAs of a persistent chunk kernel's launch here: fewer than the tiles
/// of every case but the smallest (rounds wrap, stages alternate, a CTA
/// may run an odd number of rounds), more than those of the one-chunk
/// cases (a CTA runs none).
constexpr unsigned kRoundsGrid = 3;

/// bf16 operands, 16-bit states and A / dP in the products: a few 2^-9
/// roundings per term, summed over a chunk and carried across chunks.
constexpr double kGradTolerance = 2e-2;

struct GradCase {
  Case c;
  bool finalGrad = false;   // the loss reads the final state
  bool nullStates = false;  // pass null c0 / dcf pointers (zeros)
  /// The chunk kernel of the spec's second candidate (v1), which passes
  /// over value slices (value_slice); the state passes are v0's (the same).
  bool valueSlices = false;
  /// The chunk kernel of the spec's third candidate (v2): v0's in
  /// persistent rounds, launched on kRoundsGrid CTAs so that each runs
  /// several rounds (or none) and the two row stages alternate.
  bool persistent = false;
  /// mlstm_sig: the loss reads the final n and not the final C (a null
  /// dcf beside dnf).
  bool finalNormalizerOnly = false;
  /// q and k with non-negative entries (|x| of the draws): q . n stays
  /// well away from 0, so the normaliser's denominator max(|q.n|,
  /// exp(-m)) + eps does too even where m is large and its floor
  /// vanishes. Otherwise such rows make o = h / den ill-conditioned in
  /// bf16 (dq and dk then hold differences of terms 1 / den^2 large,
  /// exact in the float64 reference only).
  bool positiveQK = false;
};

/// The case's inputs, q and k made non-negative where it asks.
ref::LinearInputs<double> gradInputs(const GradCase& gc) {
  ref::LinearInputs<double> in = inputsFor(gc.c);
  if (gc.positiveQK)
    for (ref::Tensor<double>* t : {&in.q, &in.k})
      for (int64_t i = 0; i < t->size(); ++i) t->data()[i] = std::fabs(t->data()[i]);
  return in;
}

void expectClose(const char* what, double error) {
  std::printf("[linear-grad-emu]   %s relative error %.3g\n", what, error);
  EXPECT_LT(error, kGradTolerance) << what;
}

/// A gated case's inputs, its float64 gradients and the kernels' buffers,
/// outputs and scratch poisoned.
struct GatedGrad {
  ref::LinearInputs<double> in;
  ref::LinearGradResult want;
  DevTensor<bf16> q, k, v, dO, dq, dk, dv;
  DevTensor<float> g, c0, dcf, dg, dc0;
  DevTensor<bf16> sc, sdc;
  int64_t chunks;
  const float *c0p, *dcfp;

  GatedGrad(const GradCase& gc, int64_t chunk, ref::LinearInputs<double> inputs, ref::Tensor<double> dout,
            ref::RecurrentState<double> dFinal)
      : in(std::move(inputs)),
        q(in.q), k(in.k), v(in.v), dO(dout),
        dq(in.q.shape(), DevTensor<bf16>::kPoison), dk(in.k.shape(), DevTensor<bf16>::kPoison),
        dv(in.v.shape(), DevTensor<bf16>::kPoison),
        g(in.logDecay), c0(in.initial.c), dcf(dFinal.c),
        dg(in.logDecay.shape(), DevTensor<float>::kPoison),
        dc0(in.initial.c.shape(), DevTensor<float>::kPoison),
        sc(scratchShape(gc.c, chunk), DevTensor<bf16>::kPoison),
        sdc(scratchShape(gc.c, chunk), DevTensor<bf16>::kPoison),
        chunks(chunkCount(gc.c, chunk)),
        c0p(gc.nullStates ? nullptr : c0.mem.data()),
        dcfp(gc.nullStates || !gc.finalGrad ? nullptr : dcf.mem.data()) {
    ref::LinearInputs<double> used = in;
    if (gc.nullStates) used.initial.c = ref::Tensor<double>(in.initial.c.shape());
    ref::LinearProblem problem;
    problem.gate = gc.c.gate;
    want = ref::referenceRecurrenceGrad(problem, used, dout,
                                        gc.finalGrad && !gc.nullStates ? &dFinal : nullptr);
  }

  static int64_t chunkCount(const Case& c, int64_t chunk) {
    return std::max<int64_t>((c.steps + chunk - 1) / chunk, 1);
  }
  static ref::Shape scratchShape(const Case& c, int64_t chunk) {
    return {c.batch, c.heads, chunkCount(c, chunk) + 1, c.keyDim, c.valueDim};
  }

  /// Checks every gradient (and that a null dc0 kept its poison).
  void check(const GradCase& gc) const {
    expectClose("dq", relativeError(dq, want.dq));
    expectClose("dk", relativeError(dk, want.dk));
    expectClose("dv", relativeError(dv, want.dv));
    expectClose("dlog_decay", relativeError(dg, want.dLogDecay));
    if (!gc.nullStates) expectClose("dC0", relativeError(dc0, want.dInitial.c));
    if (gc.nullStates) EXPECT_TRUE(std::isnan(dc0.mem.v[0])) << "a null dc0 was written";
  }
};

GatedGrad gatedGrad(const GradCase& gc, int64_t chunk) {
  const Case& c = gc.c;
  ref::Tensor<double> dout =
      normalTensor({c.batch, c.heads, c.steps, c.valueDim}, c.seed + 101, ref::Rounding::Bf16);
  ref::RecurrentState<double> dFinal;
  dFinal.c = normalTensor({c.batch, c.heads, c.keyDim, c.valueDim}, c.seed + 202, ref::Rounding::Float32);
  return GatedGrad(gc, chunk, inputsFor(c), std::move(dout), std::move(dFinal));
}

/// Runs emu_grad_decay's three kernels on `gc` and checks every gradient.
void runDecayGrad(const GradCase& gc) {
  const Case& c = gc.c;
  constexpr int64_t kChunk = 32;
  GatedGrad t = gatedGrad(gc, kChunk);
  DevTensor<bf16> &q = t.q, &k = t.k, &v = t.v, &dO = t.dO, &dq = t.dq, &dk = t.dk, &dv = t.dv, &sc = t.sc,
                  &sdc = t.sdc;
  DevTensor<float> &g = t.g, &c0 = t.c0, &dcf = t.dcf, &dg = t.dg, &dc0 = t.dc0;
  const int64_t chunks = t.chunks;
  const float *c0p = t.c0p, *dcfp = t.dcfp;
  const int B = int(c.batch), T = int(c.steps);
  {
    using namespace emu_grad_decay_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_decay_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)g.mem.data(), g.s(0),
                g.s(1), g.s(2), c0p, c0.s(0), c0.s(1), c0.s(2), c0.s(3), sc.mem.data(), sc.s(0), sc.s(1),
                sc.s(2), sc.s(3), sc.s(4), B, T);
  }
  {
    using namespace emu_grad_decay_v0_grad_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_decay_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2), dO.s(3),
                (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), dcfp, dcf.s(0), dcf.s(1), dcf.s(2),
                dcf.s(3), gc.nullStates ? nullptr : dc0.mem.data(), dc0.s(0), dc0.s(1), dc0.s(2), dc0.s(3),
                sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), B, T);
  }
  auto launchChunk = [&](auto kernel, int threads, int smem, emu::Dim3 grid) {
    emu::launch(grid, threads, smem,
                kernel, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(),
                v.s(0), v.s(1), v.s(2), v.s(3), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2), dO.s(3),
                (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), (const bf16*)sc.mem.data(), sc.s(0),
                sc.s(1), sc.s(2), sc.s(3), sc.s(4), (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2),
                sdc.s(3), sdc.s(4), dq.mem.data(), dq.s(0), dq.s(1), dq.s(2), dq.s(3), dk.mem.data(), dk.s(0),
                dk.s(1), dk.s(2), dk.s(3), dv.mem.data(), dv.s(0), dv.s(1), dv.s(2), dv.s(3), dg.mem.data(),
                dg.s(0), dg.s(1), dg.s(2), B, T);
  };
  const emu::Dim3 perChunk{unsigned(chunks), 2, unsigned(B)};
  if (gc.valueSlices) {
    using namespace emu_grad_decay_v1_grad_chunk_k;
    static_assert(kValueSlices == 2, "emu_grad_decay's v1: two value slices");
    launchChunk(flashgen_emu_grad_decay_v1_grad_chunk, kThreads, kSmemBytes, perChunk);
  } else if (gc.persistent) {
    using namespace emu_grad_decay_v2_grad_chunk_k;
    static_assert(kRowStages == 2, "emu_grad_decay's v2: persistent rounds");
    launchChunk(flashgen_emu_grad_decay_v2_grad_chunk, kThreads, kSmemBytes, emu::Dim3{kRoundsGrid, 1, 1});
  } else {
    using namespace emu_grad_decay_v0_grad_chunk_k;
    static_assert(kValueSlices == 1, "emu_grad_decay's v0: one pass");
    launchChunk(flashgen_emu_grad_decay_v0_grad_chunk, kThreads, kSmemBytes, perChunk);
  }
  std::printf("[linear-grad-emu] decay B=%d H=2 T=%d%s%s%s\n", B, T, gc.finalGrad ? " dFinal" : "",
              gc.nullStates ? " (null states)" : "",
              gc.valueSlices ? " (value slices)" : gc.persistent ? " (persistent)" : "");
  t.check(gc);
}

/// Runs emu_grad_vector's three kernels (Dk = 64, Dv = 32, chunks of 32)
/// on `gc` and checks every gradient.
void runVectorGrad(const GradCase& gc) {
  const Case& c = gc.c;
  GatedGrad t = gatedGrad(gc, 32);
  DevTensor<bf16> &q = t.q, &k = t.k, &v = t.v, &dO = t.dO, &sc = t.sc, &sdc = t.sdc;
  DevTensor<float> &g = t.g, &c0 = t.c0, &dcf = t.dcf;
  const int B = int(c.batch), T = int(c.steps);
  {
    using namespace emu_grad_vector_v0_states_k;
    emu::launch(emu::Dim3{32 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_vector_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)g.mem.data(), g.s(0),
                g.s(1), g.s(2), g.s(3), t.c0p, c0.s(0), c0.s(1), c0.s(2), c0.s(3), sc.mem.data(), sc.s(0),
                sc.s(1), sc.s(2), sc.s(3), sc.s(4), B, T);
  }
  {
    using namespace emu_grad_vector_v0_grad_states_k;
    emu::launch(emu::Dim3{32 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_vector_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2), dO.s(3),
                (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), g.s(3), t.dcfp, dcf.s(0), dcf.s(1),
                dcf.s(2), dcf.s(3), gc.nullStates ? nullptr : t.dc0.mem.data(), t.dc0.s(0), t.dc0.s(1),
                t.dc0.s(2), t.dc0.s(3), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), B, T);
  }
  auto launchChunk = [&](auto kernel, int threads, int smem) {
    emu::launch(emu::Dim3{unsigned(t.chunks), 2, unsigned(B)}, threads, smem,
                kernel, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(),
                v.s(0), v.s(1), v.s(2), v.s(3), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2), dO.s(3),
                (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), g.s(3), (const bf16*)sc.mem.data(),
                sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1),
                sdc.s(2), sdc.s(3), sdc.s(4), t.dq.mem.data(), t.dq.s(0), t.dq.s(1), t.dq.s(2), t.dq.s(3),
                t.dk.mem.data(), t.dk.s(0), t.dk.s(1), t.dk.s(2), t.dk.s(3), t.dv.mem.data(), t.dv.s(0),
                t.dv.s(1), t.dv.s(2), t.dv.s(3), t.dg.mem.data(), t.dg.s(0), t.dg.s(1), t.dg.s(2), t.dg.s(3), B,
                T);
  };
  if (gc.valueSlices) {
    using namespace emu_grad_vector_v1_grad_chunk_k;
    static_assert(kValueSlices == 2, "emu_grad_vector's v1: two value slices");
    launchChunk(flashgen_emu_grad_vector_v1_grad_chunk, kThreads, kSmemBytes);
  } else {
    using namespace emu_grad_vector_v0_grad_chunk_k;
    launchChunk(flashgen_emu_grad_vector_v0_grad_chunk, kThreads, kSmemBytes);
  }
  std::printf("[linear-grad-emu] vector B=%d H=2 T=%d Dk=64 Dv=32%s%s%s\n", B, T,
              gc.finalGrad ? " dFinal" : "", gc.nullStates ? " (null states)" : "",
              gc.valueSlices ? " (value slices)" : "");
  t.check(gc);
}

/// An mlstm_sig case's inputs (gate preactivations, C and n states), the
/// forward's o (rounded to bf16) and rows' normalisers from the float64
/// definition, its float64 gradients and the four kernels' buffers,
/// outputs and scratch poisoned: states and their gradients at every
/// boundary, dO / den and the rows' normaliser gradients (whole chunks of
/// rows, `cols` f32 a row).
struct SigGrad {
  Case c;
  ref::LinearInputs<double> in;
  ref::RecurrentState<double> dFinal;
  ref::Tensor<double> dout;
  ref::LinearGradResult want;
  bool withFinal, nullStates;
  int64_t chunks;
  ref::LinearResult<double> forward;
  DevTensor<bf16> q, k, v, dO, o, dq, dk, dv, sc, sdc, gdo;
  DevTensor<float> norm, ig, fg, c0, n0, dcf, dnf, di, df, dc0, dn0, sn, sdn, gdqn;
  /// mlstm_exp: m0, dm_T, dm0, and the stabilisers at every boundary with
  /// what later chunks carry into their gradients (scratch).
  DevTensor<float> m0, dmf, dm0, sm, sdm;

  SigGrad(const GradCase& gc, int64_t chunk, int64_t cols)
      : c(gc.c), in(gradInputs(gc)), dFinal(finalGradient(gc.c)),
        dout(normalTensor({gc.c.batch, gc.c.heads, gc.c.steps, gc.c.valueDim}, gc.c.seed + 101,
                          ref::Rounding::Bf16)),
        withFinal(gc.finalGrad && !gc.nullStates),
        nullStates(gc.nullStates), chunks(std::max<int64_t>((gc.c.steps + chunk - 1) / chunk, 1)),
        forward(ref::referenceRecurrence(problemOf(gc), usedInputs(gc, in))),
        q(in.q), k(in.k), v(in.v), dO(dout), o(forward.out),
        dq(in.q.shape(), DevTensor<bf16>::kPoison), dk(in.k.shape(), DevTensor<bf16>::kPoison),
        dv(in.v.shape(), DevTensor<bf16>::kPoison),
        sc({gc.c.batch, gc.c.heads, chunks + 1, gc.c.keyDim, gc.c.valueDim}, DevTensor<bf16>::kPoison),
        sdc({gc.c.batch, gc.c.heads, chunks + 1, gc.c.keyDim, gc.c.valueDim}, DevTensor<bf16>::kPoison),
        gdo({gc.c.batch, gc.c.heads, gc.c.steps, gc.c.valueDim}, DevTensor<bf16>::kPoison),
        norm(forward.rowNorm), ig(in.inputGate), fg(in.forgetGate), c0(stateOrZeros(in.initial.c, gc.c, true)),
        n0(stateOrZeros(in.initial.n, gc.c, false)), dcf(dFinal.c), dnf(dFinal.n),
        di(in.inputGate.shape(), DevTensor<float>::kPoison), df(in.forgetGate.shape(), DevTensor<float>::kPoison),
        dc0({gc.c.batch, gc.c.heads, gc.c.keyDim, gc.c.valueDim}, DevTensor<float>::kPoison),
        dn0({gc.c.batch, gc.c.heads, gc.c.keyDim}, DevTensor<float>::kPoison),
        sn({gc.c.batch, gc.c.heads, chunks + 1, gc.c.keyDim}, DevTensor<float>::kPoison),
        sdn({gc.c.batch, gc.c.heads, chunks + 1, gc.c.keyDim}, DevTensor<float>::kPoison),
        gdqn({gc.c.batch, gc.c.heads, chunks * chunk, cols}, DevTensor<float>::kPoison),
        m0(mOrZeros(in.initial.m, gc.c)), dmf(dFinal.m.empty() ? ref::Tensor<double>({1}) : dFinal.m),
        dm0({gc.c.batch, gc.c.heads}, DevTensor<float>::kPoison),
        sm({gc.c.batch, gc.c.heads, chunks + 1}, DevTensor<float>::kPoison),
        sdm({gc.c.batch, gc.c.heads, chunks + 1}, DevTensor<float>::kPoison) {
    if (gc.finalNormalizerOnly) dFinal.c = ref::Tensor<double>(dFinal.c.shape());
    want = ref::referenceRecurrenceGrad(problemOf(gc), usedInputs(gc, in), dout,
                                        withFinal ? &dFinal : nullptr);
  }

  static ref::LinearProblem problemOf(const GradCase& gc) {
    ref::LinearProblem problem;
    problem.gate = gc.c.gate;
    return problem;
  }
  /// The inputs the kernels see: no initial state with null states.
  static ref::LinearInputs<double> usedInputs(const GradCase& gc, const ref::LinearInputs<double>& in) {
    ref::LinearInputs<double> used = in;
    if (gc.nullStates || !gc.c.initial) used.initial = ref::RecurrentState<double>{};
    return used;
  }

  static ref::RecurrentState<double> finalGradient(const Case& c) {
    ref::RecurrentState<double> d;
    d.c = normalTensor({c.batch, c.heads, c.keyDim, c.valueDim}, c.seed + 202, ref::Rounding::Float32);
    d.n = normalTensor({c.batch, c.heads, c.keyDim}, c.seed + 303, ref::Rounding::Float32);
    if (c.gate == ref::GateKind::MlstmExp)
      d.m = normalTensor({c.batch, c.heads}, c.seed + 404, ref::Rounding::Float32);
    return d;
  }
  static ref::Tensor<double> mOrZeros(const ref::Tensor<double>& m, const Case& c) {
    return m.empty() ? ref::Tensor<double>({c.batch, c.heads}) : m;
  }
  /// The initial state, or zeros of its shape where the case has none.
  static ref::Tensor<double> stateOrZeros(const ref::Tensor<double>& t, const Case& c, bool isC) {
    if (!t.empty()) return t;
    return isC ? ref::Tensor<double>({c.batch, c.heads, c.keyDim, c.valueDim})
               : ref::Tensor<double>({c.batch, c.heads, c.keyDim});
  }

  /// Checks every gradient (and that null dc0 / dn0 kept their poison).
  void check(const char* what, const Case& c, bool initial) const {
    // How many rows took the |q.n| > 1 branch of the normaliser: the cases
    // mean to cover both.
    int64_t above = 0;
    for (int64_t i = 0; i < gdqn.mem.size(); ++i) above += gdqn.mem.v[i] != 0.0f;
    std::printf("[linear-grad-emu] %s B=%d T=%d%s%s, %lld of %lld row shares on the |q.n| > 1 branch\n",
                what, int(c.batch), int(c.steps), withFinal ? " dFinal" : "", nullStates ? " (null states)" : "",
                (long long)above, (long long)gdqn.mem.size());
    EXPECT_GT(above, 0) << "no row took the normaliser's |q.n| > 1 branch";
    expectClose("dq", relativeError(dq, want.dq));
    expectClose("dk", relativeError(dk, want.dk));
    expectClose("dv", relativeError(dv, want.dv));
    expectClose("d igate", relativeError(di, want.dInputGate));
    expectClose("d fgate", relativeError(df, want.dForgetGate));
    if (!initial) return;
    if (!nullStates) {
      expectClose("dC0", relativeError(dc0, want.dInitial.c));
      expectClose("dn0", relativeError(dn0, want.dInitial.n));
      if (c.gate == ref::GateKind::MlstmExp) expectClose("dm0", relativeError(dm0, want.dInitial.m));
    } else {
      EXPECT_TRUE(std::isnan(dc0.mem.v[0]) && std::isnan(dn0.mem.v[0])) << "a null dc0 / dn0 was written";
      if (c.gate == ref::GateKind::MlstmExp) EXPECT_TRUE(std::isnan(dm0.mem.v[0])) << "a null dm0 was written";
    }
  }
};

/// Launches an mlstm_sig spec's rows kernel (grid chunks, heads, batch):
/// the forward's o and norm and dO in, dO / den and the rows' normaliser
/// gradients out; its params are the same for every spec.
template <class Kernel>
void launchSigRows(SigGrad& t, Kernel kernel, int threads, int smem) {
  const Case& c = t.c;
  const int B = int(c.batch), T = int(c.steps);
  emu::launch(emu::Dim3{unsigned(t.chunks), unsigned(c.heads), unsigned(B)}, threads, smem, kernel,
              (const bf16*)t.o.mem.data(), t.o.s(0), t.o.s(1), t.o.s(2), t.o.s(3),
              (const bf16*)t.dO.mem.data(), t.dO.s(0), t.dO.s(1), t.dO.s(2), t.dO.s(3),
              (const float*)t.norm.mem.data(), t.norm.s(0), t.norm.s(1), t.norm.s(2), t.norm.s(3),
              t.gdo.mem.data(), t.gdo.s(0), t.gdo.s(1), t.gdo.s(2), t.gdo.s(3), t.gdqn.mem.data(),
              t.gdqn.s(0), t.gdqn.s(1), t.gdqn.s(2), t.gdqn.s(3), B, T);
}

/// Launches an mlstm_sig spec's chunk kernel (grid chunks, heads, batch).
template <class Kernel>
void launchSigChunk(SigGrad& t, Kernel kernel, int threads, int smem, bool persistent = false) {
  const Case& c = t.c;
  const int B = int(c.batch), T = int(c.steps);
  emu::launch(persistent ? emu::Dim3{kRoundsGrid, 1, 1}
                         : emu::Dim3{unsigned(t.chunks), unsigned(c.heads), unsigned(B)},
              threads, smem, kernel,
              (const bf16*)t.q.mem.data(), t.q.s(0), t.q.s(1), t.q.s(2), t.q.s(3), (const bf16*)t.k.mem.data(),
              t.k.s(0), t.k.s(1), t.k.s(2), t.k.s(3), (const bf16*)t.v.mem.data(), t.v.s(0), t.v.s(1),
              t.v.s(2), t.v.s(3), (const bf16*)t.gdo.mem.data(), t.gdo.s(0), t.gdo.s(1), t.gdo.s(2),
              t.gdo.s(3), (const float*)t.gdqn.mem.data(), t.gdqn.s(0), t.gdqn.s(1), t.gdqn.s(2), t.gdqn.s(3),
              (const float*)t.ig.mem.data(), t.ig.s(0), t.ig.s(1), t.ig.s(2), (const float*)t.fg.mem.data(),
              t.fg.s(0), t.fg.s(1), t.fg.s(2), (const bf16*)t.sc.mem.data(), t.sc.s(0), t.sc.s(1), t.sc.s(2),
              t.sc.s(3), t.sc.s(4), (const bf16*)t.sdc.mem.data(), t.sdc.s(0), t.sdc.s(1), t.sdc.s(2),
              t.sdc.s(3), t.sdc.s(4), (const float*)t.sn.mem.data(), t.sn.s(0), t.sn.s(1), t.sn.s(2),
              t.sn.s(3), (const float*)t.sdn.mem.data(), t.sdn.s(0), t.sdn.s(1), t.sdn.s(2), t.sdn.s(3),
              t.dq.mem.data(), t.dq.s(0), t.dq.s(1), t.dq.s(2), t.dq.s(3), t.dk.mem.data(), t.dk.s(0),
              t.dk.s(1), t.dk.s(2), t.dk.s(3), t.dv.mem.data(), t.dv.s(0), t.dv.s(1), t.dv.s(2), t.dv.s(3),
              t.di.mem.data(), t.di.s(0), t.di.s(1), t.di.s(2), t.df.mem.data(), t.df.s(0), t.df.s(1),
              t.df.s(2), B, T);
}

/// Runs emu_grad_sig's four kernels (Dk = Dv = 64, chunks of 32, two value
/// tiles, C and n in) on `gc` (gate mlstm_sig) and checks every gradient:
/// q, k, v, both gates' preactivations, the initial C and n.
void runSigGrad(const GradCase& gc) {
  SigGrad t(gc, 32, 1);
  const float* c0p = gc.nullStates ? nullptr : t.c0.mem.data();
  const float* n0p = gc.nullStates ? nullptr : t.n0.mem.data();
  const float* dcfp = t.withFinal ? t.dcf.mem.data() : nullptr;
  const float* dnfp = t.withFinal ? t.dnf.mem.data() : nullptr;
  const int B = int(gc.c.batch), T = int(gc.c.steps);
  auto& q = t.q; auto& k = t.k; auto& v = t.v; auto& dO = t.dO; auto& ig = t.ig; auto& fg = t.fg;
  auto& c0 = t.c0; auto& n0 = t.n0; auto& dcf = t.dcf; auto& dnf = t.dnf; auto& sc = t.sc; auto& sn = t.sn;
  auto& sdc = t.sdc; auto& sdn = t.sdn; auto& gdo = t.gdo; auto& gdqn = t.gdqn;
  {
    using namespace emu_grad_sig_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes, flashgen_emu_grad_sig_v0_states,
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0),
                v.s(1), v.s(2), v.s(3), (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), fg.s(2), c0p, c0.s(0), c0.s(1), c0.s(2), c0.s(3),
                n0p, n0.s(0), n0.s(1), n0.s(2), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), B, T);
  }
  if (gc.valueSlices) {
    using namespace emu_grad_sig_v1_grad_rows_k;
    launchSigRows(t, flashgen_emu_grad_sig_v1_grad_rows, kThreads, kSmemBytes);
  } else {
    using namespace emu_grad_sig_v0_grad_rows_k;
    launchSigRows(t, flashgen_emu_grad_sig_v0_grad_rows, kThreads, kSmemBytes);
  }
  auto launchGradStates = [&](auto kernel, int tileDv, int threads, int smem) {
    emu::launch(emu::Dim3{unsigned(64 / tileDv), 2, unsigned(B)}, threads, smem,
                kernel, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdo.s(3),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2), (const float*)fg.mem.data(), fg.s(0),
                fg.s(1), fg.s(2), dcfp, dcf.s(0), dcf.s(1), dcf.s(2), dcf.s(3), dnfp, dnf.s(0), dnf.s(1),
                dnf.s(2), gc.nullStates ? nullptr : t.dc0.mem.data(), t.dc0.s(0), t.dc0.s(1), t.dc0.s(2),
                t.dc0.s(3), gc.nullStates ? nullptr : t.dn0.mem.data(), t.dn0.s(0), t.dn0.s(1), t.dn0.s(2),
                sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), sdn.mem.data(), sdn.s(0),
                sdn.s(1), sdn.s(2), sdn.s(3), B, T);
  };
  if (gc.valueSlices) {
    using namespace emu_grad_sig_v1_grad_states_k;
    launchGradStates(flashgen_emu_grad_sig_v1_grad_states, kTileDv, kThreads, kSmemBytes);
  } else {
    using namespace emu_grad_sig_v0_grad_states_k;
    launchGradStates(flashgen_emu_grad_sig_v0_grad_states, kTileDv, kThreads, kSmemBytes);
  }
  if (gc.valueSlices) {
    using namespace emu_grad_sig_v1_grad_chunk_k;
    static_assert(kValueSlices == 4 && kDqnCols == 1, "emu_grad_sig's v1: four value slices");
    launchSigChunk(t, flashgen_emu_grad_sig_v1_grad_chunk, kThreads, kSmemBytes);
  } else if (gc.persistent) {
    using namespace emu_grad_sig_v2_grad_chunk_k;
    static_assert(kRowStages == 2, "emu_grad_sig's v2: persistent rounds");
    launchSigChunk(t, flashgen_emu_grad_sig_v2_grad_chunk, kThreads, kSmemBytes, true);
  } else {
    using namespace emu_grad_sig_v0_grad_chunk_k;
    launchSigChunk(t, flashgen_emu_grad_sig_v0_grad_chunk, kThreads, kSmemBytes);
  }
  t.check(gc.valueSlices  ? "mlstm_sig H=2 Dk=Dv=64 (value slices)"
          : gc.persistent ? "mlstm_sig H=2 Dk=Dv=64 (persistent)"
                          : "mlstm_sig H=2 Dk=Dv=64",
          gc.c, true);
}

/// Runs emu_grad_sig_wide's four kernels (Dk = 64, Dv = 128, chunks of 16
/// over one warp, one stage, two value tiles of 64, no initial state) on
/// `gc` and checks every gradient.
void runSigWideGrad(const GradCase& gc) {
  SigGrad t(gc, 16, 1);
  const float* dcfp = t.withFinal && !gc.finalNormalizerOnly ? t.dcf.mem.data() : nullptr;
  const float* dnfp = t.withFinal ? t.dnf.mem.data() : nullptr;
  const int B = int(gc.c.batch), T = int(gc.c.steps);
  auto& q = t.q; auto& k = t.k; auto& v = t.v; auto& dO = t.dO; auto& ig = t.ig; auto& fg = t.fg;
  auto& dcf = t.dcf; auto& dnf = t.dnf; auto& sc = t.sc; auto& sn = t.sn; auto& sdc = t.sdc; auto& sdn = t.sdn;
  auto& gdo = t.gdo; auto& gdqn = t.gdqn;
  {
    using namespace emu_grad_sig_wide_v0_states_k;
    emu::launch(emu::Dim3{128 / kTileDv, 1, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_sig_wide_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)ig.mem.data(),
                ig.s(0), ig.s(1), ig.s(2), (const float*)fg.mem.data(), fg.s(0), fg.s(1), fg.s(2),
                sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1),
                sn.s(2), sn.s(3), B, T);
  }
  {
    using namespace emu_grad_sig_wide_v0_grad_rows_k;
    launchSigRows(t, flashgen_emu_grad_sig_wide_v0_grad_rows, kThreads, kSmemBytes);
  }
  {
    using namespace emu_grad_sig_wide_v0_grad_states_k;
    emu::launch(emu::Dim3{128 / kTileDv, 1, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_sig_wide_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1),
                q.s(2), q.s(3), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdo.s(3),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2), (const float*)fg.mem.data(), fg.s(0),
                fg.s(1), fg.s(2), dcfp, dcf.s(0), dcf.s(1), dcf.s(2), dcf.s(3), dnfp, dnf.s(0), dnf.s(1),
                dnf.s(2), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), sdn.mem.data(),
                sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), B, T);
  }
  {
    using namespace emu_grad_sig_wide_v0_grad_chunk_k;
    launchSigChunk(t, flashgen_emu_grad_sig_wide_v0_grad_chunk, kThreads, kSmemBytes);
  }
  t.check("mlstm_sig H=1 Dk=64 Dv=128", gc.c, false);
}

/// Runs emu_grad_exp's four kernels (mlstm_exp, Dk = Dv = 64, chunks of
/// 32, two value tiles, C, n and m in, their final gradients in) on `gc`
/// and checks every gradient, dm0 included.
void runExpGrad(const GradCase& gc) {
  SigGrad t(gc, 32, 2);
  const bool nulls = gc.nullStates;
  const float* c0p = nulls ? nullptr : t.c0.mem.data();
  const float* n0p = nulls ? nullptr : t.n0.mem.data();
  const float* m0p = nulls ? nullptr : t.m0.mem.data();
  const float* dcfp = t.withFinal ? t.dcf.mem.data() : nullptr;
  const float* dnfp = t.withFinal ? t.dnf.mem.data() : nullptr;
  const float* dmfp = t.withFinal ? t.dmf.mem.data() : nullptr;
  const int B = int(gc.c.batch), T = int(gc.c.steps);
  auto& q = t.q; auto& k = t.k; auto& v = t.v; auto& dO = t.dO; auto& ig = t.ig; auto& fg = t.fg;
  auto& c0 = t.c0; auto& n0 = t.n0; auto& m0 = t.m0; auto& dcf = t.dcf; auto& dnf = t.dnf; auto& dmf = t.dmf;
  auto& sc = t.sc; auto& sn = t.sn; auto& sm = t.sm; auto& sdc = t.sdc; auto& sdn = t.sdn; auto& sdm = t.sdm;
  auto& gdo = t.gdo; auto& gdqn = t.gdqn;
  {
    using namespace emu_grad_exp_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes, flashgen_emu_grad_exp_v0_states,
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0),
                v.s(1), v.s(2), v.s(3), (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), fg.s(2), c0p, c0.s(0), c0.s(1), c0.s(2), c0.s(3),
                n0p, n0.s(0), n0.s(1), n0.s(2), m0p, m0.s(0), m0.s(1), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2),
                sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), sm.mem.data(), sm.s(0),
                sm.s(1), sm.s(2), B, T);
  }
  {
    using namespace emu_grad_exp_v0_grad_rows_k;
    launchSigRows(t, flashgen_emu_grad_exp_v0_grad_rows, kThreads, kSmemBytes);
  }
  {
    using namespace emu_grad_exp_v0_grad_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_exp_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdo.s(3),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2), (const float*)fg.mem.data(), fg.s(0),
                fg.s(1), fg.s(2), dcfp, dcf.s(0), dcf.s(1), dcf.s(2), dcf.s(3), dnfp, dnf.s(0), dnf.s(1),
                dnf.s(2), dmfp, dmf.s(0), dmf.s(1), nulls ? nullptr : t.dc0.mem.data(), t.dc0.s(0),
                t.dc0.s(1), t.dc0.s(2), t.dc0.s(3), nulls ? nullptr : t.dn0.mem.data(), t.dn0.s(0), t.dn0.s(1),
                t.dn0.s(2), (const float*)sm.mem.data(), sm.s(0), sm.s(1), sm.s(2), (const bf16*)sc.mem.data(),
                sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), (const float*)sn.mem.data(), sn.s(0), sn.s(1),
                sn.s(2), sn.s(3), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4),
                sdn.mem.data(), sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), sdm.mem.data(), sdm.s(0), sdm.s(1),
                sdm.s(2), B, T);
  }
  auto launchChunk = [&](auto kernel, int threads, int smem, emu::Dim3 grid) {
    emu::launch(grid, threads, smem,
                kernel, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3),
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0),
                v.s(1), v.s(2), v.s(3), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdo.s(3),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), ig.s(2), (const float*)fg.mem.data(), fg.s(0),
                fg.s(1), fg.s(2), (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4),
                (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), (const float*)sdn.mem.data(),
                sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), (const float*)sm.mem.data(), sm.s(0), sm.s(1), sm.s(2),
                (const float*)sdm.mem.data(), sdm.s(0), sdm.s(1), sdm.s(2), t.dq.mem.data(), t.dq.s(0),
                t.dq.s(1), t.dq.s(2), t.dq.s(3), t.dk.mem.data(), t.dk.s(0), t.dk.s(1), t.dk.s(2), t.dk.s(3),
                t.dv.mem.data(), t.dv.s(0), t.dv.s(1), t.dv.s(2), t.dv.s(3), t.di.mem.data(), t.di.s(0),
                t.di.s(1), t.di.s(2), t.df.mem.data(), t.df.s(0), t.df.s(1), t.df.s(2),
                nulls ? nullptr : t.dm0.mem.data(), t.dm0.s(0), t.dm0.s(1), B, T);
  };
  const emu::Dim3 perChunk{unsigned(t.chunks), 2, unsigned(B)};
  if (gc.valueSlices) {
    using namespace emu_grad_exp_v1_grad_chunk_k;
    static_assert(kValueSlices == 2 && kDqnCols == 2, "emu_grad_exp's v1: two value slices, v0's rows");
    launchChunk(flashgen_emu_grad_exp_v1_grad_chunk, kThreads, kSmemBytes, perChunk);
  } else if (gc.persistent) {
    using namespace emu_grad_exp_v2_grad_chunk_k;
    static_assert(kRowStages == 2, "emu_grad_exp's v2: persistent rounds");
    launchChunk(flashgen_emu_grad_exp_v2_grad_chunk, kThreads, kSmemBytes, emu::Dim3{kRoundsGrid, 1, 1});
  } else {
    using namespace emu_grad_exp_v0_grad_chunk_k;
    launchChunk(flashgen_emu_grad_exp_v0_grad_chunk, kThreads, kSmemBytes, perChunk);
  }
  t.check(gc.valueSlices  ? "mlstm_exp H=2 Dk=Dv=64 (value slices)"
          : gc.persistent ? "mlstm_exp H=2 Dk=Dv=64 (persistent)"
                          : "mlstm_exp H=2 Dk=Dv=64",
          gc.c, true);
}

class LinearGradEmuTest : public EmuTest {};

TEST_F(LinearGradEmuTest, ExpRaggedWithStates) {
  runExpGrad(GradCase{Case{ref::GateKind::MlstmExp, 2, 2, 150, 64, 64, true, 43, 3.0}, true});
}

TEST_F(LinearGradEmuTest, ExpLargePreactivations) {
  // Preactivations in +-8: the stabiliser jumps (exp(i) up to e^8 in the
  // unstabilised state, forget gates down to e^-8), its sources change
  // within and across chunks, and the final stabiliser's gradient routes
  // back through them; q and k non-negative keep the normaliser away from
  // 0 (GradCase::positiveQK). Errors grow with the range (+-12: dq 1.4e-2,
  // +-20: 2.8e-2) where one key dominates a row: o no longer depends on q's
  // scale, so dq is a difference of bf16 terms that cancel.
  GradCase gc{Case{ref::GateKind::MlstmExp, 1, 2, 100, 64, 64, true, 47, 8.0}, true};
  gc.positiveQK = true;
  runExpGrad(gc);
}

TEST_F(LinearGradEmuTest, ExpOneStepWithStates) {
  runExpGrad(GradCase{Case{ref::GateKind::MlstmExp, 2, 2, 1, 64, 64, true, 59, 3.0}, true});
}

TEST_F(LinearGradEmuTest, ExpOnePartialChunkNullStates) {
  runExpGrad(GradCase{Case{ref::GateKind::MlstmExp, 1, 2, 21, 64, 64, true, 53, 3.0}, true, true});
}

TEST_F(LinearGradEmuTest, ExpValueSlicesRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::MlstmExp, 2, 2, 150, 64, 64, true, 43, 3.0}, true};
  gc.valueSlices = true;
  runExpGrad(gc);
}

TEST_F(LinearGradEmuTest, ExpValueSlicesOnePartialChunkNullStates) {
  GradCase gc{Case{ref::GateKind::MlstmExp, 1, 2, 21, 64, 64, true, 53, 3.0}, true, true};
  gc.valueSlices = true;
  runExpGrad(gc);
}

TEST_F(LinearGradEmuTest, ExpPersistentRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::MlstmExp, 2, 2, 150, 64, 64, true, 43, 3.0}, true};
  gc.persistent = true;
  runExpGrad(gc);
}

TEST_F(LinearGradEmuTest, ExpPersistentOnePartialChunkNullStates) {
  GradCase gc{Case{ref::GateKind::MlstmExp, 1, 2, 21, 64, 64, true, 53, 3.0}, true, true};
  gc.persistent = true;
  runExpGrad(gc);
}

TEST_F(LinearGradEmuTest, SigPersistentRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::MlstmSig, 2, 2, 150, 64, 64, true, 29, 3.0}, true};
  gc.persistent = true;
  runSigGrad(gc);
}

TEST_F(LinearGradEmuTest, SigValueSlicesRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::MlstmSig, 2, 2, 150, 64, 64, true, 29, 3.0}, true};
  gc.valueSlices = true;
  runSigGrad(gc);
}

TEST_F(LinearGradEmuTest, SigRaggedWithStates) {
  runSigGrad(GradCase{Case{ref::GateKind::MlstmSig, 2, 2, 150, 64, 64, true, 29, 3.0}, true});
}

TEST_F(LinearGradEmuTest, SigOnePartialChunkNullStates) {
  runSigGrad(GradCase{Case{ref::GateKind::MlstmSig, 1, 2, 21, 64, 64, true, 31, 3.0}, true, true});
}

TEST_F(LinearGradEmuTest, SigWideValuesOneStage) {
  runSigWideGrad(GradCase{Case{ref::GateKind::MlstmSig, 2, 1, 53, 64, 128, false, 37, 3.0}, true});
}

TEST_F(LinearGradEmuTest, SigFinalNormalizerGradientAlone) {
  // A loss through the final n but not the final C: dnf given, dcf null.
  GradCase gc{Case{ref::GateKind::MlstmSig, 1, 1, 40, 64, 128, false, 41, 3.0}, true};
  gc.finalNormalizerOnly = true;
  runSigWideGrad(gc);
}

TEST_F(LinearGradEmuTest, DecayRaggedWithStates) {
  runDecayGrad(GradCase{Case{ref::GateKind::Decay, 2, 2, 150, 64, 64, true, 7}, true});
}

TEST_F(LinearGradEmuTest, DecayWithoutFinalGradient) {
  runDecayGrad(GradCase{Case{ref::GateKind::Decay, 1, 2, 96, 64, 64, true, 11}, false});
}

TEST_F(LinearGradEmuTest, DecayOnePartialChunkNullStates) {
  runDecayGrad(GradCase{Case{ref::GateKind::Decay, 1, 2, 9, 64, 64, true, 13}, true, true});
}

TEST_F(LinearGradEmuTest, DecayPersistentRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::Decay, 2, 2, 150, 64, 64, true, 7}, true};
  gc.persistent = true;
  runDecayGrad(gc);
}

TEST_F(LinearGradEmuTest, DecayPersistentOnePartialChunkNullStates) {
  GradCase gc{Case{ref::GateKind::Decay, 1, 2, 9, 64, 64, true, 13}, true, true};
  gc.persistent = true;
  runDecayGrad(gc);
}

TEST_F(LinearGradEmuTest, DecayValueSlicesRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::Decay, 2, 2, 150, 64, 64, true, 7}, true};
  gc.valueSlices = true;
  runDecayGrad(gc);
}

TEST_F(LinearGradEmuTest, DecayValueSlicesOnePartialChunkNullStates) {
  GradCase gc{Case{ref::GateKind::Decay, 1, 2, 9, 64, 64, true, 13}, true, true};
  gc.valueSlices = true;
  runDecayGrad(gc);
}

TEST_F(LinearGradEmuTest, VectorRaggedWithStates) {
  runVectorGrad(GradCase{Case{ref::GateKind::Vector, 2, 2, 150, 64, 32, true, 19}, true});
}

TEST_F(LinearGradEmuTest, VectorValueSlicesRaggedWithStates) {
  GradCase gc{Case{ref::GateKind::Vector, 2, 2, 150, 64, 32, true, 19}, true};
  gc.valueSlices = true;
  runVectorGrad(gc);
}

TEST_F(LinearGradEmuTest, VectorValueSlicesOnePartialChunkNullStates) {
  GradCase gc{Case{ref::GateKind::Vector, 1, 2, 21, 64, 32, true, 23}, true, true};
  gc.valueSlices = true;
  runVectorGrad(gc);
}

TEST_F(LinearGradEmuTest, VectorOnePartialChunkNullStates) {
  runVectorGrad(GradCase{Case{ref::GateKind::Vector, 1, 2, 21, 64, 32, true, 23}, true, true});
}

/// emu_grad_plain: no gate, Dk = 32 != Dv = 64, chunks of 16, no states.
TEST_F(LinearGradEmuTest, PlainDkBelowDv) {
  const Case c{ref::GateKind::None, 2, 1, 70, 32, 64, false, 17};
  const auto in = inputsFor(c);
  const ref::Tensor<double> dout =
      normalTensor({c.batch, c.heads, c.steps, c.valueDim}, c.seed + 101, ref::Rounding::Bf16);
  ref::LinearProblem problem;
  problem.gate = c.gate;
  const ref::LinearGradResult want = ref::referenceRecurrenceGrad(problem, in, dout);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), dO(dout);
  DevTensor<bf16> dq(in.q.shape(), DevTensor<bf16>::kPoison), dk(in.k.shape(), DevTensor<bf16>::kPoison),
      dv(in.v.shape(), DevTensor<bf16>::kPoison);
  constexpr int64_t kChunk = 16;
  const int64_t chunks = (c.steps + kChunk - 1) / kChunk;
  const ref::Shape scratch = {c.batch, c.heads, chunks + 1, c.keyDim, c.valueDim};
  DevTensor<bf16> sc(scratch, DevTensor<bf16>::kPoison), sdc(scratch, DevTensor<bf16>::kPoison);
  const int B = int(c.batch), T = int(c.steps);
  {
    using namespace emu_grad_plain_v0_states_k;
    emu::launch(emu::Dim3{1, 1, unsigned(B)}, kThreads, kSmemBytes, flashgen_emu_grad_plain_v0_states,
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0),
                v.s(1), v.s(2), v.s(3), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), B, T);
  }
  {
    using namespace emu_grad_plain_v0_grad_states_k;
    emu::launch(emu::Dim3{1, 1, unsigned(B)}, kThreads, kSmemBytes, flashgen_emu_grad_plain_v0_grad_states,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)dO.mem.data(), dO.s(0),
                dO.s(1), dO.s(2), dO.s(3), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), B,
                T);
  }
  {
    using namespace emu_grad_plain_v0_grad_chunk_k;
    emu::launch(emu::Dim3{unsigned(chunks), 1, unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_grad_plain_v0_grad_chunk, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(),
                v.s(0), v.s(1), v.s(2), v.s(3), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2), dO.s(3),
                (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), dq.mem.data(),
                dq.s(0), dq.s(1), dq.s(2), dq.s(3), dk.mem.data(), dk.s(0), dk.s(1), dk.s(2), dk.s(3),
                dv.mem.data(), dv.s(0), dv.s(1), dv.s(2), dv.s(3), B, T);
  }
  std::printf("[linear-grad-emu] none B=%d H=1 T=%d Dk=32 Dv=64\n", B, T);
  expectClose("dq", relativeError(dq, want.dq));
  expectClose("dk", relativeError(dk, want.dk));
  expectClose("dv", relativeError(dv, want.dv));
}

}  // namespace
