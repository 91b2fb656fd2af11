//===- AttentionDSplitEmuTest.cpp - the small-cache kernel on the emulator ===//
//
// Runs the small-cache kernels the compiler writes for the head-dim 512
// and MLA (576/512) benchmark specs (generated at build time by
// kernels/emit_scheduled_kernels.py: the scheduler's best flash2_dsplit
// schedules for sm_80 and flash3_dsplit schedules for sm_90, every one a
// variant; never committed) on the host emulator (the wgmma model of
// emu/wgmma_emulation.h for the warpgroup form), and checks
// o and the rows' log-sum-exp against reference/'s float64 attention:
// ragged N (not a tile multiple, so zero-filled Q and K rows in the last
// chunks), batch > 1, causal and not, one key/value head shared by a
// group of query heads, D != Dv (MLA's nine 64-column chunks of Q and K,
// two 256-column value slices per query tile). Outputs are poisoned with
// NaN first; global accesses outside q, k, v, o, lse abort the emulator.
// Only the first query heads are launched (a smaller grid than the spec's)
// to keep the emulator fast.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"
#include "kernel_prelude.h"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "dsplit/dsplit_d512.cu"
#include "dsplit/dsplit_d512_causal.cu"
#include "dsplit/dsplit_mla.cu"
#include "dsplit/dsplit3_d512.cu"
#include "dsplit/dsplit3_d512_causal.cu"
#include "dsplit/dsplit3_mla.cu"
#endif

#include "reference_tensors.h"

#include "reference/Attention.h"

#include <functional>
#include <limits>

#ifdef FLASHGEN_EMITTED_KERNEL_DIR
namespace {

using namespace emu_test;
namespace ref = flashgen::reference;
using LL = long long;

struct Case {
  int B, Hq, Hk, N, D, Dv;
  ref::MaskKind mask;
};

/// One emitted kernel: its tiles and a launch binding the case's tensors
/// in the emitter's order (q, k, v, o with four strides each, lse with
/// three, then the dims B, N).
struct Kernel {
  int tileQ, slices, threads, smem;
  std::function<void(emu::Dim3, Bf16Tensor&, Bf16Tensor&, Bf16Tensor&, Bf16Tensor&, DeviceVec<float>&)> launch;
};

void check(const Case& c, const Kernel& kernel) {
  Bf16Tensor q(c.B, c.Hq, c.N, c.D, false), k(c.B, c.Hk, c.N, c.D, false), v(c.B, c.Hk, c.N, c.Dv, false);
  Bf16Tensor o(c.B, c.Hq, c.N, c.Dv, true);
  DeviceVec<float> lse(size_t(c.B) * c.Hq * c.N, true);
  std::mt19937 rng(c.N * 131 + c.D * 7 + c.Hq);
  // Scores of several units (q's scale), so the rows' maxima move across
  // key tiles and the online softmax rescales a nonzero O.
  fill_normal_bf16(q.mem, rng, 3.0f);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  o.poison();
  for (auto& x : lse.v) x = std::numeric_limits<float>::quiet_NaN();

  ref::AttentionProblem problem;
  problem.mask = c.mask;
  ref::AttentionResult want = ref::referenceAttention(problem, q.values(), k.values(), v.values());

  const unsigned queryTiles = unsigned((c.N + kernel.tileQ - 1) / kernel.tileQ);
  kernel.launch(emu::Dim3{queryTiles * unsigned(kernel.slices), unsigned(c.Hq), unsigned(c.B)}, q, k, v, o, lse);
  emu_wgmma::check_and_reset();

  size_t nans = 0;
  const double rel = relError(o, want.out, nans);
  EXPECT_EQ(nans, 0u) << "o: elements left unwritten (NaN)";
  // bf16 inputs, P rounded to bf16 for the tensor cores.
  EXPECT_LT(rel, 1e-2) << "o";
  double lseErr = 0;
  size_t lseNans = 0;
  for (size_t i = 0; i < lse.size(); ++i) {
    if (std::isnan(lse[i])) {
      ++lseNans;
      continue;
    }
    lseErr = std::max(lseErr, std::fabs(lse[i] - want.logSumExp.values()[i]) /
                                  (1.0 + std::fabs(want.logSumExp.values()[i])));
  }
  EXPECT_EQ(lseNans, 0u) << "lse: rows left unwritten (NaN)";
  EXPECT_LT(lseErr, 1e-4) << "lse";
  std::printf("[dsplit-emu] o rel_err %.3e, lse max rel err %.3e\n", rel, lseErr);
}

#define FG_T4(x) x.mem.data(), x.s0(), x.s1(), x.s2(), 1LL
#define FG_DSPLIT(NAME)                                                                                 \
  Kernel {                                                                                              \
    NAME##_k::kTileQ, NAME##_k::kValueSlices, NAME##_k::kThreads, NAME##_k::kSmemBytes,                 \
        [](emu::Dim3 grid, Bf16Tensor& q, Bf16Tensor& k, Bf16Tensor& v, Bf16Tensor& o,                  \
           DeviceVec<float>& lse) {                                                                     \
          emu::launch(grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, flashgen_##NAME, FG_T4(q),        \
                      FG_T4(k), FG_T4(v), FG_T4(o), lse.data(), LL(o.H) * o.S, LL(o.S), 1LL, o.B, o.S); \
        }                                                                                               \
  }

using AttentionDSplitEmuTest = EmuTest;

// The scheduler's ranked schedules (variants _v0 ...: chunks of 32 to 128
// columns, rings of 2 to 4 stages, one or two warpgroups, two or four
// value slices), each at another ragged size. d = 512, not causal:
TEST_F(AttentionDSplitEmuTest, D512FirstChoice) {
  check({2, 1, 1, 100, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit_d512_v0));
}
TEST_F(AttentionDSplitEmuTest, D512SecondChoice) {
  check({1, 2, 2, 150, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit_d512_v1));
}
TEST_F(AttentionDSplitEmuTest, D512ThirdChoice) {
  check({1, 1, 1, 70, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit_d512_v2));
}
TEST_F(AttentionDSplitEmuTest, D512FourthChoice) {
  check({1, 1, 1, 200, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit_d512_v3));
}
// Causal: masked diagonal tiles, key tiles past the diagonal skipped.
TEST_F(AttentionDSplitEmuTest, D512CausalFirstChoice) {
  check({2, 1, 1, 190, 512, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit_d512_causal_v0));
}
TEST_F(AttentionDSplitEmuTest, D512CausalSecondChoice) {
  check({1, 1, 1, 130, 512, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit_d512_causal_v1));
}
// MLA prefill: 576-wide q and k (nine chunks), 512-wide v, two query heads
// of the group that shares the single key/value head.
TEST_F(AttentionDSplitEmuTest, MlaCausalFirstChoice) {
  check({1, 2, 1, 90, 576, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit_mla_v0));
}
TEST_F(AttentionDSplitEmuTest, MlaCausalSecondChoice) {
  check({2, 1, 1, 140, 576, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit_mla_v1));
}

// The warpgroup form: S accumulated chunk by chunk with wgmma from the
// swizzled rings, O += P V from registers, warpgroups of 64 rows.
TEST_F(AttentionDSplitEmuTest, Wgmma512FirstChoice) {
  check({2, 1, 1, 100, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit3_d512_v0));
}
TEST_F(AttentionDSplitEmuTest, Wgmma512SecondChoice) {
  check({1, 1, 1, 150, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit3_d512_v1));
}
TEST_F(AttentionDSplitEmuTest, Wgmma512ThirdChoice) {
  check({1, 2, 2, 90, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit3_d512_v2));
}
TEST_F(AttentionDSplitEmuTest, Wgmma512FourthChoice) {
  check({1, 1, 1, 200, 512, 512, ref::MaskKind::None}, FG_DSPLIT(dsplit3_d512_v3));
}
TEST_F(AttentionDSplitEmuTest, Wgmma512CausalFirstChoice) {
  check({2, 1, 1, 190, 512, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit3_d512_causal_v0));
}
TEST_F(AttentionDSplitEmuTest, Wgmma512CausalSecondChoice) {
  check({1, 1, 1, 130, 512, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit3_d512_causal_v1));
}
TEST_F(AttentionDSplitEmuTest, WgmmaMlaCausalFirstChoice) {
  check({1, 2, 1, 90, 576, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit3_mla_v0));
}
TEST_F(AttentionDSplitEmuTest, WgmmaMlaCausalSecondChoice) {
  check({2, 1, 1, 140, 576, 512, ref::MaskKind::Causal}, FG_DSPLIT(dsplit3_mla_v1));
}

}  // namespace
#endif
