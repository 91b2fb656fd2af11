//===- AttentionGradEmuTest.cpp - the gradient kernels on the emulator ----===//
//
// Runs the attention-gradient kernels the compiler writes for example specs
// (generated at build time by kernels/emit_scheduled_kernels.py with the
// scheduler's own schedule of each algorithm, sm_80 for flash2_grad and
// sm_90 for the wgmma kernels of flash3_grad; never committed) on the
// host emulator, launch by launch as the bundle does (prep, kv, then
// convert or dq), and checks dq, dk, dv against the float64 reference of
// reference/AttentionGrad.h given the same rounded o and lse: ragged N (not
// a tile multiple), N != M, GQA (dk, dv summed over a group), causal and
// sliding-window masks, softcap's score_mod derivative, the f32 atomics of
// flash2_grad and flash3_grad and the dq kernels of the deterministic
// forms. Outputs are
// poisoned with NaN first; global accesses outside the registered tensors
// abort the emulator. Only the first group of heads is launched (a smaller
// grid than the spec's) to keep the emulator fast.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"
#include "kernel_prelude.h"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "grad/grad_d64.cu"
#include "grad/grad_d64_split.cu"
#include "grad/grad_causal_gqa_det.cu"
#include "grad/grad_softcap_det.cu"
#include "grad/grad_window_det.cu"
#include "grad/grad_kv_cache_det.cu"
#include "grad/grad3_causal_gqa.cu"
#include "grad/grad3_softcap.cu"
#include "grad/grad3_kv_cache.cu"
#include "grad/grad3_d64.cu"
#include "grad/grad3_d64_det.cu"
#include "grad/grad3_d64_rows.cu"
#endif

#include "reference_tensors.h"

#include "reference/AttentionGrad.h"

#include <functional>
#include <limits>

#ifdef FLASHGEN_EMITTED_KERNEL_DIR
namespace {

using namespace emu_test;
using fg::bf16;
namespace ref = flashgen::reference;
using LL = long long;

/// The kernels of one emitted gradient (launch order) and their tiles.
struct GradKernels {
  int tileQ, tileK, prepThreads, kvThreads, lastThreads, kvSmem, lastSmem;
  bool atomic;
  // Every launch takes the bundle's tensors in the emitter's order
  // (AttentionGradEmitter.cpp, params()); these wrappers bind them.
  std::function<void(emu::Dim3, int)> prep, kv, last;
};

struct Case {
  int B, Hq, Hk, N, M, D;
  ref::AttentionProblem problem;
  ref::ScoreModGrad scoreGrad;
};

struct Buffers {
  Bf16Tensor q, k, v, o, dout, dq, dk, dv;
  DeviceVec<float> lse, delta, dq_accum;
  Buffers(const Case& c)
      : q(c.B, c.Hq, c.N, c.D, false), k(c.B, c.Hk, c.M, c.D, false), v(c.B, c.Hk, c.M, c.D, false),
        o(c.B, c.Hq, c.N, c.D, false), dout(c.B, c.Hq, c.N, c.D, false), dq(c.B, c.Hq, c.N, c.D, true),
        dk(c.B, c.Hk, c.M, c.D, true), dv(c.B, c.Hk, c.M, c.D, true), lse(size_t(c.B) * c.Hq * c.N, false),
        delta(size_t(c.B) * c.Hq * c.N, true), dq_accum(size_t(c.B) * c.Hq * blockedRows(c) * c.D, true) {}
  /// flash3_grad's blocked accumulator pads the rows to whole 16-row groups.
  static int blockedRows(const Case& c) { return (c.N + fg::kDqBlockRows - 1) / fg::kDqBlockRows * fg::kDqBlockRows; }
};

void check(const Case& c, const std::function<GradKernels(Buffers&)>& make) {
  Buffers t(c);
  std::mt19937 rng(c.N * 131 + c.M * 7 + c.D);
  fill_normal_bf16(t.q.mem, rng);
  fill_normal_bf16(t.k.mem, rng);
  fill_normal_bf16(t.v.mem, rng);
  fill_normal_bf16(t.dout.mem, rng);
  ref::Tensor<double> q = t.q.values(), k = t.k.values(), v = t.v.values(), dout = t.dout.values();
  // The forward's o (rounded to bf16) and lse (f32), as the kernel reads them.
  ref::AttentionResult fwd = ref::referenceAttention(c.problem, q, k, v);
  t.o.set(fwd.out);
  ref::Tensor<double> o = t.o.values();
  ref::Tensor<double> lse = fwd.logSumExp;
  for (size_t i = 0; i < lse.values().size(); ++i) {
    t.lse[i] = float(lse.values()[i]);
    lse.values()[i] = t.lse[i];
  }
  ref::AttentionGradResult want =
      ref::attentionGradGivenForward(c.problem, c.scoreGrad, q, k, v, o, lse, dout);

  for (Bf16Tensor* out : {&t.dq, &t.dk, &t.dv}) out->poison();
  for (auto& x : t.delta.v) x = std::numeric_limits<float>::quiet_NaN();
  for (auto& x : t.dq_accum.v) x = std::numeric_limits<float>::quiet_NaN();

  GradKernels g = make(t);
  const unsigned qTiles = unsigned((c.N + g.tileQ - 1) / g.tileQ);
  const unsigned kTiles = unsigned((c.M + g.tileK - 1) / g.tileK);
  g.prep(emu::Dim3{qTiles, unsigned(c.Hq), unsigned(c.B)}, g.prepThreads);
  g.kv(emu::Dim3{kTiles, unsigned(c.Hk), unsigned(c.B)}, g.kvThreads);
  g.last(emu::Dim3{qTiles, unsigned(c.Hq), unsigned(c.B)}, g.lastThreads);

  for (auto [name, got, expected] :
       {std::tuple<const char*, Bf16Tensor*, const ref::Tensor<double>*>{"dq", &t.dq, &want.dq},
        {"dk", &t.dk, &want.dk},
        {"dv", &t.dv, &want.dv}}) {
    size_t nans = 0;
    double rel = relError(*got, *expected, nans);
    EXPECT_EQ(nans, 0u) << name << ": elements left unwritten (NaN)";
    // bf16 inputs, P and dS rounded to bf16 for the tensor cores.
    EXPECT_LT(rel, 1e-2) << name;
    std::printf("[grad-emu] %s rel_err %.3e\n", name, rel);
  }
}

// One emitted kernel set: NAME's _backward_v0 kernels, the third one
// `convert` (flash2_grad) or `dq` (flash2_grad_deterministic).
#define FG_KERNEL(NAME, SUFFIX) flashgen_##NAME##_backward_v0_##SUFFIX
#define FG_NS(NAME, SUFFIX) NAME##_backward_v0_##SUFFIX##_k

#define FG_T4(x) x.mem.data(), x.s0(), x.s1(), x.s2(), 1LL
#define FG_LSE(t, c) t.lse.data(), LL(c.Hq) * c.N, LL(c.N), 1LL
#define FG_DELTA(t, c) t.delta.data(), LL(c.Hq) * c.N, LL(c.N), 1LL
#define FG_ACCUM(t, c) t.dq_accum.data(), LL(c.Hq) * c.N * c.D, LL(c.N) * c.D, LL(c.D), 1LL
// flash3_grad's blocked accumulator: [B, H, D / 64, N16, 64].
#define FG_ACCUM_BLOCKED(t, c)                                                                     \
  t.dq_accum.data(), LL(c.Hq) * Buffers::blockedRows(c) * c.D, LL(Buffers::blockedRows(c)) * c.D, \
      LL(Buffers::blockedRows(c)) * fg::kDqBlockCols, LL(fg::kDqBlockCols), 1LL

// The kernels of one emitted flash2_grad / flash3_grad set (prep clears the
// accumulator, kv adds dQ with atomics, convert scales it) and of one
// deterministic set (kv, then the dq kernel); the trailing arguments are
// the kernels' dims (B, N[, M]).
#define FG_GRAD_ATOMIC_WITH(ACCUM, NAME, ...)                                                                           \
  [&](Buffers& t) {                                                                                        \
    GradKernels g;                                                                                         \
    g.tileQ = FG_NS(NAME, kv)::kTileQ;                                                                     \
    g.tileK = FG_NS(NAME, kv)::kTileK;                                                                     \
    g.prepThreads = FG_NS(NAME, prep)::kThreads;                                                           \
    g.kvThreads = FG_NS(NAME, kv)::kThreads;                                                               \
    g.lastThreads = FG_NS(NAME, convert)::kThreads;                                                        \
    g.prep = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, 0, FG_KERNEL(NAME, prep), FG_T4(t.o), FG_T4(t.dout), FG_DELTA(t, c),      \
                  ACCUM(t, c), __VA_ARGS__);                                                            \
    };                                                                                                     \
    g.kv = [&](emu::Dim3 grid, int threads) {                                                              \
      emu::launch(grid, threads, FG_NS(NAME, kv)::kSmemBytes, FG_KERNEL(NAME, kv), FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dk), FG_T4(t.dv), FG_DELTA(t, c),       \
                  ACCUM(t, c), __VA_ARGS__);                                                            \
    };                                                                                                     \
    g.last = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, 0, FG_KERNEL(NAME, convert), FG_T4(t.dq), ACCUM(t, c), __VA_ARGS__);   \
    };                                                                                                     \
    return g;                                                                                              \
  }
#define FG_GRAD_ATOMIC(NAME, ...) FG_GRAD_ATOMIC_WITH(FG_ACCUM, NAME, __VA_ARGS__)
#define FG_GRAD_ATOMIC_BLOCKED(NAME, ...) FG_GRAD_ATOMIC_WITH(FG_ACCUM_BLOCKED, NAME, __VA_ARGS__)
#define FG_GRAD_DET(NAME, ...)                                                                              \
  [&](Buffers& t) {                                                                                        \
    GradKernels g;                                                                                         \
    g.tileQ = FG_NS(NAME, kv)::kTileQ;                                                                     \
    g.tileK = FG_NS(NAME, kv)::kTileK;                                                                     \
    g.prepThreads = FG_NS(NAME, prep)::kThreads;                                                           \
    g.kvThreads = FG_NS(NAME, kv)::kThreads;                                                               \
    g.lastThreads = FG_NS(NAME, dq)::kThreads;                                                             \
    g.prep = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, 0, FG_KERNEL(NAME, prep), FG_T4(t.o), FG_T4(t.dout), FG_DELTA(t, c),      \
                  __VA_ARGS__);                                                                            \
    };                                                                                                     \
    g.kv = [&](emu::Dim3 grid, int threads) {                                                              \
      emu::launch(grid, threads, FG_NS(NAME, kv)::kSmemBytes, FG_KERNEL(NAME, kv), FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dk), FG_T4(t.dv), FG_DELTA(t, c),       \
                  __VA_ARGS__);                                                                            \
    };                                                                                                     \
    g.last = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, FG_NS(NAME, dq)::kSmemBytes, FG_KERNEL(NAME, dq), FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dq), FG_DELTA(t, c), __VA_ARGS__);      \
    };                                                                                                     \
    return g;                                                                                              \
  }

Case causalGqa() {
  Case c{1, 4, 1, 70, 70, 128, {}, {}};  // GQA 32/8: one group, ragged N
  c.problem.mask = ref::MaskKind::Causal;
  return c;
}

Case softcap() {
  Case c{2, 2, 2, 45, 45, 128, {}, ref::softcapScoreModGrad(30.0)};
  c.problem.scoreMod = ref::softcapScoreMod(30.0);
  return c;
}

// Sliding window 256 over 300 rows: query tiles a key tile sees from both
// sides of the band, interior tiles unmasked.
Case slidingWindow() {
  Case c{1, 1, 1, 300, 300, 128, {}, {}};
  c.problem.mask = ref::MaskKind::SlidingWindow;
  c.problem.window = 256;
  return c;
}

// A KV-cache prefill: N = 37 new queries against M = 130 keys, causal
// bottom-right; key tiles before the first query's diagonal are seen by
// every row. GQA 16/2: one group.
Case kvCache() {
  Case c{1, 8, 1, 37, 130, 128, {}, {}};
  c.problem.mask = ref::MaskKind::Causal;
  return c;
}

}  // namespace

class AttentionGradEmuTest : public EmuTest {};

// ---- flash2_grad, flash2_grad_deterministic (mma.sync) ----------------------

// flash2_grad: prep clears the accumulator, kv adds dQ with atomics, convert
// scales it (D = 64: at D = 128 flash2_grad has no register fit).
TEST_F(AttentionGradEmuTest, HeadDim64AtomicDq) {
  Case c{1, 2, 2, 100, 100, 64, {}, {}};
  check(c, FG_GRAD_ATOMIC(grad_d64, c.B, c.N));
}

// 32 query rows over 4 warps (a forced schedule): the dQ step splits into
// 2 row groups of 16 x 2 column halves of 32.
TEST_F(AttentionGradEmuTest, HeadDim64DqSplitOverColumns) {
  Case c{1, 2, 2, 100, 100, 64, {}, {}};
  static_assert(FG_NS(grad_d64_split, kv)::kDqColWarps == 2, "the column split is exercised");
  check(c, FG_GRAD_ATOMIC(grad_d64_split, c.B, c.N));
}

// flash2_grad_deterministic: dQ by the dq kernel, no atomics.
TEST_F(AttentionGradEmuTest, CausalGqaDeterministic) {
  Case c = causalGqa();
  check(c, FG_GRAD_DET(grad_causal_gqa_det, c.B, c.N));
}

// softcap: dS carries d(30 tanh(s / 30)) / ds, evaluated at the raw score.
TEST_F(AttentionGradEmuTest, SoftcapScoreGradDeterministic) {
  Case c = softcap();
  check(c, FG_GRAD_DET(grad_softcap_det, c.B, c.N));
}

TEST_F(AttentionGradEmuTest, SlidingWindowDeterministic) {
  Case c = slidingWindow();
  check(c, FG_GRAD_DET(grad_window_det, c.B, c.N));
}

TEST_F(AttentionGradEmuTest, KvCacheFewerQueriesThanKeysDeterministic) {
  Case c = kvCache();
  check(c, FG_GRAD_DET(grad_kv_cache_det, c.B, c.N, c.M));
}

// ---- flash3_grad, flash3_grad_deterministic (wgmma) -------------------------
// The same cases through the warpgroup kernels (sm_90 schedules); the
// emulator checks wgmma's operands landed and its accumulators are not
// touched in flight.

TEST_F(AttentionGradEmuTest, Wgmma_CausalGqaAtomicDq) {
  Case c = causalGqa();
  static_assert(FG_NS(grad3_causal_gqa, kv)::kWarpRows == 16, "a warpgroup kernel");
  check(c, FG_GRAD_ATOMIC_BLOCKED(grad3_causal_gqa, c.B, c.N));
}

TEST_F(AttentionGradEmuTest, Wgmma_SoftcapScoreGrad) {
  Case c = softcap();
  check(c, FG_GRAD_ATOMIC_BLOCKED(grad3_softcap, c.B, c.N));
}

TEST_F(AttentionGradEmuTest, Wgmma_KvCacheFewerQueriesThanKeys) {
  Case c = kvCache();
  check(c, FG_GRAD_ATOMIC_BLOCKED(grad3_kv_cache, c.B, c.N, c.M));
}

// Head dim 64 with one warpgroup (a forced schedule: tile_q 64, tile_kv 64,
// 4 warps): dQ = dS K is one 64 x 64 wgmma tile.
TEST_F(AttentionGradEmuTest, Wgmma_HeadDim64OneWarpgroup) {
  Case c{1, 2, 2, 100, 100, 64, {}, {}};
  static_assert(FG_NS(grad3_d64, kv)::kWarps == 4, "one warpgroup");
  check(c, FG_GRAD_ATOMIC_BLOCKED(grad3_d64, c.B, c.N));
}

// Two warpgroups at head dim 64 (tile_q 128, tile_kv 128, 8 warps): each
// computes dQ for its own 64-row block of the query tile, all 64 columns;
// 300 rows leave a ragged last query tile and key tile.
TEST_F(AttentionGradEmuTest, Wgmma_HeadDim64DqRowBlocks) {
  Case c{2, 2, 2, 300, 300, 64, {}, {}};
  static_assert(FG_NS(grad3_d64_rows, kv)::kDqRowBlocks == 2 &&
                    FG_NS(grad3_d64_rows, kv)::kDqColSplit == 1,
                "dQ split by rows");
  check(c, FG_GRAD_ATOMIC_BLOCKED(grad3_d64_rows, c.B, c.N));
}

// flash3_grad_deterministic: the dq kernel's warpgroups own 64 query rows
// of S, dP and dQ (dQ += dS K with dS from registers).
TEST_F(AttentionGradEmuTest, Wgmma_HeadDim64Deterministic) {
  Case c{1, 2, 2, 100, 100, 64, {}, {}};
  check(c, FG_GRAD_DET(grad3_d64_det, c.B, c.N));
}
#endif  // FLASHGEN_EMITTED_KERNEL_DIR
