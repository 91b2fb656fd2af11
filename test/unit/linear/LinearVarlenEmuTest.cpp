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
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_varlen_decay.cu"
#include "emu_varlen_vector.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/ErrorScale.h"
#include "reference/Recurrence.h"
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
    one.logDecay = ref::sequenceRows(padded.logDecay, s, lengths[s]);
    if (!padded.initial.c.empty()) one.initial.c = ref::sequenceEntry(padded.initial.c, s);
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
