//===- TreeVerifyEmuTest.cpp - speculative tree verification on the emulator -===//
//
// examples/tree_verify.mlir's kernels (generated at build time by
// kernels/emit_scheduled_kernels.py, the scheduler's first flash_decode
// schedule planned for 64 drafts against a 32k prefix; never committed):
// the split kernel and the merge run on the host emulator and o and lse are
// checked against reference/'s float64 attention, whose mask_mod is the
// tree's definition itself (draft t is visible to draft i iff t is i or an
// ancestor of i, from the parent indices), not the bit test the spec's
// region does. So the bit packing, the prefix test and the tiles the kernel
// computes without any mask (passes/MaskModBounds.h: the prefix the region
// keeps) are all checked:
//   - random trees (each draft's parent uniform among the earlier drafts
//     and the prefix), 2 words of ancestor bits per draft;
//   - ragged draft counts (37, 64) and prefixes, key splits 1 and 3, so
//     the prefix's tiles and the drafts' land in the same split and in
//     different ones;
//   - a prefix shorter than a key tile (every tile masked).
// o, lse and the scratch are poisoned with NaN first; global accesses
// outside the registered tensors abort the emulator.
//
//===----------------------------------------------------------------------===//
#include "kernel_prelude.h"
#ifdef FLASHGEN_EMITTED_KERNEL_DIR
#include "decode/tree_verify.cu"
#endif

#include "reference_tensors.h"

#include "reference/Attention.h"

#include <cmath>
#include <limits>
#include <random>

#ifdef FLASHGEN_EMITTED_KERNEL_DIR
namespace {

using namespace emu_test;
namespace ref = flashgen::reference;
using LL = long long;

constexpr int kHq = 32, kHk = 8, kD = 128, kWords = 2;

struct Case {
  int B, N, prefix, splits;
};

using TreeVerifyEmuTest = EmuTest;

void check(const Case& c) {
  const int M = c.prefix + c.N, G = kHq / kHk;
  std::mt19937 rng(c.N * 977 + c.prefix * 13 + c.splits);
  // ancestors[b][i][t]: draft t is draft i or one of its ancestors.
  std::vector<std::vector<std::vector<bool>>> ancestors(
      c.B, std::vector<std::vector<bool>>(c.N, std::vector<bool>(c.N, false)));
  DeviceVec<int> prefix(c.B, false), tree(size_t(c.B) * c.N * kWords, false);
  for (int b = 0; b < c.B; ++b) {
    prefix[b] = c.prefix;
    for (int t = 0; t < c.N; ++t) {
      int parent = std::uniform_int_distribution<int>(-1, t - 1)(rng);
      if (parent >= 0) ancestors[b][t] = ancestors[b][parent];
      ancestors[b][t][t] = true;
      for (int a = 0; a < c.N; ++a)
        if (ancestors[b][t][a])
          tree[(size_t(b) * c.N + t) * kWords + a / 32] |= int(1u << (a % 32));
    }
  }

  Bf16Tensor q(c.B, kHq, c.N, kD, false), k(c.B, kHk, M, kD, false), v(c.B, kHk, M, kD, false);
  Bf16Tensor o(c.B, kHq, c.N, kD, true);
  DeviceVec<float> lse(size_t(c.B) * kHq * c.N, true);
  namespace K = tree_verify_v0_k;
  const int tiles = (G * c.N + K::kTileQ - 1) / K::kTileQ;
  const size_t rows = size_t(c.splits) * c.B * kHk * tiles * K::kTileQ;
  DeviceVec<float> oSplit(rows * kD, true), lseSplit(rows, true);
  fill_normal_bf16(q.mem, rng, 3.0f);
  fill_normal_bf16(k.mem, rng);
  fill_normal_bf16(v.mem, rng);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  o.poison();
  for (auto* buf : {&lse, &oSplit, &lseSplit})
    for (auto& x : buf->v) x = nan;

  ref::AttentionProblem problem;
  problem.mask = ref::MaskKind::Causal;
  problem.maskMod = [&](int64_t b, int64_t, int64_t i, int64_t j) {
    const int64_t t = j - c.prefix;
    return t < 0 || ancestors[b][i][t];
  };
  ref::AttentionResult want = ref::referenceAttention(problem, q.values(), k.values(), v.values());

#define FG_T4(x) x.mem.data(), x.s0(), x.s1(), x.s2(), 1LL
  const LL lseS0 = LL(kHq) * c.N, lseS1 = c.N;
  emu::launch(emu::Dim3{unsigned(c.splits * tiles), unsigned(kHk), unsigned(c.B)}, K::kThreads, K::kSmemBytes,
              flashgen_tree_verify_v0, FG_T4(q), FG_T4(k), FG_T4(v), FG_T4(o), lse.data(), lseS0, lseS1, 1LL,
              oSplit.data(), LL(kD), 1LL, lseSplit.data(), 1LL, prefix.data(), 1LL, tree.data(),
              LL(c.N) * kWords, LL(kWords), 1LL, c.B, c.N, M, c.splits);
  emu::launch(emu::Dim3{unsigned(tiles), unsigned(kHk), unsigned(c.B)}, tree_verify_v0_merge_k::kThreads, 0,
              flashgen_tree_verify_v0_merge, FG_T4(o), lse.data(), lseS0, lseS1, 1LL, oSplit.data(), LL(kD), 1LL,
              lseSplit.data(), 1LL, c.B, c.N, M, c.splits);
#undef FG_T4

  size_t nans = 0;
  const double rel = relError(o, want.out, nans);
  EXPECT_EQ(nans, 0u) << "o: elements left unwritten (NaN)";
  EXPECT_LT(rel, 1e-2) << "o";
  size_t lseNans = 0, lseInfMismatches = 0;
  const double lseErr = lseError(lse.v, want.logSumExp, lseNans, lseInfMismatches);
  EXPECT_EQ(lseNans, 0u) << "lse: rows left unwritten (NaN)";
  EXPECT_EQ(lseInfMismatches, 0u) << "lse: rows that see no key must hold -inf";
  EXPECT_LT(lseErr, 1e-4) << "lse";
  std::printf("[tree-emu] B=%d N=%d prefix=%d splits=%d tile_q=%d: o rel_err %.3e, lse max rel err %.3e\n", c.B,
              c.N, c.prefix, c.splits, K::kTileQ, rel, lseErr);
}

// The prefix's tiles unmasked, the drafts' masked by their bits, in one split.
TEST_F(TreeVerifyEmuTest, RaggedDraftsOneSplit) { check({2, 37, 140, 1}); }
// Three splits: the first ones hold only prefix tiles, the last the drafts.
TEST_F(TreeVerifyEmuTest, SixtyFourDraftsThreeSplits) { check({1, 64, 90, 3}); }
// A prefix shorter than a key tile: every tile needs the bit test.
TEST_F(TreeVerifyEmuTest, ShortPrefix) { check({2, 20, 9, 3}); }

}  // namespace
#endif
