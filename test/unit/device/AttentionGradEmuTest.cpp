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
#include "grad/grad3_block_sparse.cu"
#include "grad/grad3_block_sparse_det.cu"
#include "grad/grad_block_sparse_mask_mod_det.cu"
#include "grad/grad3_document.cu"
#include "grad/grad3_document_det.cu"
#include "grad/grad3_d256.cu"
#include "grad/grad3_mla192.cu"
#endif

#include "reference_tensors.h"

#include "reference/AttentionGrad.h"
#include "reference/BlockMask.h"

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
  // (AttentionGradEmitter.cpp, params()); these wrappers bind them. kv2:
  // the second half of a split kv kernel (kv_dv, then kv_dk), else empty.
  std::function<void(emu::Dim3, int)> prep, kv, kv2, last;
};

struct Case {
  int B, Hq, Hk, N, M, D;
  ref::AttentionProblem problem;
  ref::ScoreModGrad scoreGrad;
  int Dv = 0;  // 0: D
  int valueDim() const { return Dv ? Dv : D; }
};

struct Buffers {
  Bf16Tensor q, k, v, o, dout, dq, dk, dv;
  DeviceVec<float> lse, delta, dq_accum;
  Buffers(const Case& c)
      : q(c.B, c.Hq, c.N, c.D, false), k(c.B, c.Hk, c.M, c.D, false), v(c.B, c.Hk, c.M, c.valueDim(), false),
        o(c.B, c.Hq, c.N, c.valueDim(), false), dout(c.B, c.Hq, c.N, c.valueDim(), false),
        dq(c.B, c.Hq, c.N, c.D, true), dk(c.B, c.Hk, c.M, c.D, true), dv(c.B, c.Hk, c.M, c.valueDim(), true),
        lse(size_t(c.B) * c.Hq * c.N, false),
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
  if (g.kv2) g.kv2(emu::Dim3{kTiles, unsigned(c.Hk), unsigned(c.B)}, g.kvThreads);
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

// The warpgroup kv kernels' ring copies with TMA where the runtime encodes
// tensor maps; the emulator passes zero maps (its cp.async copies).
#define FG_RING_MAPS fg::tensor_map{}, fg::tensor_map{},

// The kernels of one emitted flash2_grad / flash3_grad set (prep clears the
// accumulator, kv adds dQ with atomics, convert scales it) and of one
// deterministic set (kv, then the dq kernel); the trailing arguments are
// the kernels' dims (B, N[, M]).
#define FG_GRAD_ATOMIC_WITH(ACCUM, NAME, KV, KV_MAPS, KV_LISTS, ...)                                                               \
  [&](Buffers& t) {                                                                                        \
    GradKernels g;                                                                                         \
    g.tileQ = FG_NS(NAME, KV)::kTileQ;                                                                     \
    g.tileK = FG_NS(NAME, KV)::kTileK;                                                                     \
    g.prepThreads = FG_NS(NAME, prep)::kThreads;                                                           \
    g.kvThreads = FG_NS(NAME, KV)::kThreads;                                                               \
    g.lastThreads = FG_NS(NAME, convert)::kThreads;                                                        \
    g.prep = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, 0, FG_KERNEL(NAME, prep), FG_T4(t.o), FG_T4(t.dout), FG_DELTA(t, c),      \
                  ACCUM(t, c), __VA_ARGS__);                                                            \
    };                                                                                                     \
    g.kv = [&](emu::Dim3 grid, int threads) {                                                              \
      emu::launch(grid, threads, FG_NS(NAME, KV)::kSmemBytes, FG_KERNEL(NAME, KV), KV_MAPS FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dk), FG_T4(t.dv), FG_DELTA(t, c),       \
                  ACCUM(t, c), KV_LISTS __VA_ARGS__);                                                   \
    };                                                                                                     \
    g.last = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, 0, FG_KERNEL(NAME, convert), FG_T4(t.dq), ACCUM(t, c), __VA_ARGS__);   \
    };                                                                                                     \
    return g;                                                                                              \
  }
#define FG_GRAD_ATOMIC(NAME, ...) FG_GRAD_ATOMIC_WITH(FG_ACCUM, NAME, kv, , , __VA_ARGS__)
#define FG_GRAD_ATOMIC_BLOCKED(NAME, ...) FG_GRAD_ATOMIC_WITH(FG_ACCUM_BLOCKED, NAME, kv, FG_RING_MAPS, , __VA_ARGS__)
// Under a block mask the kv kernel also takes the transposed lists.
#define FG_GRAD_ATOMIC_BLOCKED_LISTS(NAME, ...) \
  FG_GRAD_ATOMIC_WITH(FG_ACCUM_BLOCKED, NAME, kv, FG_RING_MAPS, FG_Q_LISTS(lists), __VA_ARGS__)
// Head dims past 128: the kv kernel split in two (schedule::gradSplitsKv),
// kv_dv (no dQ) and then kv_dk (dK and flash3_grad's dQ step).
#define FG_GRAD_ATOMIC_SPLIT(NAME, ...)                                                                     \
  [&](Buffers& t) {                                                                                        \
    GradKernels g = FG_GRAD_ATOMIC_WITH(FG_ACCUM_BLOCKED, NAME, kv_dk, FG_RING_MAPS, , __VA_ARGS__)(t);    \
    g.kv2 = g.kv;                                                                                          \
    g.kv = [&](emu::Dim3 grid, int threads) {                                                              \
      emu::launch(grid, threads, FG_NS(NAME, kv_dv)::kSmemBytes, FG_KERNEL(NAME, kv_dv), FG_RING_MAPS      \
                  FG_T4(t.q), FG_T4(t.k), FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dk), FG_T4(t.dv), \
                  FG_DELTA(t, c), __VA_ARGS__);                                                            \
    };                                                                                                     \
    return g;                                                                                              \
  }
#define FG_GRAD_DET(NAME, ...) FG_GRAD_DET_WITH(NAME, , , , __VA_ARGS__)
// flash3_grad_deterministic: its kv and dq kernels' rings on TMA (zero maps here).
#define FG_GRAD3_DET(NAME, ...) FG_GRAD_DET_WITH(NAME, FG_RING_MAPS, , , __VA_ARGS__)
// ... and the dq kernel the kv lists.
#define FG_GRAD_DET_LISTS(NAME, ...) \
  FG_GRAD_DET_WITH(NAME, , FG_Q_LISTS(lists), FG_KV_LISTS(lists), __VA_ARGS__)
#define FG_GRAD3_DET_LISTS(NAME, ...) \
  FG_GRAD_DET_WITH(NAME, FG_RING_MAPS, FG_Q_LISTS(lists), FG_KV_LISTS(lists), __VA_ARGS__)
#define FG_GRAD_DET_WITH(NAME, KV_MAPS, KV_LISTS, DQ_LISTS, ...)                                                  \
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
      emu::launch(grid, threads, FG_NS(NAME, kv)::kSmemBytes, FG_KERNEL(NAME, kv), KV_MAPS FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dk), FG_T4(t.dv), FG_DELTA(t, c),       \
                  KV_LISTS __VA_ARGS__);                                                                   \
    };                                                                                                     \
    g.last = [&](emu::Dim3 grid, int threads) {                                                            \
      emu::launch(grid, threads, FG_NS(NAME, dq)::kSmemBytes, FG_KERNEL(NAME, dq), KV_MAPS FG_T4(t.q), FG_T4(t.k), \
                  FG_T4(t.v), FG_T4(t.dout), FG_LSE(t, c), FG_T4(t.dq), FG_DELTA(t, c),                    \
                  DQ_LISTS __VA_ARGS__);                                                                   \
    };                                                                                                     \
    return g;                                                                                              \
  }

/// A block mask's lists as the kernels take them: contiguous i32 with their
/// strides, the kv lists (the dq kernel's) and their transposes (the kv
/// kernel's), each pair's full lists after it.
struct ListBuffers {
  struct List {
    DeviceVec<int> mem;
    std::vector<long long> strides;
    explicit List(const ref::Tensor<int32_t>& t) : mem(t.values().size(), false) {
      std::copy(t.values().begin(), t.values().end(), mem.v.begin());
      long long stride = 1;
      strides.assign(t.shape().size(), 1);
      for (size_t d = t.shape().size(); d-- > 0;) {
        strides[d] = stride;
        stride *= t.shape()[d];
      }
    }
  };
  List count, index, fullCount, fullIndex, qCount, qIndex, fullQCount, fullQIndex;
  ListBuffers(const ref::BlockMask& m, const ref::TransposedBlockLists& t)
      : count(m.counts), index(m.indices), fullCount(m.fullCounts), fullIndex(m.fullIndices),
        qCount(t.counts), qIndex(t.indices), fullQCount(t.fullCounts), fullQIndex(t.fullIndices) {}
  /// A mask_lists pre-pass's workspace, every entry poisoned (-7): the kv
  /// lists [B, 1, QT(, KT)] and their transposes [B, 1, KT(, QT)] of a
  /// mask_mod that reads no head.
  ListBuffers(int B, int queryTiles, int keyTiles)
      : count(poisoned({B, 1, queryTiles})), index(poisoned({B, 1, queryTiles, keyTiles})),
        fullCount(poisoned({B, 1, queryTiles})), fullIndex(poisoned({B, 1, queryTiles, keyTiles})),
        qCount(poisoned({B, 1, keyTiles})), qIndex(poisoned({B, 1, keyTiles, queryTiles})),
        fullQCount(poisoned({B, 1, keyTiles})), fullQIndex(poisoned({B, 1, keyTiles, queryTiles})) {}
  static ref::Tensor<int32_t> poisoned(ref::Shape shape) {
    ref::Tensor<int32_t> t(shape);
    std::fill(t.values().begin(), t.values().end(), -7);
    return t;
  }
};
#define FG_L3(x) (const int*)x.mem.data(), x.strides[0], x.strides[1], x.strides[2]
#define FG_L4(x) FG_L3(x), x.strides[3]
#define FG_KV_LISTS(l) FG_L3(l.count), FG_L4(l.index), FG_L3(l.fullCount), FG_L4(l.fullIndex),
#define FG_Q_LISTS(l) FG_L3(l.qCount), FG_L4(l.qIndex), FG_L3(l.fullQCount), FG_L4(l.fullQIndex),
// The same lists as a pre-pass writes them.
#define FG_W3(x) x.mem.data(), x.strides[0], x.strides[1], x.strides[2]
#define FG_W4(x) FG_W3(x), x.strides[3]
#define FG_KV_LISTS_OUT(l) FG_W3(l.count), FG_W4(l.index), FG_W3(l.fullCount), FG_W4(l.fullIndex),
#define FG_Q_LISTS_OUT(l) FG_W3(l.qCount), FG_W4(l.qIndex), FG_W3(l.fullQCount), FG_W4(l.fullQIndex),

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
  check(c, FG_GRAD3_DET(grad3_d64_det, c.B, c.N));
}
// ---- head dims past 128: the kv kernel split into kv_dv and kv_dk ----------

// D = 256 (bench/attention/specs/mha_d256.mlir): kv_dv holds dV (S, P,
// dV += P^T dO), kv_dk dK and the dQ step (S, dP, dS); ragged N, two
// heads, batch 2.
TEST_F(AttentionGradEmuTest, Wgmma_HeadDim256SplitKv) {
  Case c{2, 2, 2, 100, 100, 256, {}, {}};
  static_assert(FG_NS(grad3_d256, kv_dk)::kHeadDim == 256, "head dim 256");
  check(c, FG_GRAD_ATOMIC_SPLIT(grad3_d256, c.B, c.N));
}

// MLA's expanded prefill: D = 192 (three 64-column slabs), Dv = 128,
// causal, 16 heads of which two are launched; N a tile and a half.
TEST_F(AttentionGradEmuTest, Wgmma_Mla192x128SplitKv) {
  Case c{1, 2, 2, 96, 96, 192, {}, {}};
  c.Dv = 128;
  c.problem.mask = ref::MaskKind::Causal;
  static_assert(FG_NS(grad3_mla192, kv_dk)::kHeadDim == 192 &&
                    FG_NS(grad3_mla192, kv_dk)::kValueDim == 128,
                "D != Dv");
  check(c, FG_GRAD_ATOMIC_SPLIT(grad3_mla192, c.B, c.N));
}

// ---- block-sparse (flash.block_mask) ---------------------------------------
// The reference's lists (reference/BlockMask.h: random subsets in random
// order, a query block listing nothing and one listing every block,
// out-of-range entries inside and past the counts) and their transposes;
// the kv kernel walks each query head's transposed lists, the dq kernel
// the kv lists. 300 rows: a ragged last block. The lists hold the launched
// group's heads (the spec's type may say more: the kernels clamp a head
// index into that and read these strides).
/// `fullHeads`: the full lists' heads, Hq or 1 (0: Hq).
Case blockSparse(ref::BlockMask& lists, int Hq, int D, int queryBlock, int keyBlock, bool causal, int N = 300,
                 int M = 300, int fullHeads = 0) {
  Case c{1, Hq, 1, N, M, D, {}, {}};
  if (causal) c.problem.mask = ref::MaskKind::Causal;
  lists = ref::drawBlockMask(ref::BlockListDims{c.B, Hq}, ref::BlockListDims{c.B, fullHeads ? fullHeads : Hq}, c.N,
                             c.M, queryBlock, keyBlock, /*seed=*/0x5eed);
  c.problem.blockMask = lists;
  return c;
}

// kernels/block_sparse_d64.mlir: GQA 4/2, 128 x 64 blocks, no mask kind.
TEST_F(AttentionGradEmuTest, Wgmma_BlockSparseAtomicDq) {
  ref::BlockMask mask;
  Case c = blockSparse(mask, 2, 64, 128, 64, false);
  ListBuffers lists(mask, ref::transposeBlockMask(mask));
  check(c, FG_GRAD_ATOMIC_BLOCKED_LISTS(grad3_block_sparse, c.B, c.N));
}

// examples/block_sparse.mlir: causal GQA 16/4 under 128 x 128 blocks;
// tile_kv = 64: two key tiles per listed block.
TEST_F(AttentionGradEmuTest, Wgmma_BlockSparseDeterministicHalfBlocks) {
  ref::BlockMask mask;
  Case c = blockSparse(mask, 4, 128, 128, 128, true);
  ListBuffers lists(mask, ref::transposeBlockMask(mask));
  static_assert(FG_NS(grad3_block_sparse_det, kv)::kTileK == 64, "half-block key tiles");
  check(c, FG_GRAD3_DET_LISTS(grad3_block_sparse_det, c.B, c.N));
}
// kernels/block_sparse_mask_mod.mlir: GQA 8/2 under 32 x 64 blocks and a
// mask_mod hiding every third key, which the partial blocks' tiles apply
// and the full blocks' skip (flash2_grad_deterministic, mma.sync); N != M;
// the partial lists per head (the spec's [1, 8, ..]), the full ones one
// head's ([B, 1, ..]: the kernels read head 0 for every head).
TEST_F(AttentionGradEmuTest, BlockSparseMaskModDeterministic) {
  ref::BlockMask mask;
  Case c = blockSparse(mask, 4, 64, 32, 64, false, 96, 150, /*fullHeads=*/1);
  c.problem.maskMod = [](int64_t, int64_t, int64_t, int64_t j) { return j % 3 != 0; };
  ListBuffers lists(mask, ref::transposeBlockMask(mask));
  check(c, FG_GRAD_DET_LISTS(grad_block_sparse_mask_mod_det, c.B, c.N, c.M));
}

// ---- packed documents: a mask_lists schedule's pre-passes ------------------
// examples/document_mask.mlir (causal within documents, ids [B, N] read at i
// and j): the gradient's pre-passes list, from the ids, each key tile's
// query tiles (mask_lists_t, the kv kernel's) and, deterministic, each
// query tile's key tiles (mask_lists, the dq kernel's). The lists are
// checked against the ids tile pair by tile pair (a tile left out has no
// visible pair, a tile listed whole none the mask_mod hides, and tiles are
// left out), then the gradients against reference/'s with the mask_mod.
// Two sequences of 260 rows: documents of 1 to 90 tokens, ragged last tiles.
struct Documents {
  int B = 2, H = 2, N = 260;
  std::vector<int> ids;
  DeviceVec<int> doc;  // the ids where the kernels read them
  Documents() : ids(size_t(B) * N), doc(ids.size(), false) {
    std::mt19937 rng(0xd0c);
    std::uniform_int_distribution<int> length(1, 90);
    for (int b = 0; b < B; ++b)
      for (int i = 0, id = 0, left = length(rng); i < N; ++i) {
        if (left-- == 0) ++id, left = length(rng);
        ids[size_t(b) * N + i] = id;
      }
    std::copy(ids.begin(), ids.end(), doc.v.begin());
  }
  int id(int b, int i) const { return ids[size_t(b) * N + i]; }
  Case problem() const {
    Case c{B, H, H, N, N, 128, {}, {}};
    c.problem.mask = ref::MaskKind::Causal;
    c.problem.maskMod = [this](int64_t b, int64_t, int64_t i, int64_t j) { return id(int(b), int(i)) == id(int(b), int(j)); };
    return c;
  }
  /// The lists one pre-pass wrote, rows of `rowTile` positions listing
  /// tiles of `listedTile` (`transposed`: rows are key tiles), against the
  /// ids; returns the tiles left out.
  int checkLists(ListBuffers::List& count, ListBuffers::List& index, ListBuffers::List& fullCount,
                 ListBuffers::List& fullIndex, int rowTile, int listedTile, bool transposed) const {
    const int rows = (N + rowTile - 1) / rowTile, listed = (N + listedTile - 1) / listedTile;
    int hidden = 0, whole = 0;
    for (int b = 0; b < B; ++b)
      for (int r = 0; r < rows; ++r) {
        std::vector<int> cls(listed, 0);
        auto walk = [&](ListBuffers::List& n, ListBuffers::List& idx, int value) {
          const int at = n.mem[size_t(b) * rows + r];
          EXPECT_TRUE(at >= 0 && at <= listed) << "count " << at;
          for (int s = 0; s < std::clamp(at, 0, listed); ++s) {
            const int t = idx.mem[(size_t(b) * rows + r) * listed + s];
            EXPECT_TRUE(t >= 0 && t < listed) << "index " << t;
            if (t < 0 || t >= listed) continue;
            EXPECT_EQ(cls[t], 0) << "tile " << t << " listed twice";
            cls[t] = value;
          }
        };
        walk(count, index, 1);
        walk(fullCount, fullIndex, 2);
        for (int t = 0; t < listed; ++t) {
          const int qTile = transposed ? t : r, kTile = transposed ? r : t;
          const int qTileSize = transposed ? listedTile : rowTile, kTileSize = transposed ? rowTile : listedTile;
          bool visible = false, maskModHides = false;
          for (int i = qTile * qTileSize; i < std::min(N, (qTile + 1) * qTileSize); ++i)
            for (int j = kTile * kTileSize; j < std::min(N, (kTile + 1) * kTileSize); ++j) {
              visible |= j <= i && id(b, i) == id(b, j);
              maskModHides |= id(b, i) != id(b, j);
            }
          if (cls[t] == 0) EXPECT_FALSE(visible) << "row tile " << r << ": tile " << t << " left out";
          if (cls[t] == 2) EXPECT_FALSE(maskModHides) << "row tile " << r << ": tile " << t << " listed whole";
          hidden += cls[t] == 0;
          whole += cls[t] == 2;
        }
      }
    EXPECT_GT(whole, 0);
    return hidden;
  }
};
#define FG_DOC(d) (const int*)d.doc.data(), LL(d.N), 1LL,

// The launch of pre-pass KERNEL of NAME's backward over ROWS row tiles,
// writing LISTS (FG_KV_LISTS_OUT / FG_Q_LISTS_OUT).
#define FG_PRE_PASS(NAME, KERNEL, ROWS, LISTS, d)                                                             \
  emu::launch(emu::Dim3{unsigned(ROWS), 1u, unsigned(d.B)}, FG_NS(NAME, KERNEL)::kThreads,                  \
              fg::tile_lists::kSmemBytes<FG_NS(NAME, KERNEL)::kThreads>, FG_KERNEL(NAME, KERNEL), LISTS \
              (const int*)d.doc.data(), LL(d.N), 1LL, d.B, d.N)

// flash3_grad: atomic dQ in the kv kernel, which walks the transposed lists.
TEST_F(AttentionGradEmuTest, Wgmma_DocumentMaskListsAtomicDq) {
  Documents d;
  constexpr int tq = FG_NS(grad3_document, kv)::kTileQ, tk = FG_NS(grad3_document, kv)::kTileK;
  const int qt = (d.N + tq - 1) / tq, kt = (d.N + tk - 1) / tk;
  ListBuffers lists(d.B, qt, kt);
  FG_PRE_PASS(grad3_document, mask_lists_t, kt, FG_Q_LISTS_OUT(lists), d);
  const int hidden = d.checkLists(lists.qCount, lists.qIndex, lists.fullQCount, lists.fullQIndex, tk, tq, true);
  EXPECT_GT(hidden, 0) << "no tile left out";
  std::printf("[grad-emu] document lists: %d of %d query tiles left out\n", hidden, d.B * qt * kt);
  Case c = d.problem();
  check(c, FG_GRAD_ATOMIC_WITH(FG_ACCUM_BLOCKED, grad3_document, kv, FG_RING_MAPS, FG_Q_LISTS(lists) FG_DOC(d), c.B,
                               c.N));
}

// flash3_grad_deterministic: the kv kernel the transposed lists, the dq
// kernel the kv lists (both pre-passes).
TEST_F(AttentionGradEmuTest, Wgmma_DocumentMaskListsDeterministic) {
  Documents d;
  constexpr int tq = FG_NS(grad3_document_det, kv)::kTileQ, tk = FG_NS(grad3_document_det, kv)::kTileK;
  const int qt = (d.N + tq - 1) / tq, kt = (d.N + tk - 1) / tk;
  ListBuffers lists(d.B, qt, kt);
  FG_PRE_PASS(grad3_document_det, mask_lists_t, kt, FG_Q_LISTS_OUT(lists), d);
  FG_PRE_PASS(grad3_document_det, mask_lists, qt, FG_KV_LISTS_OUT(lists), d);
  EXPECT_GT(d.checkLists(lists.qCount, lists.qIndex, lists.fullQCount, lists.fullQIndex, tk, tq, true), 0);
  EXPECT_GT(d.checkLists(lists.count, lists.index, lists.fullCount, lists.fullIndex, tq, tk, false), 0);
  Case c = d.problem();
  check(c, FG_GRAD_DET_WITH(grad3_document_det, FG_RING_MAPS, FG_Q_LISTS(lists) FG_DOC(d),
                            FG_KV_LISTS(lists) FG_DOC(d), c.B, c.N));
}
#endif  // FLASHGEN_EMITTED_KERNEL_DIR
