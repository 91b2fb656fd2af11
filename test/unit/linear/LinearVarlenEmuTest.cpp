//===- LinearVarlenEmuTest.cpp - packed recurrences on the emulator -------===//
//
// The fused chunk kernel over packed sequences (flash.varlen_view with
// cu_seqlens, docs/semantics.md §3.5), printed for emu_varlen_decay.mlir
// and emu_varlen_vector.mlir and run on the device library's host
// emulator: sequences of ragged lengths (an empty one, a single step, one
// shorter and one longer than a chunk) packed back to back, each its own
// recurrence from its own initial state, against the float64 definition
// run sequence by sequence. Outputs and final states are poisoned first;
// rows of the packed output past the last offset must stay untouched.
// The gradient's three kernels (emu_varlen_grad_decay.mlir and
// emu_varlen_grad_vector.mlir) likewise,
// against the float64 gradients of each sequence alone (its own initial
// state and final-state gradient), their chunk states in one packed
// scratch (poisoned). Gated DeltaNet (emu_varlen_gated_delta.mlir):
// delta_prepare over each sequence's chunks into one packed WY scratch
// (poisoned), then delta_fused over each sequence, against the float64
// step recurrence of each sequence alone.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_varlen_decay.cu"
#include "emu_varlen_gated_delta.cu"
#include "emu_varlen_grad_decay.cu"
#include "emu_varlen_grad_sig.cu"
#include "emu_varlen_grad_exp.cu"
#include "emu_varlen_grad_vector.cu"
#include "emu_varlen_vector.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/DeltaRule.h"
#include "reference/ErrorScale.h"
#include "reference/Recurrence.h"
#include "reference/RecurrenceGrad.h"
#include "reference/Random.h"
#include "reference/Varlen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

using namespace emu_test;
using namespace linear_emu;

constexpr int64_t kHeads = 2;
/// Output error (semantics.md §5's scaled error) and final-state error
/// (max abs over max |C|) the kernels hold, as LinearEmuTest's.
constexpr double kTolerance = 4e-3, kStateTolerance = 2e-2;

/// A batch's inputs drawn padded [B, H, max(lengths), D] (reference/Inputs.h)
/// and packed as flashgen-ref packs them (reference/Varlen.h); sequence s
/// alone is its first lengths[s] rows.
struct Packed {
  std::vector<int64_t> lengths, offsets;
  ref::LinearInputs<double> padded;
  int64_t total = 0;

  Packed(ref::GateKind gate, std::vector<int64_t> lens, int64_t dk, int64_t dv, bool initial)
      : lengths(std::move(lens)),
        padded(inputsFor(Case{gate, int64_t(lengths.size()), kHeads,
                              *std::max_element(lengths.begin(), lengths.end()), dk, dv, initial, 31})) {
    offsets.push_back(0);
    for (int64_t n : lengths) offsets.push_back(offsets.back() + n);
    total = offsets.back();
  }

  /// Sequence s alone, as a batch of one (its own initial state).
  ref::LinearInputs<double> sequence(size_t s) const {
    ref::LinearInputs<double> one;
    one.q = ref::sequenceRows(padded.q, s, lengths[s]);
    one.k = ref::sequenceRows(padded.k, s, lengths[s]);
    one.v = ref::sequenceRows(padded.v, s, lengths[s]);
    // The gate kind's gate operands (the others are empty).
    auto rows = [&](const ref::Tensor<double>& x) {
      return x.empty() ? x : ref::sequenceRows(x, s, lengths[s]);
    };
    one.logDecay = rows(padded.logDecay);
    one.inputGate = rows(padded.inputGate);
    one.forgetGate = rows(padded.forgetGate);
    if (!padded.initial.c.empty()) one.initial.c = ref::sequenceEntry(padded.initial.c, s);
    if (!padded.initial.n.empty()) one.initial.n = ref::sequenceEntry(padded.initial.n, s);
    if (!padded.initial.m.empty()) one.initial.m = ref::sequenceEntry(padded.initial.m, s);
    return one;
  }

  /// x [B, H, N(, D)] packed [T_total, H(, D)].
  ref::Tensor<double> pack(const ref::Tensor<double>& x) const { return ref::packRows(x, lengths); }
};

/// Checks the packed output (and the final states, when given) against the
/// definition run sequence by sequence; the `spare` rows after the packed
/// ones keep their poison.
void checkPacked(const Packed& p, ref::GateKind gate, const DevTensor<bf16>& o, int64_t dv, int64_t spare,
                 const DevTensor<float>* cf, int64_t dk) {
  ref::LinearProblem problem;
  problem.gate = gate;
  for (size_t s = 0; s < p.lengths.size(); ++s) {
    const ref::LinearInputs<double> one = p.sequence(s);
    const ref::LinearResult<double> want = ref::referenceRecurrence(problem, one);
    ref::Tensor<float> got({1, kHeads, p.lengths[s], dv});
    for (int64_t h = 0; h < kHeads; ++h)
      for (int64_t r = 0; r < p.lengths[s]; ++r)
        for (int64_t c = 0; c < dv; ++c)
          got.data()[(h * p.lengths[s] + r) * dv + c] =
              bf16_value(o.mem.v[((p.offsets[s] + r) * kHeads + h) * dv + c]);
    if (p.lengths[s] > 0) {
      const double error =
          ref::scaledError(got, want.out, ref::linearErrorScale(problem, one));
      std::printf("[linear-varlen-emu] %s sequence %zu (T=%lld): output error %.3g\n",
                  ref::gateKindName(gate), s, (long long)p.lengths[s], error);
      EXPECT_LT(error, kTolerance) << "sequence " << s;
    }
    if (!cf) continue;
    double num = 0, den = 0;
    for (int64_t i = 0; i < kHeads * dk * dv; ++i) {
      const double e = std::fabs(double(cf->mem.v[s * kHeads * dk * dv + i]) - want.finalState.c.data()[i]);
      num = std::max(num, std::isnan(e) ? INFINITY : e);
      den = std::max(den, std::fabs(want.finalState.c.data()[i]));
    }
    std::printf("[linear-varlen-emu]   final C error %.3g\n", den > 0 ? num / den : num);
    EXPECT_LT(den > 0 ? num / den : num, kStateTolerance) << "final C of sequence " << s;
  }
  for (int64_t i = p.total * kHeads * dv; i < (p.total + spare) * kHeads * dv; ++i)
    ASSERT_TRUE(std::isnan(bf16_value(o.mem.v[i]))) << "packed row " << i / (kHeads * dv)
                                                    << " past the last sequence was written";
}

class LinearVarlenEmuTest : public EmuTest {};

TEST_F(LinearVarlenEmuTest, DecayRaggedSequencesWithStates) {
  using namespace emu_varlen_decay_v0_k;
  const Packed p(ref::GateKind::Decay, {37, 0, 1, 70}, 64, 64, true);
  constexpr int64_t kSpare = 3;
  DevTensor<bf16> q(p.pack(p.padded.q)), k(p.pack(p.padded.k)), v(p.pack(p.padded.v));
  DevTensor<float> g(p.pack(p.padded.logDecay)), c0(p.padded.initial.c);
  DevTensor<bf16> o({p.total + kSpare, kHeads, 64}, DevTensor<bf16>::kPoison);
  const int B = int(p.lengths.size());
  DevTensor<float> cf({B, kHeads, 64, 64}, DevTensor<float>::kPoison);
  DeviceVec<int> cu(p.offsets.size(), false);
  for (size_t i = 0; i < p.offsets.size(); ++i) cu[i] = int(p.offsets[i]);
  emu::launch(emu::Dim3{64 / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
              flashgen_emu_varlen_decay_v0, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
              (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1),
              v.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), (const float*)c0.mem.data(), c0.s(0), c0.s(1),
              c0.s(2), c0.s(3), o.mem.data(), o.s(0), o.s(1), o.s(2), cf.mem.data(), cf.s(0), cf.s(1), cf.s(2),
              cf.s(3), (const int*)cu.data(), 1LL, int(p.total), B);
  checkPacked(p, ref::GateKind::Decay, o, 64, kSpare, &cf, 64);
}

/// ||got - want|| / ||want|| over every sequence's rows of a packed
/// gradient [T_total, H(, cols)] against each sequence's [1, H, n(, cols)]
/// float64 gradient; infinite where a row holds NaN.
template <class T, class Want>
double packedGradError(const Packed& p, const DevTensor<T>& got, int64_t cols, Want&& wantOf) {
  double num = 0, den = 0;
  for (size_t s = 0; s < p.lengths.size(); ++s) {
    const ref::Tensor<double>& want = wantOf(s);
    for (int64_t h = 0; h < kHeads; ++h)
      for (int64_t r = 0; r < p.lengths[s]; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t at = ((p.offsets[s] + r) * kHeads + h) * cols + c;
          double g;
          if constexpr (std::is_same<T, bf16>::value)
            g = bf16_value(got.mem.v[at]);
          else
            g = got.mem.v[at];
          if (std::isnan(g)) return INFINITY;
          const double w = want.data()[(h * p.lengths[s] + r) * cols + c];
          num += (g - w) * (g - w);
          den += w * w;
        }
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// Draws from `rng` in order, rounded as the device reads them.
ref::Tensor<double> normalDraws(ref::Rng& rng, ref::Shape shape, ref::Rounding rounding) {
  ref::Tensor<double> t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = ref::applyRounding(rng.normal(), rounding);
  return t;
}

/// LinearGradEmuTest's tolerance for a gradient's relative L2 error.
constexpr double kGradTolerance = 2e-2;

void expectPackedGrad(const char* kind, const char* what, double error) {
  std::printf("[linear-varlen-emu] packed %s gradient %s relative error %.3g\n", kind, what, error);
  EXPECT_LT(error, kGradTolerance) << what;
}

/// Each sequence's `field` of its float64 gradients (packedGradError's
/// wantOf).
auto wantField(const std::vector<ref::LinearGradResult>& want,
               ref::Tensor<double> ref::LinearGradResult::*field) {
  return [&want, field](size_t s) -> const ref::Tensor<double>& { return want[s].*field; };
}

/// ||got - want|| / ||want|| over every sequence's initial-state gradient
/// [B, ...] (`size` elements each) against each sequence's own; infinite
/// where one holds NaN.
double stateGradError(const DevTensor<float>& got, const std::vector<ref::LinearGradResult>& want,
                      ref::Tensor<double> ref::RecurrentState<double>::*field, int64_t size) {
  double num = 0, den = 0;
  for (size_t s = 0; s < want.size(); ++s)
    for (int64_t i = 0; i < size; ++i) {
      const double g = got.mem.v[s * size + i], w = (want[s].dInitial.*field).data()[i];
      num += std::isnan(g) ? INFINITY : (g - w) * (g - w);
      den += w * w;
    }
  return std::sqrt(num / den);
}

/// A packed gradient spec's three kernels and their launch constants.
template <class States, class GradStates, class Chunk>
struct PackedGradKernels {
  States states;
  GradStates gradStates;
  Chunk chunk;
  int tileDv, stateThreads, stateSmem, gradStateSmem, chunkThreads, chunkSmem;
};

/// Runs a packed gradient spec (Dk = 64, chunks of 32, an initial state and
/// the final state's gradient per sequence) over sequences of `lengths` and
/// checks dq, dk, dv, the log-decays' and every initial state's gradient
/// against the float64 gradients of each sequence alone. kVector: the
/// log-decays are [T, H, Dk] (GLA), else [T, H].
template <bool kVector, class K>
void runPackedGrad(const K& kernels, std::vector<int64_t> lengths, int64_t dv) {
  const ref::GateKind gate = kVector ? ref::GateKind::Vector : ref::GateKind::Decay;
  const Packed p(gate, std::move(lengths), 64, dv, true);
  const int B = int(p.lengths.size());
  constexpr int64_t kChunk = 32, kDk = 64;
  ref::Rng rng(77);
  const int64_t longest = *std::max_element(p.lengths.begin(), p.lengths.end());
  const ref::Tensor<double> dout = normalDraws(rng, {B, kHeads, longest, dv}, ref::Rounding::Bf16);
  const ref::Tensor<double> dcf = normalDraws(rng, {B, kHeads, kDk, dv}, ref::Rounding::Float32);
  std::vector<ref::LinearGradResult> want;
  ref::LinearProblem problem;
  problem.gate = gate;
  for (int s = 0; s < B; ++s) {
    ref::RecurrentState<double> dFinal;
    dFinal.c = ref::sequenceEntry(dcf, s);
    want.push_back(ref::referenceRecurrenceGrad(problem, p.sequence(s),
                                                ref::sequenceRows(dout, s, p.lengths[s]), &dFinal));
  }

  DevTensor<bf16> q(p.pack(p.padded.q)), k(p.pack(p.padded.k)), v(p.pack(p.padded.v)), dO(p.pack(dout));
  DevTensor<float> g(p.pack(p.padded.logDecay)), c0(p.padded.initial.c), dcfT(dcf);
  DevTensor<bf16> dq({p.total, kHeads, kDk}, DevTensor<bf16>::kPoison),
      dk({p.total, kHeads, kDk}, DevTensor<bf16>::kPoison), dvT({p.total, kHeads, dv}, DevTensor<bf16>::kPoison);
  const ref::Shape gShape = kVector ? ref::Shape{p.total, kHeads, kDk} : ref::Shape{p.total, kHeads};
  DevTensor<float> dg(gShape, DevTensor<float>::kPoison), dc0({B, kHeads, kDk, dv}, DevTensor<float>::kPoison);
  // The packed boundary scratch (BundleWriter: cdiv(T_total, L) + 2 B_offsets).
  const int64_t boundaries = (p.total + kChunk - 1) / kChunk + 2 * (B + 1);
  DevTensor<bf16> sc({1, kHeads, boundaries, kDk, dv}, DevTensor<bf16>::kPoison),
      sdc({1, kHeads, boundaries, kDk, dv}, DevTensor<bf16>::kPoison);
  DeviceVec<int> cu(p.offsets.size(), false);
  for (size_t i = 0; i < p.offsets.size(); ++i) cu[i] = int(p.offsets[i]);
  const int total = int(p.total);
  const emu::Dim3 stateGrid{unsigned(dv / kernels.tileDv), unsigned(kHeads), unsigned(B)};
  // The grid's chunks: the longest sequence's (max_seqlen_q).
  const emu::Dim3 chunkGrid{unsigned(std::max<int64_t>((longest + kChunk - 1) / kChunk, 1)), unsigned(kHeads),
                            unsigned(B)};
  // The gate rows: [T, H] strides, or [T, H, Dk]'s.
  if constexpr (kVector) {
    emu::launch(stateGrid, kernels.stateThreads, kernels.stateSmem, kernels.states, (const bf16*)k.mem.data(),
                k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2),
                (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), (const float*)c0.mem.data(), c0.s(0),
                c0.s(1), c0.s(2), c0.s(3), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const int*)cu.data(), 1LL, total, B);
    emu::launch(stateGrid, kernels.stateThreads, kernels.gradStateSmem, kernels.gradStates,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1),
                dO.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), (const float*)dcfT.mem.data(),
                dcfT.s(0), dcfT.s(1), dcfT.s(2), dcfT.s(3), dc0.mem.data(), dc0.s(0), dc0.s(1), dc0.s(2),
                dc0.s(3), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), (const int*)cu.data(),
                1LL, total, B);
    emu::launch(chunkGrid, kernels.chunkThreads, kernels.chunkSmem, kernels.chunk, (const bf16*)q.mem.data(),
                q.s(0), q.s(1), q.s(2), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), (const bf16*)dO.mem.data(), dO.s(0),
                dO.s(1), dO.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2),
                (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), dq.mem.data(),
                dq.s(0), dq.s(1), dq.s(2), dk.mem.data(), dk.s(0), dk.s(1), dk.s(2), dvT.mem.data(), dvT.s(0),
                dvT.s(1), dvT.s(2), dg.mem.data(), dg.s(0), dg.s(1), dg.s(2), (const int*)cu.data(), 1LL, total,
                B);
  } else {
    emu::launch(stateGrid, kernels.stateThreads, kernels.stateSmem, kernels.states, (const bf16*)k.mem.data(),
                k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2),
                (const float*)g.mem.data(), g.s(0), g.s(1), (const float*)c0.mem.data(), c0.s(0), c0.s(1),
                c0.s(2), c0.s(3), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const int*)cu.data(), 1LL, total, B);
    emu::launch(stateGrid, kernels.stateThreads, kernels.gradStateSmem, kernels.gradStates,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1),
                dO.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), (const float*)dcfT.mem.data(), dcfT.s(0),
                dcfT.s(1), dcfT.s(2), dcfT.s(3), dc0.mem.data(), dc0.s(0), dc0.s(1), dc0.s(2), dc0.s(3),
                sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), (const int*)cu.data(), 1LL,
                total, B);
    emu::launch(chunkGrid, kernels.chunkThreads, kernels.chunkSmem, kernels.chunk, (const bf16*)q.mem.data(),
                q.s(0), q.s(1), q.s(2), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), (const bf16*)dO.mem.data(), dO.s(0),
                dO.s(1), dO.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), (const bf16*)sc.mem.data(),
                sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1),
                sdc.s(2), sdc.s(3), sdc.s(4), dq.mem.data(), dq.s(0), dq.s(1), dq.s(2), dk.mem.data(), dk.s(0),
                dk.s(1), dk.s(2), dvT.mem.data(), dvT.s(0), dvT.s(1), dvT.s(2), dg.mem.data(), dg.s(0), dg.s(1),
                (const int*)cu.data(), 1LL, total, B);
  }
  const char* kind = ref::gateKindName(gate);
  using G = ref::LinearGradResult;
  expectPackedGrad(kind, "dq", packedGradError(p, dq, kDk, wantField(want, &G::dq)));
  expectPackedGrad(kind, "dk", packedGradError(p, dk, kDk, wantField(want, &G::dk)));
  expectPackedGrad(kind, "dv", packedGradError(p, dvT, dv, wantField(want, &G::dv)));
  expectPackedGrad(kind, "dlog_decay", packedGradError(p, dg, kVector ? kDk : 1, wantField(want, &G::dLogDecay)));
  // Each sequence's initial-state gradient, the empty one's dcf itself.
  expectPackedGrad(kind, "dC0", stateGradError(dc0, want, &ref::RecurrentState<double>::c, kHeads * kDk * dv));
}

TEST_F(LinearVarlenEmuTest, DecayGradientRaggedSequencesWithStates) {
  // Sequences: longer than two chunks, empty, one step, exactly one chunk,
  // one row past a chunk.
  namespace s = emu_varlen_grad_decay_v0_states_k;
  namespace gs = emu_varlen_grad_decay_v0_grad_states_k;
  namespace ch = emu_varlen_grad_decay_v0_grad_chunk_k;
  runPackedGrad<false>(PackedGradKernels<decltype(&flashgen_emu_varlen_grad_decay_v0_states),
                                         decltype(&flashgen_emu_varlen_grad_decay_v0_grad_states),
                                         decltype(&flashgen_emu_varlen_grad_decay_v0_grad_chunk)>{
                           flashgen_emu_varlen_grad_decay_v0_states,
                           flashgen_emu_varlen_grad_decay_v0_grad_states,
                           flashgen_emu_varlen_grad_decay_v0_grad_chunk, s::kTileDv, s::kThreads,
                           s::kSmemBytes, gs::kSmemBytes, ch::kThreads, ch::kSmemBytes},
                       {70, 0, 1, 32, 33}, 64);
}

TEST_F(LinearVarlenEmuTest, VectorGradientRaggedSequencesWithStates) {
  // GLA (a log-decay per key dim), Dk = 64 > Dv = 32.
  namespace s = emu_varlen_grad_vector_v0_states_k;
  namespace gs = emu_varlen_grad_vector_v0_grad_states_k;
  namespace ch = emu_varlen_grad_vector_v0_grad_chunk_k;
  runPackedGrad<true>(PackedGradKernels<decltype(&flashgen_emu_varlen_grad_vector_v0_states),
                                        decltype(&flashgen_emu_varlen_grad_vector_v0_grad_states),
                                        decltype(&flashgen_emu_varlen_grad_vector_v0_grad_chunk)>{
                          flashgen_emu_varlen_grad_vector_v0_states,
                          flashgen_emu_varlen_grad_vector_v0_grad_states,
                          flashgen_emu_varlen_grad_vector_v0_grad_chunk, s::kTileDv, s::kThreads,
                          s::kSmemBytes, gs::kSmemBytes, ch::kThreads, ch::kSmemBytes},
                      {1, 45, 0, 64, 9}, 32);
}

/// An mLSTM kind's packed gradient case (Dk = Dv = 64, chunks of 32; C, n
/// and for mlstm_exp m per sequence, and their final gradients): the
/// float64 gradients of each sequence alone and the forward's o and rows'
/// normalisers as the kernels read them.
struct MlstmPackedReference {
  static constexpr int64_t kChunk = 32, kDim = 64;
  const Packed p;
  const bool stabilized;
  const int B;
  const int64_t longest;
  ref::Tensor<double> dout, o, norm;
  ref::RecurrentState<double> dFinal;
  std::vector<ref::LinearGradResult> want;

  MlstmPackedReference(ref::GateKind gate, std::vector<int64_t> lengths, uint64_t seed)
      : p(gate, std::move(lengths), kDim, kDim, true), stabilized(gate == ref::GateKind::MlstmExp),
        B(int(p.lengths.size())), longest(*std::max_element(p.lengths.begin(), p.lengths.end())),
        o({B, kHeads, longest, kDim}), norm({B, kHeads, longest, 2}) {
    ref::Rng rng(seed);
    dout = normalDraws(rng, {B, kHeads, longest, kDim}, ref::Rounding::Bf16);
    dFinal.c = normalDraws(rng, {B, kHeads, kDim, kDim}, ref::Rounding::Float32);
    dFinal.n = normalDraws(rng, {B, kHeads, kDim}, ref::Rounding::Float32);
    if (stabilized) dFinal.m = normalDraws(rng, {B, kHeads}, ref::Rounding::Float32);
    ref::LinearProblem problem;
    problem.gate = gate;
    for (int s = 0; s < B; ++s) {
      ref::RecurrentState<double> one;
      one.c = ref::sequenceEntry(dFinal.c, s);
      one.n = ref::sequenceEntry(dFinal.n, s);
      if (stabilized) one.m = ref::sequenceEntry(dFinal.m, s);
      want.push_back(ref::referenceRecurrenceGrad(problem, p.sequence(s),
                                                  ref::sequenceRows(dout, s, p.lengths[s]), &one));
      // The forward's o and rows' normalisers, each sequence's alone, padded.
      const ref::LinearResult<double> r = ref::referenceRecurrence(problem, p.sequence(s));
      for (int64_t h = 0; h < kHeads; ++h)
        for (int64_t t = 0; t < p.lengths[s]; ++t) {
          for (int64_t d = 0; d < kDim; ++d)
            o[((s * kHeads + h) * longest + t) * kDim + d] = r.out[(h * p.lengths[s] + t) * kDim + d];
          for (int64_t d = 0; d < 2; ++d)
            norm[((s * kHeads + h) * longest + t) * 2 + d] = r.rowNorm[(h * p.lengths[s] + t) * 2 + d];
        }
    }
  }
};

/// The case's buffers for the four kernels: inputs packed, outputs and
/// scratch poisoned; the packed scratch as BundleWriter sizes it
/// (cdiv(T_total, L) + 2 (B + 1) boundaries; dN, and mlstm_exp's dm beside
/// it, over whole chunks). The m tensors are mlstm_exp's (one element for
/// mlstm_sig, unused).
struct MlstmPackedGrad : MlstmPackedReference {
  using Bf = DevTensor<bf16>;
  using F = DevTensor<float>;
  const int64_t boundaries;
  Bf q, k, v, dO, oPacked, dq, dk, dv, sc, sdc, gdo;
  F normPacked, ig, fg, c0, n0, m0, dcf, dnf, dmf, di, df, dc0, dn0, dm0, sn, sdn, sm, sdm, gdqn;
  DeviceVec<int> cu;
  const int total;
  const unsigned chunks;

  MlstmPackedGrad(ref::GateKind gate, std::vector<int64_t> lengths, uint64_t seed)
      : MlstmPackedReference(gate, std::move(lengths), seed),
        boundaries((p.total + kChunk - 1) / kChunk + 2 * (B + 1)),
        q(p.pack(p.padded.q)), k(p.pack(p.padded.k)), v(p.pack(p.padded.v)), dO(p.pack(dout)),
        oPacked(p.pack(o)), dq({p.total, kHeads, kDim}, Bf::kPoison), dk({p.total, kHeads, kDim}, Bf::kPoison),
        dv({p.total, kHeads, kDim}, Bf::kPoison), sc({1, kHeads, boundaries, kDim, kDim}, Bf::kPoison),
        sdc({1, kHeads, boundaries, kDim, kDim}, Bf::kPoison), gdo({p.total, kHeads, kDim}, Bf::kPoison),
        normPacked(p.pack(norm)), ig(p.pack(p.padded.inputGate)), fg(p.pack(p.padded.forgetGate)),
        c0(p.padded.initial.c), n0(p.padded.initial.n), m0(p.padded.initial.m), dcf(dFinal.c), dnf(dFinal.n),
        dmf(dFinal.m), di({p.total, kHeads}, F::kPoison), df({p.total, kHeads}, F::kPoison),
        dc0({B, kHeads, kDim, kDim}, F::kPoison), dn0({B, kHeads, kDim}, F::kPoison), dm0({B, kHeads}, F::kPoison),
        sn({1, kHeads, boundaries, kDim}, F::kPoison), sdn({1, kHeads, boundaries, kDim}, F::kPoison),
        sm({1, kHeads, boundaries}, F::kPoison), sdm({1, kHeads, boundaries}, F::kPoison),
        gdqn({1, kHeads, boundaries * kChunk, stabilized ? 2 : 1}, F::kPoison), cu(p.offsets.size(), false),
        total(int(p.total)), chunks(unsigned(std::max<int64_t>((longest + kChunk - 1) / kChunk, 1))) {
    for (size_t i = 0; i < p.offsets.size(); ++i) cu[i] = int(p.offsets[i]);
  }

  /// Checks every gradient against each sequence's own.
  void check(const char* kind) const {
    using G = ref::LinearGradResult;
    using S = ref::RecurrentState<double>;
    expectPackedGrad(kind, "dq", packedGradError(p, dq, kDim, wantField(want, &G::dq)));
    expectPackedGrad(kind, "dk", packedGradError(p, dk, kDim, wantField(want, &G::dk)));
    expectPackedGrad(kind, "dv", packedGradError(p, dv, kDim, wantField(want, &G::dv)));
    expectPackedGrad(kind, "d igate", packedGradError(p, di, 1, wantField(want, &G::dInputGate)));
    expectPackedGrad(kind, "d fgate", packedGradError(p, df, 1, wantField(want, &G::dForgetGate)));
    // Every sequence's initial C and n (and m) gradients.
    expectPackedGrad(kind, "dC0", stateGradError(dc0, want, &S::c, kHeads * kDim * kDim));
    expectPackedGrad(kind, "dn0", stateGradError(dn0, want, &S::n, kHeads * kDim));
    if (stabilized) expectPackedGrad(kind, "dm0", stateGradError(dm0, want, &S::m, kHeads));
  }
};

TEST_F(LinearVarlenEmuTest, SigGradientRaggedSequencesWithStates) {
  // mlstm_sig (docs/semantics.md §4.6): its rows kernel, the state passes
  // and the chunk kernel over packed sequences, C and n per sequence.
  MlstmPackedGrad t(ref::GateKind::MlstmSig, {33, 0, 1, 70}, 79);
  constexpr unsigned kDim = MlstmPackedGrad::kDim;
  const int B = t.B, total = t.total;
  auto &q = t.q, &k = t.k, &v = t.v, &dO = t.dO, &oPacked = t.oPacked, &dq = t.dq, &dk = t.dk, &dv = t.dv,
       &sc = t.sc, &sdc = t.sdc, &gdo = t.gdo;
  auto &normPacked = t.normPacked, &ig = t.ig, &fg = t.fg, &c0 = t.c0, &n0 = t.n0, &dcf = t.dcf,
       &dnf = t.dnf, &di = t.di, &df = t.df, &dc0 = t.dc0, &dn0 = t.dn0, &sn = t.sn, &sdn = t.sdn,
       &gdqn = t.gdqn;
  auto& cu = t.cu;
  const unsigned chunks = t.chunks;
  {
    using namespace emu_varlen_grad_sig_v0_states_k;
    emu::launch(emu::Dim3{kDim / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_sig_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), (const float*)ig.mem.data(), ig.s(0), ig.s(1),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), (const float*)c0.mem.data(), c0.s(0), c0.s(1),
                c0.s(2), c0.s(3), (const float*)n0.mem.data(), n0.s(0), n0.s(1), n0.s(2), sc.mem.data(),
                sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3),
                (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_sig_v0_grad_rows_k;
    emu::launch(emu::Dim3{chunks, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_sig_v0_grad_rows, (const bf16*)oPacked.mem.data(), oPacked.s(0),
                oPacked.s(1), oPacked.s(2), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2),
                (const float*)normPacked.mem.data(), normPacked.s(0), normPacked.s(1), normPacked.s(2),
                gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdqn.mem.data(), gdqn.s(0), gdqn.s(1),
                gdqn.s(2), gdqn.s(3), (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_sig_v0_grad_states_k;
    emu::launch(emu::Dim3{kDim / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_sig_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), (const float*)gdqn.mem.data(),
                gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3), (const float*)ig.mem.data(), ig.s(0), ig.s(1),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), (const float*)dcf.mem.data(), dcf.s(0),
                dcf.s(1), dcf.s(2), dcf.s(3), (const float*)dnf.mem.data(), dnf.s(0), dnf.s(1), dnf.s(2),
                dc0.mem.data(), dc0.s(0), dc0.s(1), dc0.s(2), dc0.s(3), dn0.mem.data(), dn0.s(0), dn0.s(1),
                dn0.s(2), sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), sdn.mem.data(),
                sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_sig_v0_grad_chunk_k;
    emu::launch(emu::Dim3{chunks, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_sig_v0_grad_chunk, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1),
                v.s(2), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), (const float*)fg.mem.data(), fg.s(0), fg.s(1),
                (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4),
                (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), (const float*)sdn.mem.data(),
                sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), dq.mem.data(), dq.s(0), dq.s(1), dq.s(2), dk.mem.data(),
                dk.s(0), dk.s(1), dk.s(2), dv.mem.data(), dv.s(0), dv.s(1), dv.s(2), di.mem.data(), di.s(0),
                di.s(1), df.mem.data(), df.s(0), df.s(1), (const int*)cu.data(), 1LL, total, B);
  }
  t.check("mlstm_sig");
}

TEST_F(LinearVarlenEmuTest, ExpGradientRaggedSequencesWithStates) {
  // mlstm_exp (docs/semantics.md §4.7) over packed sequences: C, n and m
  // per sequence and their final gradients; each sequence's chunk
  // stabilisers (chunk_m) and carried stabiliser gradients (chunk_dm) from
  // its own first boundary of the packed scratch, dm0 per sequence.
  MlstmPackedGrad t(ref::GateKind::MlstmExp, {33, 0, 1, 70}, 83);
  constexpr unsigned kDim = MlstmPackedGrad::kDim;
  const int B = t.B, total = t.total;
  auto &q = t.q, &k = t.k, &v = t.v, &dO = t.dO, &oPacked = t.oPacked, &dq = t.dq, &dk = t.dk, &dv = t.dv,
       &sc = t.sc, &sdc = t.sdc, &gdo = t.gdo;
  auto &normPacked = t.normPacked, &ig = t.ig, &fg = t.fg, &c0 = t.c0, &n0 = t.n0, &m0 = t.m0, &dcf = t.dcf,
       &dnf = t.dnf, &dmf = t.dmf, &di = t.di, &df = t.df, &dc0 = t.dc0, &dn0 = t.dn0, &dm0 = t.dm0,
       &sn = t.sn, &sdn = t.sdn, &sm = t.sm, &sdm = t.sdm, &gdqn = t.gdqn;
  auto& cu = t.cu;
  const unsigned chunks = t.chunks;
  {
    using namespace emu_varlen_grad_exp_v0_states_k;
    emu::launch(emu::Dim3{kDim / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_exp_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), (const float*)ig.mem.data(), ig.s(0), ig.s(1),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), (const float*)c0.mem.data(), c0.s(0), c0.s(1),
                c0.s(2), c0.s(3), (const float*)n0.mem.data(), n0.s(0), n0.s(1), n0.s(2),
                (const float*)m0.mem.data(), m0.s(0), m0.s(1), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2),
                sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), sm.mem.data(), sm.s(0),
                sm.s(1), sm.s(2), (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_exp_v0_grad_rows_k;
    emu::launch(emu::Dim3{chunks, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_exp_v0_grad_rows, (const bf16*)oPacked.mem.data(), oPacked.s(0),
                oPacked.s(1), oPacked.s(2), (const bf16*)dO.mem.data(), dO.s(0), dO.s(1), dO.s(2),
                (const float*)normPacked.mem.data(), normPacked.s(0), normPacked.s(1), normPacked.s(2),
                gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), gdqn.mem.data(), gdqn.s(0), gdqn.s(1),
                gdqn.s(2), gdqn.s(3), (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_exp_v0_grad_states_k;
    emu::launch(emu::Dim3{kDim / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_exp_v0_grad_states, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2), (const float*)gdqn.mem.data(),
                gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3), (const float*)ig.mem.data(), ig.s(0), ig.s(1),
                (const float*)fg.mem.data(), fg.s(0), fg.s(1), (const float*)dcf.mem.data(), dcf.s(0),
                dcf.s(1), dcf.s(2), dcf.s(3), (const float*)dnf.mem.data(), dnf.s(0), dnf.s(1), dnf.s(2),
                (const float*)dmf.mem.data(), dmf.s(0), dmf.s(1), dc0.mem.data(), dc0.s(0), dc0.s(1), dc0.s(2),
                dc0.s(3), dn0.mem.data(), dn0.s(0), dn0.s(1), dn0.s(2), (const float*)sm.mem.data(), sm.s(0),
                sm.s(1), sm.s(2), (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), sdc.mem.data(), sdc.s(0),
                sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4), sdn.mem.data(), sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3),
                sdm.mem.data(), sdm.s(0), sdm.s(1), sdm.s(2), (const int*)cu.data(), 1LL, total, B);
  }
  {
    using namespace emu_varlen_grad_exp_v0_grad_chunk_k;
    emu::launch(emu::Dim3{chunks, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_grad_exp_v0_grad_chunk, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1),
                v.s(2), (const bf16*)gdo.mem.data(), gdo.s(0), gdo.s(1), gdo.s(2),
                (const float*)gdqn.mem.data(), gdqn.s(0), gdqn.s(1), gdqn.s(2), gdqn.s(3),
                (const float*)ig.mem.data(), ig.s(0), ig.s(1), (const float*)fg.mem.data(), fg.s(0), fg.s(1),
                (const bf16*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const bf16*)sdc.mem.data(), sdc.s(0), sdc.s(1), sdc.s(2), sdc.s(3), sdc.s(4),
                (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), (const float*)sdn.mem.data(),
                sdn.s(0), sdn.s(1), sdn.s(2), sdn.s(3), (const float*)sm.mem.data(), sm.s(0), sm.s(1), sm.s(2),
                (const float*)sdm.mem.data(), sdm.s(0), sdm.s(1), sdm.s(2), dq.mem.data(), dq.s(0), dq.s(1),
                dq.s(2), dk.mem.data(), dk.s(0), dk.s(1), dk.s(2), dv.mem.data(), dv.s(0), dv.s(1), dv.s(2),
                di.mem.data(), di.s(0), di.s(1), df.mem.data(), df.s(0), df.s(1), dm0.mem.data(), dm0.s(0),
                dm0.s(1), (const int*)cu.data(), 1LL, total, B);
  }
  t.check("mlstm_exp");
}

/// Gated DeltaNet with l2-normalised q and k over packed sequences: the
/// prepare kernel's grid covers the longest sequence's chunks (its CTAs
/// past a shorter sequence's last chunk exit), each sequence's WY factors
/// in one poisoned scratch from its first boundary's rows, and the fused
/// kernel runs each sequence from its own initial state. Lengths: shorter
/// than a chunk, empty, one step, a whole chunk, and two chunks and more.
TEST_F(LinearVarlenEmuTest, GatedDeltaRaggedSequencesWithStates) {
  constexpr int64_t kDk = 64, kDv = 32, kChunk = 64, kSpare = 2;
  const std::vector<int64_t> lengths = {37, 0, 1, 64, 140};
  const int B = int(lengths.size());
  const int64_t maxLen = *std::max_element(lengths.begin(), lengths.end());
  std::vector<int64_t> offsets = {0};
  for (int64_t n : lengths) offsets.push_back(offsets.back() + n);
  const int64_t total = offsets.back();
  // Padded draws [B, H, maxLen, ...] (bf16-exact q, k, v, beta; log-decays
  // in [-0.3, 0]; f32 initial states), packed as flashgen-ref packs them.
  ref::Rng rng(41);
  auto draw = [&](ref::Shape shape, auto value) {
    ref::Tensor<double> t(shape);
    for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = value();
    return t;
  };
  auto bf = [](double x) { return double(bf16_value(bf16_from<bf16>(float(x)))); };
  ref::DeltaInputs<double> padded;
  padded.q = draw({B, kHeads, maxLen, kDk}, [&] { return bf(rng.normal()); });
  padded.k = draw({B, kHeads, maxLen, kDk}, [&] { return bf(rng.normal()); });
  padded.v = draw({B, kHeads, maxLen, kDv}, [&] { return bf(rng.normal()); });
  padded.beta = draw({B, kHeads, maxLen}, [&] { return bf(rng.uniform(0.0, 1.0)); });
  padded.logDecay = draw({B, kHeads, maxLen}, [&] { return double(float(rng.uniform(-0.3, 0.0))); });
  padded.initial = draw({B, kHeads, kDk, kDv}, [&] { return double(float(0.3 * rng.normal())); });
  auto pack = [&](const ref::Tensor<double>& x) { return ref::packRows(x, lengths); };
  DevTensor<bf16> q(pack(padded.q)), k(pack(padded.k)), v(pack(padded.v)), beta(pack(padded.beta));
  DevTensor<float> g(pack(padded.logDecay)), s0(padded.initial);
  DevTensor<bf16> o({total + kSpare, kHeads, kDv}, DevTensor<bf16>::kPoison);
  DevTensor<float> sf({B, kHeads, kDk, kDv}, DevTensor<float>::kPoison);
  DeviceVec<int> cu(offsets.size(), false);
  for (size_t i = 0; i < offsets.size(); ++i) cu[i] = int(offsets[i]);
  // The packed scratch as the bundle sizes it: (cdiv(T_total, L) + 2 B_offsets) L rows.
  const int64_t rows = ((total + kChunk - 1) / kChunk + 2 * int64_t(offsets.size())) * kChunk;
  DevTensor<bf16> w({1, kHeads, rows, kDk}, DevTensor<bf16>::kPoison),
      u({1, kHeads, rows, kDv}, DevTensor<bf16>::kPoison);
  DevTensor<float> norm({1, kHeads, rows, 2}, DevTensor<float>::kPoison);
  const unsigned chunks = unsigned(std::max<int64_t>((maxLen + kChunk - 1) / kChunk, 1));
  {
    using namespace emu_varlen_gated_delta_v0_prepare_k;
    emu::launch(emu::Dim3{chunks, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_gated_delta_v0_prepare, (const bf16*)q.mem.data(), q.s(0), q.s(1),
                q.s(2), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0),
                v.s(1), v.s(2), (const bf16*)beta.mem.data(), beta.s(0), beta.s(1),
                (const float*)g.mem.data(), g.s(0), g.s(1), w.mem.data(), w.s(0), w.s(1), w.s(2), w.s(3),
                u.mem.data(), u.s(0), u.s(1), u.s(2), u.s(3), norm.mem.data(), norm.s(0), norm.s(1),
                norm.s(2), norm.s(3), (const int*)cu.data(), 1LL, int(total), B);
  }
  {
    using namespace emu_varlen_gated_delta_v0_k;
    emu::launch(emu::Dim3{kDv / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
                flashgen_emu_varlen_gated_delta_v0, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const float*)g.mem.data(), g.s(0),
                g.s(1), (const float*)s0.mem.data(), s0.s(0), s0.s(1), s0.s(2), s0.s(3), o.mem.data(),
                o.s(0), o.s(1), o.s(2), sf.mem.data(), sf.s(0), sf.s(1), sf.s(2), sf.s(3),
                (const bf16*)w.mem.data(), w.s(0), w.s(1), w.s(2), w.s(3), (const bf16*)u.mem.data(),
                u.s(0), u.s(1), u.s(2), u.s(3), (const float*)norm.mem.data(), norm.s(0), norm.s(1),
                norm.s(2), norm.s(3), (const int*)cu.data(), 1LL, int(total), B);
  }
  ref::DeltaProblem problem;
  problem.gated = true;
  problem.l2NormQK = true;
  // Max abs error over max |reference| per sequence, as the unpacked
  // delta-rule test measures (bf16 outputs, a 16-bit corrected U).
  auto relative = [](auto value, const ref::Tensor<double>& want) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < want.size(); ++i) {
      const double e = std::fabs(value(i) - want.data()[i]);
      num = std::max(num, std::isnan(e) ? INFINITY : e);
      den = std::max(den, std::fabs(want.data()[i]));
    }
    return den > 0 ? num / den : num;
  };
  for (int s = 0; s < B; ++s) {
    const int64_t n = lengths[s];
    const ref::DeltaResult<double> want =
        ref::referenceDeltaRule(problem, ref::sequenceDeltaInputs(padded, s, n));
    if (n > 0) {
      const double eo = relative(
          [&](int64_t i) {  // want.out is [1, H, n, Dv]
            const int64_t h = i / (n * kDv), r = i / kDv % n, c = i % kDv;
            return double(bf16_value(o.mem.v[((offsets[s] + r) * kHeads + h) * kDv + c]));
          },
          want.out);
      std::printf("[linear-varlen-emu] gated delta sequence %d (T=%lld): output error %.3g\n", s,
                  (long long)n, eo);
      EXPECT_LT(eo, 2e-2) << "outputs of sequence " << s;
    }
    const double es = relative(
        [&](int64_t i) { return double(sf.mem.v[s * kHeads * kDk * kDv + i]); }, want.finalState);
    std::printf("[linear-varlen-emu]   final S error %.3g\n", es);
    // An empty sequence hands its initial state on unchanged.
    EXPECT_LT(es, n == 0 ? 1e-7 : kStateTolerance) << "final state of sequence " << s;
  }
  for (int64_t i = total * kHeads * kDv; i < (total + kSpare) * kHeads * kDv; ++i)
    ASSERT_TRUE(std::isnan(bf16_value(o.mem.v[i])))
        << "packed row " << i / (kHeads * kDv) << " past the last sequence was written";
}

TEST_F(LinearVarlenEmuTest, VectorRaggedSequences) {
  using namespace emu_varlen_vector_v0_k;
  const Packed p(ref::GateKind::Vector, {45, 1, 0, 64, 9}, 64, 32, false);
  DevTensor<bf16> q(p.pack(p.padded.q)), k(p.pack(p.padded.k)), v(p.pack(p.padded.v));
  DevTensor<float> g(p.pack(p.padded.logDecay));
  DevTensor<bf16> o({p.total, kHeads, 32}, DevTensor<bf16>::kPoison);
  const int B = int(p.lengths.size());
  DeviceVec<int> cu(p.offsets.size(), false);
  for (size_t i = 0; i < p.offsets.size(); ++i) cu[i] = int(p.offsets[i]);
  emu::launch(emu::Dim3{32 / kTileDv, unsigned(kHeads), unsigned(B)}, kThreads, kSmemBytes,
              flashgen_emu_varlen_vector_v0, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
              (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), (const bf16*)v.mem.data(), v.s(0), v.s(1),
              v.s(2), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2),
              (const int*)cu.data(), 1LL, int(p.total), B);
  checkPacked(p, ref::GateKind::Vector, o, 32, 0, nullptr, 64);
}

}  // namespace
