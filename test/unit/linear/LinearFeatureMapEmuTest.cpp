//===- LinearFeatureMapEmuTest.cpp - a recurrence's feature map on the emulator ===//
//
// The kernels the emitter prints for a flash.linear_attention with a
// feature map on q and k (docs/semantics.md §3.7; specs/emu_fmap_decay.mlir,
// emu_fmap_twopass_vector.mlir, emu_step_fmap.mlir) on the host emulator:
// the fused chunk kernel (phi(x) = (elu(w[h, d] x) + 1) (1 + (t mod 5) / 8),
// w an f32 extra), the two-pass form under GLA's vector gates (phi(x) =
// tanh(2 x), mapped before the gates' in-place scan) and the step kernel
// of mLSTMsig (the fused spec's map), against the float64 step-by-step
// reference with the same map written here. w is a strided view whose
// padding is NaN (a read outside [H, Dk] shows), T is ragged, the outputs
// poisoned.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_fmap_decay.cu"
#include "emu_fmap_twopass_vector.cu"
#include "emu_step_fmap.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/Bf16.h"
#include "reference/ErrorScale.h"
#include "reference/Recurrence.h"

#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace emu_test;
using namespace linear_emu;

/// The temperature table w [H, Dk] in a buffer of [H, Dk + kPadCols], the
/// padding NaN.
struct Temperatures {
  static constexpr int64_t kPadCols = 8;
  int64_t heads, cols;
  DeviceVec<float> mem;
  std::vector<double> values;  // [H, Dk], what the reference reads
  Temperatures(int64_t heads, int64_t cols, uint32_t seed)
      : heads(heads), cols(cols), mem(size_t(heads * (cols + kPadCols)), false),
        values(size_t(heads * cols)) {
    for (auto& x : mem.v) x = NAN;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(0.25f, 2.0f);
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t d = 0; d < cols; ++d) {
        const float w = uniform(rng);
        mem[size_t(h * s(0) + d)] = w;
        values[size_t(h * cols + d)] = w;
      }
  }
  long long s(int i) const { return i == 0 ? cols + kPadCols : 1; }
  double at(int64_t h, int64_t d) const { return values[size_t(h * cols + d)]; }

  /// The specs' map: elu(w x) + 1, times the position factor.
  double phi(double x, int64_t h, int64_t t, int64_t d) const {
    const double y = at(h, d) * x;
    const double elu1 = y > 0 ? y + 1.0 : std::exp(y);
    return elu1 * (1.0 + double(t % 5) / 8.0);
  }
};

/// How a kernel keeps a mapped element: the chunk kernels round it to
/// bf16 in shared memory (docs/semantics.md §3.7), the step kernel keeps
/// it in f32.
enum class Mapped { Bf16, F32 };

/// The kernel's o against the float64 recurrence of `c` under `map` (its
/// results rounded as the kernel keeps them), in docs/semantics.md §5's
/// measure of the mapped inputs, within `tolerance`; within 1e-2 of the
/// recurrence under the exact map; and far from the unmapped recurrence
/// (a kernel that skipped the map fails).
///
/// The unmapped kernels' tolerance is 4e-3 (LinearEmuTest). A positive map
/// (elu + 1, exp) measures higher: every score is positive, so the
/// measure's scale (sums of |q~ . k| |v|) has none of the cancellation
/// random signs give it, while the bf16 rounding of the scores and of the
/// state copy stays the same (the fused spec with the signed map w x
/// (1 + (t mod 5) / 8) measured 2.4e-3, with elu(w x) + 1 5.9e-3).
constexpr double kSignedTolerance = 4e-3, kPositiveTolerance = 8e-3;

void check(const Case& c, const ref::LinearInputs<double>& in, const ref::LinearFeatureMap& map,
           const DevTensor<bf16>& o, Mapped kept, double tolerance, const RowNormBuffer* norm = nullptr) {
  ref::LinearProblem exact;
  exact.gate = c.gate;
  exact.featureMap = map;
  ref::LinearProblem problem = exact;
  if (kept == Mapped::Bf16)
    problem.featureMap = [&](double x, int64_t b, int64_t h, int64_t t, int64_t d) {
      return ref::roundToBf16(double(float(map(x, b, h, t, d))));
    };
  const ref::Tensor<double> scale = ref::linearErrorScale(problem, in);
  const ref::Tensor<float> got = fromBf16(o, in.v.shape());
  const ref::LinearResult<double> want = ref::referenceRecurrence(problem, in);
  const double error = ref::scaledError(got, want.out, scale);
  const double exactError = ref::scaledError(got, ref::referenceRecurrence(exact, in).out, scale);
  std::printf("[linear-feature-map] %s B=%lld H=%lld T=%lld: output error %.3g (%.3g to the "
              "exact map)\n",
              ref::gateKindName(c.gate), (long long)c.batch, (long long)c.heads, (long long)c.steps,
              error, exactError);
  EXPECT_LT(error, tolerance);
  EXPECT_LT(exactError, 1e-2);
  // The mLSTM kinds' rows' normalisers, of the mapped q and k.
  if (norm) expectRowNorm(*norm, want.rowNorm, ref::gateKindName(c.gate));
  ref::LinearProblem plain;
  plain.gate = c.gate;
  EXPECT_GT(ref::scaledError(got, ref::referenceRecurrence(plain, in).out, scale), 0.1);
}

class LinearFeatureMapEmuTest : public EmuTest {};

TEST_F(LinearFeatureMapEmuTest, FusedDecayRaggedTwoValueTiles) {
  using namespace emu_fmap_decay_v0_k;
  const Case c{ref::GateKind::Decay, 2, 2, 150, 64, 64};
  const auto in = inputsFor(c);
  Temperatures w(c.heads, c.keyDim, 51);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> g(in.logDecay);
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_fmap_decay_v0,
              (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
              k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3),
              (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3),
              (const float*)w.mem.data(), w.s(0), w.s(1), int(c.batch), int(c.steps));
  check(c, in, [&](double x, int64_t, int64_t h, int64_t t, int64_t d) { return w.phi(x, h, t, d); }, o,
        Mapped::Bf16, kPositiveTolerance);
}

/// chunk_two_pass under vector gates: the states kernel maps k, the
/// outputs kernel q and k; the gates' scan reads the mapped tiles.
TEST_F(LinearFeatureMapEmuTest, TwoPassVectorGatesMapBeforeTheGates) {
  const Case c{ref::GateKind::Vector, 2, 1, 140, 64, 64, false, 9};
  const auto in = inputsFor(c);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> g(in.logDecay);
  const int64_t chunks = (c.steps + 63) / 64;
  DevTensor<float> sc({c.batch, c.heads, chunks + 1, c.keyDim, c.valueDim}, DevTensor<float>::kPoison);
  {
    using namespace emu_fmap_twopass_vector_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_fmap_twopass_vector_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)g.mem.data(),
                g.s(0), g.s(1), g.s(2), g.s(3), sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                int(c.batch), int(c.steps));
  }
  {
    using namespace emu_fmap_twopass_vector_v0_outputs_k;
    emu::launch(emu::Dim3{unsigned(chunks) * (64 / kTileDv), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_fmap_twopass_vector_v0_outputs, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(),
                v.s(0), v.s(1), v.s(2), v.s(3), (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), g.s(3),
                o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), (const float*)sc.mem.data(), sc.s(0), sc.s(1),
                sc.s(2), sc.s(3), sc.s(4), int(c.batch), int(c.steps));
  }
  check(c, in, [](double x, int64_t, int64_t, int64_t, int64_t) { return std::tanh(2.0 * x); }, o,
        Mapped::Bf16, kSignedTolerance);
}

/// The step kernel (decoding): one and five tokens, two value tiles; the
/// rows' normalisers not asked (null) at one token, asked at five.
TEST_F(LinearFeatureMapEmuTest, StepSigOneAndFiveTokens) {
  using namespace emu_step_fmap_v0_k;
  for (int64_t steps : {1, 5}) {
    const Case c{ref::GateKind::MlstmSig, 3, 2, steps, 64, 64, false, uint64_t(17 + steps)};
    const auto in = inputsFor(c);
    Temperatures w(c.heads, c.keyDim, uint32_t(53 + steps));
    DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
    DevTensor<float> i(in.inputGate), f(in.forgetGate);
    RowNormBuffer norm(c.batch, c.heads, c.steps, /*asked=*/steps == 5);
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_fmap_v0,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
                k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3),
                (const float*)i.mem.data(), i.s(0), i.s(1), i.s(2), (const float*)f.mem.data(), f.s(0), f.s(1),
                f.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), norm.ptr(), norm.s(0), norm.s(1), norm.s(2),
                norm.s(3), (const float*)w.mem.data(), w.s(0), w.s(1), int(c.batch), int(c.steps));
    check(c, in, [&](double x, int64_t, int64_t h, int64_t t, int64_t d) { return w.phi(x, h, t, d); }, o,
          Mapped::F32, kPositiveTolerance, &norm);
  }
}

}  // namespace
