//===- CostModelTest.cpp - resources, traffic and time of schedules -------===//
//
// Shared-memory plans against the emitter's table (docs/emitter-target.md),
// register estimates against its ptxas counts, traffic and FLOPs worked out
// by hand for small tilings, and the time model's corner cases.
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/AttentionCost.h"
#include "schedule/LinearCost.h"
#include "schedule/Roofline.h"
#include "schedule/Visibility.h"

#include <gtest/gtest.h>

using namespace flashgen::schedule;
using namespace flashgen::schedule::test;

namespace {

Schedule flash2(int64_t d, int64_t tileQ, int64_t tileKv, int64_t stages,
                int64_t warps) {
  Schedule s;
  s.algorithm = Algorithm::Flash2;
  s.tileQ = tileQ;
  s.tileKv = tileKv;
  s.tileD = s.tileDv = d;
  s.stages = stages;
  s.warps = warps;
  return s;
}

Schedule chunked(Algorithm form, int64_t chunk, int64_t innerQ, int64_t innerKv,
                 int64_t tileDv, int64_t stages, int64_t warps) {
  Schedule s;
  s.algorithm = form;
  s.chunk = chunk;
  s.innerQ = innerQ;
  s.innerKv = innerKv;
  s.tileDv = tileDv;
  s.stages = stages;
  s.warps = warps;
  return s;
}

} // namespace

TEST(AttentionResources, SharedMemoryMatchesTheEmitterTable) {
  // docs/emitter-target.md, (tile_q D + stages tile_kv (D + Dv)) x 2:
  //   d=128 128x32 3 stages: (16384 + 3 x 32 x 256) x 2 = 80 KiB
  //   d=64  128x64 2 stages: (8192 + 2 x 64 x 128) x 2  = 48 KiB
  //   d=64  128x32 3 stages: (8192 + 3 x 32 x 128) x 2  = 40 KiB
  //   d=256 128x64 2 stages: (32768 + 2 x 64 x 512) x 2 = 192 KiB
  //   d=256 64x32  3 stages: (16384 + 3 x 32 x 512) x 2 = 128 KiB
  struct Row {
    int64_t d, tq, tkv, stages, warps, kib;
  } rows[] = {{128, 128, 32, 3, 4, 80},
              {64, 128, 64, 2, 4, 48},
              {64, 128, 32, 3, 4, 40},
              {256, 128, 64, 2, 8, 192},
              {256, 64, 32, 3, 4, 128}};
  for (const Row &r : rows)
    EXPECT_EQ(attentionSmemBytes(attention(1024, r.d),
                                 flash2(r.d, r.tq, r.tkv, r.stages, r.warps)),
              r.kib * 1024)
        << r.d << " " << r.tq << "x" << r.tkv;
}

TEST(AttentionResources, RegisterModelSeparatesMeasuredSpills) {
  // ptxas (NVRTC 13.0, sm_90a) on the emitter's flash2 kernels: schedules
  // that compiled without spilling must be admitted (estimate <= 255), those
  // that spilled at 255 registers rejected. A sample of the calibration set
  // (AttentionCost.cpp).
  struct Row {
    int64_t d, tq, tkv, warps;
    bool causal;
    int64_t measured;
    bool spilled;
  } rows[] = {
      {64, 128, 64, 4, false, 235, false},  {128, 128, 16, 4, true, 247, false},
      {256, 64, 16, 4, false, 244, false},  {256, 128, 16, 8, false, 244, false},
      {128, 64, 16, 2, false, 242, false},  {128, 16, 32, 1, false, 254, false},
      {128, 128, 32, 4, false, 255, true},  {128, 64, 32, 2, false, 255, true},
      {128, 256, 32, 8, true, 255, true},   {64, 128, 128, 4, false, 255, true},
      {64, 256, 32, 4, false, 255, true},
  };
  for (const Row &r : rows) {
    AttentionProblem p =
        attention(1024, r.d, r.causal ? MaskKind::Causal : MaskKind::None);
    int64_t estimate =
        attentionRegisters(p, flash2(r.d, r.tq, r.tkv, 2, r.warps));
    SCOPED_TRACE(std::to_string(r.d) + " " + std::to_string(r.tq) + "x" +
                 std::to_string(r.tkv) + " over " + std::to_string(r.warps) +
                 " warps, measured " + std::to_string(r.measured));
    if (r.spilled)
      EXPECT_GT(estimate, 255);
    else
      EXPECT_LE(estimate, 255);
  }
  // d = 128, 128 x 32 over 4 warps (32 rows each; the 240-register row of
  // docs/emitter-target.md, which spills with today's emitter): scores
  // 32 x 32 / 32 = 32, O 32 x 128 / 32 = 128, copies (32 x 256 x 2 +
  // 128 x 128 x 2) / 16 / 128 = 24: 60 + 1.3 x 32 + 0.8 x 128 + 3 x 4 +
  // 2 x 24 + 4 (margin) = 268.
  EXPECT_EQ(attentionRegisters(attention(1024, 128), flash2(128, 128, 32, 2, 4)),
            268);
}

TEST(AttentionResources, DSplitPlan) {
  // (stages (tile_q + tile_kv) tile_d + 2 tile_kv tile_dv) x 2
  //   = (2 x 96 x 32 + 2 x 32 x 256) x 2 = 45056 bytes.
  Schedule s;
  s.algorithm = Algorithm::Flash2DSplit;
  s.tileQ = 64;
  s.tileKv = 32;
  s.tileD = 32;
  s.tileDv = 256;
  s.stages = 2;
  s.warps = 4;
  EXPECT_EQ(attentionSmemBytes(attention(1024, 512), s), 45056);
  EXPECT_EQ(attentionValueSlices(attention(1024, 512), s), 2);
  // Registers, 16 rows per warp: 60 + 1.3 x 16 (scores) + 0.8 x 128 (O
  // slice, 16 x 256 / 32) + 3 x 32 / 32 + 2 x (32 x 288 x 2 + 64 x 32 x 2)
  // / 16 / 128 (11 copies) + 4 = 212.2 -> 213.
  EXPECT_EQ(attentionRegisters(attention(1024, 512), s), 213);
}

TEST(AttentionTraffic, Flash2ByHand) {
  // B = H = 1, N = M = 256, D = Dv = 64, 64 x 64 tiles. No mask: Q 256 x 64,
  // each of 4 query tiles reads all 256 K/V rows (4 x 256 x 128), O 256 x 64
  // -> 16384 + 131072 + 16384 = 163840 elements = 327680 bytes.
  const Target &h100 = target("sm_90");
  Schedule s = flash2(64, 64, 64, 2, 4);
  Evaluation plain = evaluateAttention(attention(256, 64), h100, s);
  EXPECT_EQ(plain.globalBytes, 327680);
  // 16 tile pairs x 2 x 64 x 64 x (64 + 64) FLOPs.
  EXPECT_DOUBLE_EQ(plain.flops, 16.0 * 2 * 64 * 64 * 128);
  // Causal: query tile i reads key tiles 0..i, 1 + 2 + 3 + 4 = 10 tiles of
  // 64 rows: 640 x 128 + 2 x 16384 = 114688 elements = 229376 bytes.
  Evaluation causal =
      evaluateAttention(attention(256, 64, MaskKind::Causal), h100, s);
  EXPECT_EQ(causal.globalBytes, 229376);
  EXPECT_DOUBLE_EQ(causal.flops, 10.0 * 2 * 64 * 64 * 128);
  // Everything fits the L2: HBM sees each byte once.
  EXPECT_EQ(causal.hbmBytes, 4 * 256 * 64 * 2);
}

TEST(AttentionTraffic, SlidingWindowTilesByHand) {
  // N = M = 256, window 64, 64 x 64 tiles: query tile i (rows 64i..64i+63)
  // sees keys 64i - 63 .. 64i + 63: key tiles max(0, i - 1) .. i, so
  // 1 + 2 + 2 + 2 = 7 tile pairs; tile pairs needing a mask: all of them
  // (the diagonal tile and the window edge).
  AttentionProblem p = attention(256, 64, MaskKind::SlidingWindow);
  p.window = 64;
  TileVisit v = visitTiles(p, 64, 64);
  EXPECT_EQ(v.tilePairs, 7);
  EXPECT_EQ(v.keyRowsLoaded, 7 * 64);
  EXPECT_EQ(v.maskedTilePairs, 7);
  // Without a mask only the ragged end needs one: M = 250 has a last tile
  // of 58 keys, seen by every query tile.
  AttentionProblem ragged = attention(256, 64);
  ragged.keyLen = 250;
  TileVisit r = visitTiles(ragged, 64, 64);
  EXPECT_EQ(r.tilePairs, 16);
  EXPECT_EQ(r.maskedTilePairs, 4);
  EXPECT_EQ(r.keyRowsLoaded, 4 * 250);
}

TEST(AttentionTraffic, DSplitByHand) {
  // N = M = 256, D = Dv = 512, 64 x 64 tiles, tile_d = 128, tile_dv = 256
  // (2 slices), no mask, 4 x 4 tile pairs:
  //   Q re-read per key tile and slice: 2 x (4 tiles x 64 rows x 4) x 512
  //   = 1048576; K per query tile and slice: 2 x 4 x 256 x 512 = 1048576;
  //   V per query tile (its slice each): 4 x 256 x 512 = 524288;
  //   O 256 x 512 = 131072. 2752512 elements = 5505024 bytes.
  Schedule s;
  s.algorithm = Algorithm::Flash2DSplit;
  s.tileQ = s.tileKv = 64;
  s.tileD = 128;
  s.tileDv = 256;
  s.stages = 2;
  s.warps = 4;
  Evaluation e = evaluateAttention(attention(256, 512), target("sm_90"), s);
  EXPECT_EQ(e.globalBytes, 5505024);
  // Q K^T is computed once per slice: 16 pairs x 2 x 64 x 64 x (2 x 512 +
  // 512) FLOPs.
  EXPECT_DOUBLE_EQ(e.flops, 16.0 * 2 * 64 * 64 * (2 * 512 + 512));
  EXPECT_EQ(e.kernels.front().ctas, 4 * 2);
}

TEST(AttentionTraffic, L2ReuseBreaksForLongGqaSequences) {
  // 32 query heads on 4 KV heads, N = 131072, d = 128: one KV head's K/V is
  // 131072 x 256 x 2 = 64 MiB, more than half the 50 MiB L2, and the 8
  // query heads sharing it are 8 x 1024 query tiles apart in launch order,
  // far more than the resident CTAs: each query head fetches it again.
  AttentionProblem p = attention(131072, 128, MaskKind::None, 1, 32);
  p.keyHeads = 4;
  Schedule s = flash2(128, 128, 32, 2, 4);
  Evaluation e = evaluateAttention(p, target("sm_90"), s);
  int64_t qo = 32LL * 131072 * 256 * 2, kvHead = 131072LL * 256 * 2;
  // Within a head the 1024 query tiles exceed the resident set too.
  EXPECT_GT(e.hbmBytes, qo + 4 * kvHead * 8);
  EXPECT_LE(e.hbmBytes, e.globalBytes);
  // A short sequence fits: compulsory traffic only.
  AttentionProblem shortSeq = p;
  shortSeq.queryLen = shortSeq.keyLen = 4096;
  Evaluation f = evaluateAttention(shortSeq, target("sm_90"), s);
  EXPECT_EQ(f.hbmBytes, 32LL * 4096 * 256 * 2 + 4LL * 4096 * 256 * 2);
}

TEST(LinearCost, InnerTilePairs) {
  // L = 64, inner 32 x 16: query tile 0 needs key tiles 0..1, tile 1 0..3.
  EXPECT_EQ(linearInnerTilePairs(64, 32, 16), 2 + 4);
  // L = 128, 64 x 64: 1 + 2.
  EXPECT_EQ(linearInnerTilePairs(128, 64, 64), 3);
  // One tile: 1.
  EXPECT_EQ(linearInnerTilePairs(64, 64, 64), 1);
}

TEST(LinearCost, TrafficOfBothFormsByHand) {
  // B = H = 1, T = 256, Dk = Dv = 64, no gate, tile_dv = 32 (2 slices),
  // L = 64 (4 chunks).
  // fused: q, k per slice 2 x 256 x 128 x 2 = 131072; v in, o out
  //   2 x 256 x 64 x 2 = 65536 -> 196608.
  // two-pass, states: k per slice 2 x 256 x 64 x 2 = 65536, v 32768,
  //   5 states x 64 x 64 x 4 = 81920 -> 180224; outputs: q, k per slice
  //   131072, v and o 65536, 4 states read 65536 -> 262144. 442368.
  LinearProblem p = linear(256, 64, 64, GateKind::None);
  const Target &h100 = target("sm_90");
  Evaluation fused = evaluateLinear(
      p, h100, chunked(Algorithm::ChunkFused, 64, 64, 64, 32, 2, 4));
  EXPECT_EQ(fused.globalBytes, 196608);
  ASSERT_EQ(fused.kernels.size(), 1u);
  EXPECT_EQ(fused.kernels[0].ctas, 2);
  Evaluation two = evaluateLinear(
      p, h100, chunked(Algorithm::ChunkTwoPass, 64, 64, 64, 32, 2, 4));
  ASSERT_EQ(two.kernels.size(), 2u);
  EXPECT_EQ(two.kernels[0].globalBytes, 180224);
  EXPECT_EQ(two.kernels[1].globalBytes, 262144);
  EXPECT_EQ(two.kernels[1].ctas, 4 * 2);
  // FLOPs per slice and chunk: inner 1 pair x 2 x 64 x 64 x (64 + 32),
  // inter 2 x 64 x 64 x 32, update 2 x 64 x 64 x 32.
  double perChunkSlice = 2.0 * 64 * 64 * 96 + 2 * (2.0 * 64 * 64 * 32);
  EXPECT_DOUBLE_EQ(fused.flops, 4 * 2 * perChunkSlice);
  EXPECT_DOUBLE_EQ(two.flops, fused.flops);
}

TEST(Roofline, WaveQuantisationAndBinding) {
  const Target &h100 = target("sm_90");
  KernelCost k;
  k.warps = 4;
  k.smemBytes = 100 * 1024;
  k.registersPerThread = 128;
  k.pipelined = true;
  k.flops = 1e12;
  // One CTA per SM, one wave: every SM busy.
  k.ctas = 132;
  estimateKernelTime(h100, k);
  EXPECT_EQ(k.ctasPerSM, 2);
  EXPECT_DOUBLE_EQ(k.parallelEfficiency, 1.0);
  EXPECT_EQ(k.binding, "math");
  double oneWave = k.seconds;
  // One CTA more: the busiest SM runs two, the tail costs a whole wave.
  k.ctas = 133;
  estimateKernelTime(h100, k);
  EXPECT_NEAR(k.parallelEfficiency, 133.0 / 264.0, 1e-12);
  EXPECT_EQ(k.binding, "math");
  EXPECT_GT(k.seconds, 1.9 * (oneWave - 3e-6));
  // A quarter of the SMs busy: parallelism binds.
  k.ctas = 33;
  estimateKernelTime(h100, k);
  EXPECT_EQ(k.binding, "parallelism");
  // A CTA that does not fit: infinite time, never chosen.
  k.smemBytes = 300 * 1024;
  estimateKernelTime(h100, k);
  EXPECT_EQ(k.ctasPerSM, 0);
  EXPECT_EQ(k.binding, "does-not-fit");
}

TEST(Roofline, Occupancy) {
  const Target &h100 = target("sm_90");
  // 100 KiB + 1 KiB reserved: 228 / 101 = 2 CTAs by shared memory.
  EXPECT_EQ(ctasPerSM(h100, 100 * 1024, 64, 128), 2);
  // 255 registers round to 256; 256 x 256 threads = 65536: one CTA.
  EXPECT_EQ(ctasPerSM(h100, 1024, 255, 256), 1);
  // 2048 threads per SM: four 512-thread CTAs at 32 registers.
  EXPECT_EQ(ctasPerSM(h100, 1024, 32, 512), 4);
  EXPECT_EQ(ctasPerSM(h100, 1024, 256, 32), 0);
}

// schedule::fmaExp2Every: the share of the softmax's exponentials moved to
// the FMA pipe follows the MUFU load, worked out by hand. On the H200 a
// MUFU instruction takes 8 issue cycles' worth of its pipe (128 FP32 / 16
// MUFU per clock and SM).
TEST(SoftmaxExponentials, MovedToTheFmaPipeWhereTheMufuBinds) {
  const Target &h200 = target("h200");
  // Plain attention: 1 exp2 (8 MUFU cycles) against 4 + 1 issue slots: a
  // share of 3 / 17 < 1/4, so every exp2 stays on the MUFU.
  EXPECT_EQ(fmaExp2Every(attention(8192, 128), h200), 0);
  // Softcap (tanh per score, and the region's two multiplies): 16 MUFU
  // cycles against 4 + 2 + 2 slots, share 8 / 17: one in every 3.
  AttentionProblem softcap = attention(8192, 128);
  softcap.hasScoreMod = true;
  softcap.scoreModSfuOps = 1;
  softcap.scoreModAluOps = 2;
  EXPECT_EQ(fmaExp2Every(softcap, h200), 3);
  // ALiBi: no transcendental per score (the slope is per head), 6 more
  // issue slots: none.
  AttentionProblem alibi = attention(8192, 128);
  alibi.hasScoreMod = true;
  alibi.scoreModSfuOps = 0;
  alibi.scoreModAluOps = 6;
  EXPECT_EQ(fmaExp2Every(alibi, h200), 0);
  // Two transcendentals per score: 24 cycles against 4 + 3 slots, share 1.
  AttentionProblem heavy = softcap;
  heavy.scoreModSfuOps = 2;
  heavy.scoreModAluOps = 0;
  EXPECT_EQ(fmaExp2Every(heavy, h200), 2);
  // The A100's FP32 pipe is half as wide (a ratio of 4): softcap's 8
  // MUFU cycles meet its 8 issue slots, nothing to move.
  EXPECT_EQ(fmaExp2Every(softcap, target("sm_80")), 0);
}
