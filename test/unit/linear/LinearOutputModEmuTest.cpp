//===- LinearOutputModEmuTest.cpp - a recurrence's output_mod on the emulator ===//
//
// The kernels the emitter prints for a flash.linear_attention with an
// output gate (specs/emu_gated_*.mlir, emu_step_gated.mlir: output_mod
// o * silu(gate[b, t, h, d]), the gate an f32 extra; docs/semantics.md
// §3.6) on the host emulator: the fused chunk kernel, the two-pass form's
// outputs kernel (after the mLSTMsig normaliser) and the step kernel,
// against the float64 step-by-step reference with the same rule written
// here. The gate is a strided view of a larger buffer whose padding is NaN
// (a read outside [B, T, H, Dv] shows), T is ragged, the outputs poisoned.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#include "emu_gated_decay.cu"
#include "emu_gated_twopass_sig.cu"
#include "emu_step_gated.cu"

#include "LinearEmuSupport.h"
#include "test_support.h"

#include "reference/ErrorScale.h"
#include "reference/Recurrence.h"

#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace emu_test;
using namespace linear_emu;

/// gate [B, T, H, Dv] in a buffer of [B, T + kPadRows, H, Dv + kPadCols],
/// the padding NaN.
struct Gate {
  static constexpr int64_t kPadRows = 3, kPadCols = 8;
  int64_t batch, steps, heads, cols;
  DeviceVec<float> mem;
  std::vector<double> values;  // [B, T, H, Dv], what the reference reads
  Gate(int64_t batch, int64_t steps, int64_t heads, int64_t cols, uint32_t seed)
      : batch(batch), steps(steps), heads(heads), cols(cols),
        mem(size_t(batch * (steps + kPadRows) * heads * (cols + kPadCols)), false),
        values(size_t(batch * steps * heads * cols)) {
    for (auto& x : mem.v) x = NAN;
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < steps; ++t)
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t d = 0; d < cols; ++d) {
            const float z = normal(rng);
            mem[size_t(b * s(0) + t * s(1) + h * s(2) + d)] = z;
            values[size_t(((b * steps + t) * heads + h) * cols + d)] = z;
          }
  }
  long long s(int i) const {
    const long long row = cols + kPadCols;
    return i == 3 ? 1 : i == 2 ? row : i == 1 ? heads * row : (steps + kPadRows) * heads * row;
  }
  double at(int64_t b, int64_t t, int64_t h, int64_t d) const {
    return values[size_t(((b * steps + t) * heads + h) * cols + d)];
  }
  static double silu(double z) { return z / (1.0 + std::exp(-z)); }
};

/// The float64 recurrence of `c` with the output gate, and the kernel's o
/// compared to it (docs/semantics.md §5's measure, each element's scale
/// times the gate's factor: the kernel's error before the gate is scaled
/// by it too). `norm`: the mLSTM kinds' rows' normalisers (the gate leaves
/// them as they are), against the reference's.
void check(const Case& c, const ref::LinearInputs<double>& in, const Gate& gate, const DevTensor<bf16>& o,
           const RowNormBuffer* norm = nullptr) {
  ref::LinearProblem problem;
  problem.gate = c.gate;
  ref::Tensor<double> scale = ref::linearErrorScale(problem, in);
  problem.outputMod = [&](double x, int64_t b, int64_t h, int64_t t, int64_t d) {
    return x * Gate::silu(gate.at(b, t, h, d));
  };
  const ref::LinearResult<double> want = ref::referenceRecurrence(problem, in);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t t = 0; t < c.steps; ++t)
        for (int64_t d = 0; d < c.valueDim; ++d)
          scale.data()[((b * c.heads + h) * c.steps + t) * c.valueDim + d] *=
              std::max(std::fabs(Gate::silu(gate.at(b, t, h, d))), 1e-3);
  const double error = ref::scaledError(fromBf16(o, in.v.shape()), want.out, scale);
  std::printf("[linear-output-mod] %s B=%lld H=%lld T=%lld: output error %.3g\n", ref::gateKindName(c.gate),
              (long long)c.batch, (long long)c.heads, (long long)c.steps, error);
  EXPECT_LT(error, 4e-3);
  if (norm) expectRowNorm(*norm, want.rowNorm, ref::gateKindName(c.gate));
  // The gate changed the outputs: a kernel that skipped it would not pass.
  ref::LinearProblem plain;
  plain.gate = c.gate;
  const ref::LinearResult<double> ungated = ref::referenceRecurrence(plain, in);
  EXPECT_GT(ref::scaledError(fromBf16(o, in.v.shape()), ungated.out, scale), 0.1);
}

class LinearOutputModEmuTest : public EmuTest {};

TEST_F(LinearOutputModEmuTest, FusedDecayRaggedTwoValueTiles) {
  using namespace emu_gated_decay_v0_k;
  const Case c{ref::GateKind::Decay, 2, 2, 150, 64, 64};
  const auto in = inputsFor(c);
  Gate gate(c.batch, c.steps, c.heads, c.valueDim, 41);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> g(in.logDecay);
  emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_gated_decay_v0,
              (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
              k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3),
              (const float*)g.mem.data(), g.s(0), g.s(1), g.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3),
              (const float*)gate.mem.data(), gate.s(0), gate.s(1), gate.s(2), gate.s(3), int(c.batch),
              int(c.steps));
  check(c, in, gate, o);
}

/// chunk_two_pass: the states kernel writes every boundary state, the
/// outputs kernel normalises and gates each chunk's rows.
TEST_F(LinearOutputModEmuTest, TwoPassSigAfterTheNormaliser) {
  const Case c{ref::GateKind::MlstmSig, 2, 1, 150, 64, 64, false, 5};
  const auto in = inputsFor(c);
  Gate gate(c.batch, c.steps, c.heads, c.valueDim, 42);
  DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
  DevTensor<float> i(in.inputGate), f(in.forgetGate);
  const int64_t chunks = (c.steps + 63) / 64;
  DevTensor<float> sc({c.batch, c.heads, chunks + 1, c.keyDim, c.valueDim}, DevTensor<float>::kPoison);
  DevTensor<float> sn({c.batch, c.heads, chunks + 1, c.keyDim}, DevTensor<float>::kPoison);
  RowNormBuffer norm(c.batch, c.heads, c.steps);
  {
    using namespace emu_gated_twopass_sig_v0_states_k;
    emu::launch(emu::Dim3{64 / kTileDv, 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_gated_twopass_sig_v0_states, (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2),
                k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3), (const float*)i.mem.data(),
                i.s(0), i.s(1), i.s(2), (const float*)f.mem.data(), f.s(0), f.s(1), f.s(2), sc.mem.data(),
                sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4), sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3),
                int(c.batch), int(c.steps));
  }
  {
    using namespace emu_gated_twopass_sig_v0_outputs_k;
    emu::launch(emu::Dim3{unsigned(chunks) * (64 / kTileDv), 1, unsigned(c.batch)}, kThreads, kSmemBytes,
                flashgen_emu_gated_twopass_sig_v0_outputs, (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2),
                q.s(3), (const bf16*)k.mem.data(), k.s(0), k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(),
                v.s(0), v.s(1), v.s(2), v.s(3), (const float*)i.mem.data(), i.s(0), i.s(1), i.s(2),
                (const float*)f.mem.data(), f.s(0), f.s(1), f.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3),
                norm.ptr(), norm.s(0), norm.s(1), norm.s(2), norm.s(3),
                (const float*)sc.mem.data(), sc.s(0), sc.s(1), sc.s(2), sc.s(3), sc.s(4),
                (const float*)sn.mem.data(), sn.s(0), sn.s(1), sn.s(2), sn.s(3), (const float*)gate.mem.data(),
                gate.s(0), gate.s(1), gate.s(2), gate.s(3), int(c.batch), int(c.steps));
  }
  check(c, in, gate, o, &norm);
}

/// The step kernel (decoding): one and a few tokens, two value tiles; the
/// rows' normalisers asked at one token, not (null) at five.
TEST_F(LinearOutputModEmuTest, StepSigOneAndFiveTokens) {
  using namespace emu_step_gated_v0_k;
  for (int64_t steps : {1, 5}) {
    const Case c{ref::GateKind::MlstmSig, 3, 2, steps, 64, 64, false, uint64_t(7 + steps)};
    const auto in = inputsFor(c);
    Gate gate(c.batch, c.steps, c.heads, c.valueDim, uint32_t(43 + steps));
    DevTensor<bf16> q(in.q), k(in.k), v(in.v), o(in.v.shape(), DevTensor<bf16>::kPoison);
    DevTensor<float> i(in.inputGate), f(in.forgetGate);
    RowNormBuffer norm(c.batch, c.heads, c.steps, /*asked=*/steps == 1);
    emu::launch(emu::Dim3{64 / kTileDv, 2, unsigned(c.batch)}, kThreads, kSmemBytes, flashgen_emu_step_gated_v0,
                (const bf16*)q.mem.data(), q.s(0), q.s(1), q.s(2), q.s(3), (const bf16*)k.mem.data(), k.s(0),
                k.s(1), k.s(2), k.s(3), (const bf16*)v.mem.data(), v.s(0), v.s(1), v.s(2), v.s(3),
                (const float*)i.mem.data(), i.s(0), i.s(1), i.s(2), (const float*)f.mem.data(), f.s(0), f.s(1),
                f.s(2), o.mem.data(), o.s(0), o.s(1), o.s(2), o.s(3), norm.ptr(), norm.s(0), norm.s(1), norm.s(2),
                norm.s(3), (const float*)gate.mem.data(), gate.s(0), gate.s(1), gate.s(2), gate.s(3), int(c.batch),
                int(c.steps));
    check(c, in, gate, o, &norm);
  }
}

}  // namespace
