//===- DecodeEmuTest.cpp - flash_decode's kernels on the emulator ---------===//
//
// Runs the two kernels the compiler writes for a flash_decode schedule
// (generated at build time by kernels/emit_scheduled_kernels.py from
// examples/decode_gqa.mlir and kernels/decode_alibi_gqa.mlir, the
// scheduler's two best schedules, planned for one query token; never
// committed) on the host emulator, the split kernel and then the merge,
// and checks o and lse against reference/'s float64 attention:
//   - the query heads of a group packed into one tile's rows, N = 1 and
//     multi-token decoding (N = 3, 5: causal among the new tokens, bottom-
//     right aligned, rows of several tokens in one tile);
//   - the key range split 1, 3 and 7 ways (the launch's split count is a
//     kernel argument; some splits of a short range get no key tile and
//     must leave -inf for the merge), ragged M;
//   - ALiBi whose slope reads each packed row's own query head, under a
//     sliding window.
// o, lse and the f32 scratch are poisoned with NaN first; global accesses
// outside the registered tensors abort the emulator.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "decode/decode_gqa.cu"
#include "decode/decode_gqa_n16.cu"
#include "decode/decode_alibi_gqa.cu"
#endif

#include "reference_tensors.h"

#include "reference/Attention.h"

#include <cmath>
#include <functional>
#include <limits>

#ifdef FLASHGEN_EMITTED_KERNEL_DIR
namespace {

using namespace emu_test;
namespace ref = flashgen::reference;
using LL = long long;

struct Case {
  int B, N, M, splits;
};

struct Spec {
  int Hq, Hk, D;
  ref::AttentionProblem problem;
};

/// One variant's two kernels: the split kernel over (splits x tiles, Hk, B)
/// and the merge over (tiles, Hk, B), with the emitter's argument order.
struct Kernels {
  int tileQ;
  std::function<void(emu::Dim3, Bf16Tensor&, Bf16Tensor&, Bf16Tensor&, Bf16Tensor&, DeviceVec<float>&,
                     DeviceVec<float>&, DeviceVec<float>&, const Case&)>
      split, merge;
};

void check(const Spec& spec, const Case& c, const Kernels& kernels) {
  const int G = spec.Hq / spec.Hk, D = spec.D;
  Bf16Tensor q(c.B, spec.Hq, c.N, D, false), k(c.B, spec.Hk, c.M, D, false), v(c.B, spec.Hk, c.M, D, false);
  Bf16Tensor o(c.B, spec.Hq, c.N, D, true);
  DeviceVec<float> lse(size_t(c.B) * spec.Hq * c.N, true);
  const int tiles = (G * c.N + kernels.tileQ - 1) / kernels.tileQ;
  const size_t rows = size_t(c.splits) * c.B * spec.Hk * tiles * kernels.tileQ;
  DeviceVec<float> oSplit(rows * D, true), lseSplit(rows, true);
  std::mt19937 rng(c.N * 131 + c.M * 7 + c.splits);
  fill_normal_bf16(q.mem, rng, 3.0f);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  o.poison();
  for (auto* buf : {&lse, &oSplit, &lseSplit})
    for (auto& x : buf->v) x = nan;

  ref::AttentionResult want = ref::referenceAttention(spec.problem, q.values(), k.values(), v.values());
  kernels.split(emu::Dim3{unsigned(c.splits * tiles), unsigned(spec.Hk), unsigned(c.B)}, q, k, v, o, lse, oSplit,
                lseSplit, c);
  kernels.merge(emu::Dim3{unsigned(tiles), unsigned(spec.Hk), unsigned(c.B)}, q, k, v, o, lse, oSplit, lseSplit, c);

  size_t nans = 0;
  const double rel = relError(o, want.out, nans);
  EXPECT_EQ(nans, 0u) << "o: elements left unwritten (NaN)";
  EXPECT_LT(rel, 1e-2) << "o";
  size_t lseNans = 0, lseInfMismatches = 0;
  const double lseErr = lseError(lse.v, want.logSumExp, lseNans, lseInfMismatches);
  EXPECT_EQ(lseNans, 0u) << "lse: rows left unwritten (NaN)";
  EXPECT_EQ(lseInfMismatches, 0u) << "lse: rows that see no key must hold -inf";
  EXPECT_LT(lseErr, 1e-4) << "lse";
  std::printf("[decode-emu] B=%d N=%d M=%d splits=%d: o rel_err %.3e, lse max rel err %.3e\n", c.B, c.N, c.M,
              c.splits, rel, lseErr);
}

#define FG_T4(x) x.mem.data(), x.s0(), x.s1(), x.s2(), 1LL
#define FG_LSE(x) x.data(), LL(o.H) * o.S, LL(o.S), 1LL
#define FG_SCRATCH oSplit.data(), LL(o.X), 1LL, lseSplit.data(), 1LL
#define FG_DECODE(NAME)                                                                                        \
  Kernels {                                                                                                    \
    NAME##_k::kTileQ,                                                                                          \
        [](emu::Dim3 grid, Bf16Tensor& q, Bf16Tensor& k, Bf16Tensor& v, Bf16Tensor& o, DeviceVec<float>& lse,  \
           DeviceVec<float>& oSplit, DeviceVec<float>& lseSplit, const Case& c) {                              \
          emu::launch(grid, NAME##_k::kThreads, NAME##_k::kSmemBytes, flashgen_##NAME, FG_T4(q), FG_T4(k),     \
                      FG_T4(v), FG_T4(o), FG_LSE(lse), FG_SCRATCH, c.B, c.N, c.M, c.splits);                   \
        },                                                                                                     \
        [](emu::Dim3 grid, Bf16Tensor&, Bf16Tensor&, Bf16Tensor&, Bf16Tensor& o, DeviceVec<float>& lse,        \
           DeviceVec<float>& oSplit, DeviceVec<float>& lseSplit, const Case& c) {                              \
          emu::launch(grid, NAME##_merge_k::kThreads, 0, flashgen_##NAME##_merge, FG_T4(o), FG_LSE(lse),       \
                      FG_SCRATCH, c.B, c.N, c.M, c.splits);                                                    \
        }                                                                                                      \
  }

Spec servingSpec() {
  Spec s{32, 8, 128, {}};
  s.problem.mask = ref::MaskKind::Causal;
  return s;
}

Spec alibiSpec() {
  Spec s{8, 2, 64, {}};
  s.problem.mask = ref::MaskKind::SlidingWindow;
  s.problem.window = 200;
  s.problem.scoreMod = [](double score, int64_t, int64_t h, int64_t i, int64_t j) {
    return score + std::exp2(-double(h + 1)) * double(j - i);
  };
  return s;
}

using DecodeEmuTest = EmuTest;

// One token: a group's 4 heads in one tile, the keys in one split (the
// split kernel writes o itself and the merge returns), then 3 and 7.
TEST_F(DecodeEmuTest, OneTokenOneSplit) { check(servingSpec(), {2, 1, 300, 1}, FG_DECODE(decode_gqa_v0)); }
TEST_F(DecodeEmuTest, OneTokenThreeSplits) { check(servingSpec(), {2, 1, 300, 3}, FG_DECODE(decode_gqa_v0)); }
TEST_F(DecodeEmuTest, OneTokenSevenSplitsSecondChoice) {
  check(servingSpec(), {1, 1, 517, 7}, FG_DECODE(decode_gqa_v1));
}
// More splits than key tiles: the last splits see none.
TEST_F(DecodeEmuTest, ShortCacheEmptySplits) { check(servingSpec(), {1, 1, 37, 7}, FG_DECODE(decode_gqa_v0)); }
// Multi-token (speculative) decoding: causal among the new tokens.
TEST_F(DecodeEmuTest, ThreeTokensCausal) { check(servingSpec(), {2, 3, 250, 3}, FG_DECODE(decode_gqa_v0)); }
TEST_F(DecodeEmuTest, FiveTokensCausalSecondChoice) {
  check(servingSpec(), {1, 5, 140, 2}, FG_DECODE(decode_gqa_v1));
}
// 16 speculative tokens in one tile of 64 packed rows, split over row and
// key warps (the decode size rule's pick for N > 8).
TEST_F(DecodeEmuTest, SixteenTokensOneTallTile) {
  check(servingSpec(), {1, 16, 290, 3}, FG_DECODE(decode_gqa_n16_v0));
}
// A key length of 1: one key, one split with it, the others empty.
TEST_F(DecodeEmuTest, OneKey) { check(servingSpec(), {2, 1, 1, 3}, FG_DECODE(decode_gqa_v0)); }
// ALiBi's slope of each packed row's own head, a window of 200 keys.
TEST_F(DecodeEmuTest, AlibiWindowPackedHeads) {
  check(alibiSpec(), {2, 1, 450, 3}, FG_DECODE(decode_alibi_gqa_v0));
}
TEST_F(DecodeEmuTest, AlibiWindowTwoTokensSecondChoice) {
  check(alibiSpec(), {1, 2, 333, 1}, FG_DECODE(decode_alibi_gqa_v1));
}

}  // namespace
#endif
