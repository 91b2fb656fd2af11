//===- IOBoundsTest.cpp - lower bounds on IO ------------------------------===//
//
// Hand-worked bounds (the arithmetic is in each comment), exact pair counts
// against brute force, and the property the bounds exist for: no feasible
// schedule's modeled traffic is below them.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/AttentionCost.h"
#include "schedule/IOBounds.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearSpace.h"
#include "schedule/Visibility.h"

#include <gtest/gtest.h>

#include <random>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

// On sm_90 the on-chip capacity is 494592 bytes = 247296 bf16 elements
// (TargetTest); sqrt(247296) = 497.289.
// The segment term (IOBounds.cpp) in elements is
//   P d^2 / (4 (d sqrt(M) + M)) - M,
// floored, times 2 bytes. Floating point may move the floor by one element.
constexpr int64_t kOneElement = 2;

} // namespace

TEST(AttentionBound, ShortSequenceIsTheCompulsoryTraffic) {
  // d = 128, N = M = 4096, one head: P d^2 = 4096^2 x 128^2 = 2.749e11,
  // 4 (128 x 497.289 + 247296) = 1.2438e6, 2.749e11 / 1.2438e6 = 220999
  // < M: the segment term is 0 and the bound is Q, K, V, O once:
  // 4 x 4096 x 128 x 2 = 4194304 bytes.
  IOBound b = attentionIOBound(attention(4096, 128), target("sm_90"));
  EXPECT_EQ(b.onChip.extraBytes, 0);
  EXPECT_EQ(b.onChip.compulsoryBytes, 4194304);
  EXPECT_EQ(b.onChip.boundBytes, 4194304);
  EXPECT_FALSE(b.onChip.smallCache);
}

TEST(AttentionBound, D128Sm90LongSequence) {
  // N = 65536: P = 2^32. 2^32 x 16384 / 1.2438e6 - 247296 = 56328505.95
  // elements -> 112657010 bytes, above the compulsory 4 x 65536 x 128 x 2
  // = 67108864.
  IOBound b = attentionIOBound(attention(65536, 128), target("sm_90"));
  EXPECT_EQ(b.onChip.compulsoryBytes, 67108864);
  EXPECT_NEAR(b.onChip.extraBytes, 112657010, kOneElement);
  EXPECT_EQ(b.onChip.boundBytes, b.onChip.extraBytes);
  // Causal: P = N (N + 1) / 2 = 2147516416 pairs, 28041036.6 elements ->
  // 56082072 bytes, now below the compulsory traffic.
  IOBound c =
      attentionIOBound(attention(65536, 128, MaskKind::Causal), target("sm_90"));
  EXPECT_EQ(c.visiblePairs, 2147516416);
  EXPECT_NEAR(c.onChip.extraBytes, 56082072, kOneElement);
  EXPECT_EQ(c.onChip.boundBytes, 67108864);
}

TEST(AttentionBound, D64AndD256Sm90) {
  // d = 64: 4 (64 x 497.289 + 247296) = 1116490;
  // 2^32 x 4096 / 1116490 - 247296 = 15509394.8 -> 31018788 bytes, below the
  // compulsory 4 x 65536 x 64 x 2 = 33554432; causal 7631169.6 -> 15262338.
  const Target &h100 = target("sm_90");
  IOBound a = attentionIOBound(attention(65536, 64), h100);
  EXPECT_NEAR(a.onChip.extraBytes, 31018788, kOneElement);
  EXPECT_EQ(a.onChip.boundBytes, 33554432);
  IOBound ac = attentionIOBound(attention(65536, 64, MaskKind::Causal), h100);
  EXPECT_NEAR(ac.onChip.extraBytes, 15262338, kOneElement);
  EXPECT_EQ(ac.onChip.boundBytes, 33554432);
  // d = 256: 4 (256 x 497.289 + 247296) = 1498400;
  // 2^32 x 65536 / 1498400 - 247296 = 187602112.4 -> 375204224 bytes, above
  // the compulsory 134217728; causal 93678841.4 -> 187357682.
  IOBound b = attentionIOBound(attention(65536, 256), h100);
  EXPECT_NEAR(b.onChip.boundBytes, 375204224, kOneElement);
  IOBound bc = attentionIOBound(attention(65536, 256, MaskKind::Causal), h100);
  EXPECT_NEAR(bc.onChip.boundBytes, 187357682, kOneElement);
  EXPECT_FALSE(b.onChip.smallCache); // 256^2 = 65536 <= 247296
}

TEST(AttentionBound, D512IsTheSmallCacheRegime) {
  // sm_test_small: M = (64 KiB + 256 KiB) / 2 = 163840 elements < 512^2.
  // N = 16384: P = 2^28, sqrt(M) = 404.77, 4 (512 x 404.77 + 163840) =
  // 1484314; 2^28 x 262144 / 1484314 - 163840 = 47243841.5 -> 94487682
  // bytes, above the compulsory 4 x 16384 x 512 x 2 = 67108864.
  IOBound b = attentionIOBound(attention(16384, 512), target("sm_test_small"));
  EXPECT_TRUE(b.onChip.smallCache);
  EXPECT_EQ(b.onChip.compulsoryBytes, 67108864);
  EXPECT_NEAR(b.onChip.boundBytes, 94487682, kOneElement);
  // The same head dim is in the small-cache regime on sm_90 and sm_80 too
  // (247296 and 214528 elements), d = 256 is not.
  EXPECT_TRUE(attentionIOBound(attention(1024, 512), target("sm_90")).onChip.smallCache);
  EXPECT_TRUE(attentionIOBound(attention(1024, 512), target("sm_80")).onChip.smallCache);
  EXPECT_FALSE(
      attentionIOBound(attention(1024, 256), target("sm_test_small")).onChip.smallCache);
}

TEST(AttentionBound, SmallCacheTermScalesAsOneOverSqrtM) {
  // For M << d^2 the term is ~ P d / (4 sqrt(M)): quartering M doubles it.
  long double pairs = 1e12L;
  int64_t big = attentionSegmentWords(pairs, 4096, 40000);
  int64_t small = attentionSegmentWords(pairs, 4096, 10000);
  EXPECT_NEAR(static_cast<double>(small) / big, 2.0, 0.05);
  // For M >> d^2 it is ~ P d^2 / (4 M): quartering M quadruples it (with
  // enough pairs that the "- M" is negligible).
  big = attentionSegmentWords(1e14L, 16, 4000000);
  small = attentionSegmentWords(1e14L, 16, 1000000);
  EXPECT_NEAR(static_cast<double>(small) / big, 4.0, 0.2);
}

TEST(AttentionBound, GqaReadsKeysAndValuesOncePerKvHead) {
  // B = 2, Hq = 32, Hkv = 8, N = M = 1024, D = Dv = 128: Q and O for 64
  // query heads (2 x 32 x 1024 x 256 x 2 = 33554432), K and V for 16 KV
  // heads (2 x 8 x 1024 x 256 x 2 = 8388608).
  AttentionProblem p = attention(1024, 128, MaskKind::None, 2, 32);
  p.keyHeads = 8;
  IOBound b = attentionIOBound(p, target("sm_90"));
  EXPECT_EQ(b.onChip.compulsoryBytes, 33554432 + 8388608);
}

TEST(AttentionBound, RowsThatSeeNoKeyNeedNoQuery) {
  // Bottom-right causal with N = 8 queries, M = 4 keys: query i sees keys
  // j <= i - 4, so queries 0..3 see nothing (their output is 0, still
  // written). Q: 4 rows, O: 8 rows, K/V: 4 rows; D = Dv = 16.
  AttentionProblem p = attention(8, 16, MaskKind::Causal);
  p.keyLen = 4;
  Visibility v = attentionVisibility(p);
  EXPECT_EQ(v.queryRows, 4);
  EXPECT_EQ(v.pairs, 1 + 2 + 3 + 4);
  IOBound b = attentionIOBound(p, target("sm_90"));
  EXPECT_EQ(b.onChip.compulsoryBytes, (4 * 16 + 8 * 16 + 4 * 32) * 2);
}

TEST(AttentionBound, MaskModDropsTheQuadraticTerm) {
  AttentionProblem p = attention(65536, 256);
  p.hasMaskMod = true;
  IOBound b = attentionIOBound(p, target("sm_90"));
  EXPECT_EQ(b.onChip.extraBytes, 0);
  EXPECT_EQ(b.onChip.boundBytes, b.onChip.compulsoryBytes);
}

TEST(AttentionBound, HbmLevelUsesTheL2) {
  // With M = 50 MiB = 26214400 elements the segment term is 0 even at
  // N = 65536, d = 256: the HBM bound is the compulsory traffic.
  IOBound b = attentionIOBound(attention(65536, 256), target("sm_90"));
  EXPECT_EQ(b.l2.capacityBytes, 50 * 1024 * 1024);
  EXPECT_EQ(b.l2.boundBytes, b.l2.compulsoryBytes);
  EXPECT_LT(b.l2.boundBytes, b.onChip.boundBytes);
}

TEST(Visibility, PairCountsMatchBruteForce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    AttentionProblem p;
    p.queryLen = 1 + rng() % 70;
    p.keyLen = 1 + rng() % 70;
    p.headDim = p.valueDim = 16;
    p.mask = static_cast<MaskKind>(rng() % 3);
    p.window = 1 + rng() % 20;
    int64_t off = p.keyLen - p.queryLen, pairs = 0, rows = 0;
    std::vector<bool> keySeen(p.keyLen, false);
    for (int64_t i = 0; i < p.queryLen; ++i) {
      bool any = false;
      for (int64_t j = 0; j < p.keyLen; ++j) {
        bool visible = true;
        if (p.mask != MaskKind::None)
          visible = j <= i + off;
        if (p.mask == MaskKind::SlidingWindow)
          visible = visible && i + off - j < p.window;
        if (visible) {
          ++pairs;
          any = true;
          keySeen[j] = true;
        }
      }
      rows += any;
    }
    Visibility v = attentionVisibility(p);
    SCOPED_TRACE(describe(p));
    EXPECT_EQ(v.pairs, pairs);
    EXPECT_EQ(v.queryRows, rows);
    EXPECT_EQ(v.keyRows, std::count(keySeen.begin(), keySeen.end(), true));
  }
}

TEST(LinearBound, MlstmStateDoesNotFitOnSm90) {
  // mLSTM, Dk = 256, Dv = 512, T = 8192: C is 256 x 512 x 4 = 524288 bytes
  // > 494592, so every chunkwise schedule splits Dv at least in 2 and reads
  // k twice. Compulsory: q, k, v 8192 x (256 + 256 + 512) x 2 = 16777216;
  // o 8192 x 512 x 2 = 8388608; gates 8192 x 2 x 4 = 65536 -> 25231360.
  // Extra: (2 - 1) x 8192 x 256 x 2 = 4194304. Bound 29425664.
  LinearProblem p = linear(8192, 256, 512, GateKind::MlstmExp);
  IOBound b = linearIOBound(p, target("sm_90"));
  EXPECT_TRUE(b.onChip.smallCache);
  EXPECT_EQ(b.minValueSlices, 2);
  EXPECT_EQ(b.onChip.compulsoryBytes, 25231360);
  EXPECT_EQ(b.onChip.extraBytes, 4194304);
  EXPECT_EQ(b.onChip.boundBytes, 29425664);
  // The L2 holds the state: the HBM bound is the compulsory traffic.
  EXPECT_FALSE(b.l2.smallCache);
  EXPECT_EQ(b.l2.boundBytes, 25231360);
}

TEST(LinearBound, DecayStateFits) {
  // Dk = Dv = 128, decay: 8192 x ((128 + 128 + 128) x 2 + 128 x 2 + 4)
  // = 8192 x 1028 = 8421376 per head; with initial and final states
  // 2 x 128 x 128 x 4 = 131072 more.
  LinearProblem p = linear(8192, 128, 128, GateKind::Decay);
  IOBound b = linearIOBound(p, target("sm_90"));
  EXPECT_FALSE(b.onChip.smallCache);
  EXPECT_EQ(b.onChip.boundBytes, 8421376);
  p.hasInitialState = p.returnsFinalState = true;
  p.batch = 2;
  p.heads = 3;
  EXPECT_EQ(linearIOBound(p, target("sm_90")).onChip.boundBytes,
            6 * (8421376 + 131072));
}

TEST(LinearBound, DeltaRuleAddsItsBeta) {
  // Gated DeltaNet, Dk = Dv = 128, bf16 beta, f32 log-decay: the decay
  // bound above plus beta's 8192 x 2 bytes per head.
  LinearProblem p = linear(8192, 128, 128, GateKind::Decay);
  p.betaBytes = 2;
  EXPECT_EQ(linearIOBound(p, target("sm_90")).onChip.boundBytes,
            8421376 + 8192 * 2);
  // DeltaNet (no decay), f32 beta: q, k, v, o and beta only.
  p.gate = GateKind::None;
  p.betaBytes = 4;
  EXPECT_EQ(linearIOBound(p, target("sm_90")).onChip.boundBytes,
            8192 * (4 * 128 * 2 + 4));
  // Dk = 256, Dv = 512: the state splits on chip as the gated recurrence's
  // does, k read once more per extra value slice.
  LinearProblem big = linear(8192, 256, 512, GateKind::Decay);
  big.betaBytes = 2;
  IOBound b = linearIOBound(big, target("sm_90"));
  EXPECT_EQ(b.minValueSlices, 2);
  EXPECT_EQ(b.onChip.extraBytes, 8192 * 256 * 2);
}

//===----------------------------------------------------------------------===//
// The bounds hold for every feasible schedule of the model
//===----------------------------------------------------------------------===//

namespace {

void expectAttentionBoundsHold(const AttentionProblem &p, const Target &t,
                               Algorithm algorithm) {
  SCOPED_TRACE(describe(p) + " on " + t.name + " " + algorithmName(algorithm));
  Result<ScheduleSpace> space = attentionSpace(p, t, algorithm);
  ASSERT_TRUE(space.ok()) << space.error();
  IOBound bound = attentionIOBound(p, t);
  size_t n = forEachFeasible(*space, [&](const Schedule &s) {
    Evaluation e = evaluateAttention(p, t, s);
    ASSERT_GE(e.globalBytes, bound.onChip.boundBytes) << s.str();
    ASSERT_GE(e.hbmBytes, bound.l2.boundBytes) << s.str();
    ASSERT_LE(e.hbmBytes, e.globalBytes) << s.str();
  });
  EXPECT_GT(n, 0u);
}

void expectLinearBoundsHold(const LinearProblem &p, const Target &t) {
  SCOPED_TRACE(describe(p) + " on " + t.name);
  Result<ScheduleSpace> space = linearSpace(p, t, std::nullopt);
  ASSERT_TRUE(space.ok()) << space.error();
  IOBound bound = linearIOBound(p, t);
  size_t n = forEachFeasible(*space, [&](const Schedule &s) {
    Evaluation e = evaluateLinear(p, t, s);
    ASSERT_GE(e.globalBytes, bound.onChip.boundBytes) << s.str();
    ASSERT_GE(e.hbmBytes, bound.l2.boundBytes) << s.str();
  });
  EXPECT_GT(n, 0u);
}

} // namespace

TEST(BoundsHold, AttentionWhereTheQuadraticTermBinds) {
  // N = 65536, d = 256: the segment term is 2.8x the compulsory traffic.
  expectAttentionBoundsHold(attention(65536, 256), target("sm_90"),
                            Algorithm::Flash2);
  expectAttentionBoundsHold(attention(65536, 128), target("sm_90"),
                            Algorithm::Flash2);
  expectAttentionBoundsHold(attention(65536, 128), target("sm_80"),
                            Algorithm::Flash2);
  expectAttentionBoundsHold(attention(32768, 256, MaskKind::Causal),
                            target("sm_test_small"), Algorithm::Flash2);
}

TEST(BoundsHold, AttentionSmallCacheSchedules) {
  expectAttentionBoundsHold(attention(16384, 512), target("sm_test_small"),
                            Algorithm::Flash2DSplit);
  expectAttentionBoundsHold(attention(8192, 512, MaskKind::Causal),
                            target("sm_90"), Algorithm::Flash2DSplit);
  expectAttentionBoundsHold(attention(8192, 512, MaskKind::Causal),
                            target("h200"), Algorithm::Flash3DSplit);
  // d-split is a valid (if slower) schedule in the large-cache regime too.
  expectAttentionBoundsHold(attention(65536, 256), target("sm_90"),
                            Algorithm::Flash2DSplit);
}

TEST(BoundsHold, AttentionMasksGqaAndRaggedSizes) {
  AttentionProblem window = attention(4000, 64, MaskKind::SlidingWindow, 2, 4);
  window.window = 333;
  window.keyLen = 4100;
  expectAttentionBoundsHold(window, target("sm_90"), Algorithm::Flash2);
  AttentionProblem gqa = attention(131072, 128, MaskKind::Causal, 1, 32);
  gqa.keyHeads = 4;
  expectAttentionBoundsHold(gqa, target("sm_90"), Algorithm::Flash2);
  AttentionProblem decode = attention(1, 128, MaskKind::None, 8, 32);
  decode.keyHeads = 8;
  decode.keyLen = 32768;
  expectAttentionBoundsHold(decode, target("sm_90"), Algorithm::Flash2);
  AttentionProblem mod = attention(3000, 128, MaskKind::Causal);
  mod.hasMaskMod = mod.hasScoreMod = true;
  expectAttentionBoundsHold(mod, target("sm_80"), Algorithm::Flash2);
}

TEST(BoundsHold, Recurrences) {
  expectLinearBoundsHold(linear(8192, 256, 512, GateKind::MlstmExp),
                         target("sm_90"));
  expectLinearBoundsHold(linear(8192, 128, 128, GateKind::Decay, 4, 16),
                         target("sm_90"));
  LinearProblem gla = linear(5000, 64, 128, GateKind::Vector, 2, 4);
  gla.hasInitialState = gla.returnsFinalState = true;
  expectLinearBoundsHold(gla, target("sm_80"));
  expectLinearBoundsHold(linear(4096, 256, 256, GateKind::MlstmSig),
                         target("sm_test_small"));
}
