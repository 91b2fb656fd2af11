//===- AttentionGrad.cpp - schedules of the attention backward ------------===//
//
// The cost model, per (batch, head), with the tile visits of Visibility.cpp
// (the kv kernel visits the same (query tile, key tile) pairs as the
// forward, from the key tile's side):
//
// Global traffic (what CTAs load and store):
//   prep     O and dO once (2 N Dv e), delta written (4 N); flash2_grad
//            zeroes the accumulator (4 N D).
//   kv       K, V read and dK, dV written once per KV head (2 M (D + Dv) e);
//            per visited pair the Q and dO rows of the query tile, its lse
//            and delta (queryRowLoads ((D + Dv) e + 8)); flash2_grad adds
//            the dQ rows into the accumulator (queryRowLoads 4 D of
//            red.global.add).
//   dq       Q, dO, lse and delta once (N ((D + Dv) e + 8)), K and V rows
//            of each query tile's key range (keyRowsLoaded (D + Dv) e), dq
//            written once (N D e).
//   convert  the accumulator read (4 N D), dq written (N D e).
// HBM traffic: the kv kernel's CTAs of one KV head are the key tiles, one
// after the other in launch order (key tile fastest); they all stream the
// same query rows of the group's heads, so those rows (and the
// accumulator's lines, fetched and written back) come from HBM once per L2
// fetch pass over the key tiles (l2FetchPasses); the dq kernel's K/V reuse
// is the forward's (AttentionCost.cpp), by query tiles.
// FLOPs: per visited pair, kv: S^T = K Q^T, dP^T = V dO^T, dV += P^T dO,
// dK += dS^T Q (2 Br Bc (2 Dp + 2 Dvp)), flash2_grad also dQ = dS K
// (2 Br Bc Dp); dq: S, dP, dQ += dS K (2 Br Bc (2 Dp + Dvp)). Whole padded
// tiles are computed, as in the forward. SFU: one exp2 per score (P from
// the lse), plus the score_mod's; FP32: the element-wise steps per score,
// the mask on masked pairs. Shared memory per visited pair: the ring's
// stores, each warp's A fragments of its own rows, every warp's B fragments
// of the whole streamed tile, dS^T's store and loads. Time: each kernel on
// the roofline (Roofline.h: mma.sync at the target's calibrated efficiency,
// waves of CTAs over the SMs), the kernels one after the other.
//
// The IO bound. The backward's inputs are q, k, v, o, dO and lse (no
// scores are kept from the forward), so every schedule of the standard
// backward DAG computes S_ij = q_i . k_j for every visible pair (P_ij =
// exp(S_ij - lse_i) enters dV and dS elementwise): the same P x D scalar
// products the forward's bound counts. IOBounds.cpp's segment argument
// holds unchanged for them (it only counts those products, wherever they
// sit in the DAG; recomputing a product only adds work), so the backward's
// traffic across a memory of M elements is at least
//   P D^2 / (4 (D sqrt(M) + M)) - M,
// and never below the compulsory traffic: q, k, v read where some visible
// pair uses them, o, dO and lse of the query rows that see a key (delta =
// rowsum(o dO) is needed only there), dq, dk, dv written whole. The dP =
// dO V^T, dV and dK products are left out, as the forward leaves out P V:
// the bound is conservative. A mask_mod drops the quadratic term (its
// sparsity is unknown).
//
//===----------------------------------------------------------------------===//

#include "schedule/AttentionGrad.h"

#include "schedule/AttentionCost.h"
#include "schedule/AttentionSpace.h"
#include "schedule/Roofline.h"
#include "schedule/Units.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

using namespace flashgen::schedule;

namespace {

/// lse, delta and the dQ accumulator are f32.
constexpr int64_t kF32Bytes = 4;
/// Bytes per thread of one cp.async copy: tiles load in 16-byte chunks.
constexpr int64_t kCopyBytes = 16;
/// The backward kernels' 16-column MMA steps (mma.sync.m16n8k16).
constexpr int64_t kMinGradHeadDim = 32;
/// Rows of one mma.sync tile: each warp owns whole ones.
constexpr int64_t kMmaRows = 16;
/// Tile sizes and warps the spaces offer, and the ring depths the kernels
/// take.
constexpr int64_t kGradTileChoices[] = {32, 64, 128};
constexpr int64_t kGradWarpChoices[] = {2, 4, 8};
constexpr int64_t kMinGradStages = 2, kMaxGradStages = 3;

/// Registers per thread besides the fragments (addresses, loop bounds,
/// the ring's indices): 56, checked against ptxas (CUDA 13, NVRTC, every
/// gradient variant of the example specs for sm_80 and sm_90a,
/// test/config/check-examples-nvrtc.sh), with two terms of the mma.sync
/// kernels those checks showed:
///   the kv kernel's dQ step (its slice and the fragments mma_AtB loads)
///   live beside dK and dV: tile_q 32, tile_kv 128, 8 warps, D 128
///   (fragments 184) used 255 registers and spilled 8-44 bytes for every
///   masked or modified spec, the same tiles without dQ none: 16 more;
///   a score_mod's derivative region with a 3-deep ring (modulo-3 stage
///   indices): tile_q = tile_kv = 32, 2 warps, D 128 spilled 4 bytes with
///   3 stages and none with 2: 8 more.
/// The wgmma kernels hold no B fragments and keep lse and D in shared
/// memory (flash.grad_rows ... into stage): 31, and 32 for flash3_grad's kv
/// kernel (its dQ slice, the staged block's addresses), checked against
/// ptxas at its limit: with fragments of 224 registers (tile_q 64, tile_kv
/// 128 and softcap's or relative_bias's derivative at D 128; tile_q =
/// tile_kv = 128 at D 64) the flash3_grad kv kernel used 254-255 and
/// spilled 4-12 bytes in 4 of 6 forms, the flash3_grad_deterministic kv
/// kernel 254-255 and none; with 208 (no score_mod, D 128) 252-255, none.
constexpr int64_t kGradAddressRegisters = 56;
constexpr int64_t kGradWarpgroupAddressRegisters = 31;
constexpr int64_t kGradWarpgroupDqStepRegisters = 1;
constexpr int64_t kGradAtomicDqStepRegisters = 16;
constexpr int64_t kGradScoreModRingRegisters = 8;
/// Under a block mask the kv kernel keeps where each query head of its
/// group ends its steps (the select chain that finds a step's head and
/// list position reads them all) and walks the lists: flash3_grad's (atomic
/// dQ) at its fragments of 208 (D 128, 64 x 128) and 32 fixed, checked
/// against ptxas on bench/attention/specs/sparse and examples/block_sparse:
/// groups of 1 and 2 used 254-255 registers and spilled nothing, groups of
/// 4 spilled 8-16 bytes (2 and 3 stages, causal), of 8 0-16: 6 a head past
/// the first takes it out from 4 heads on. The deterministic kv kernel (no
/// dQ step; 64 x 64) used 248-254 and spilled nothing at every group. The
/// mma.sync kv kernels (56 fixed): flash2_grad_deterministic 32 x 32 at
/// fragments of 184 spilled 12-16 bytes at groups of 4 and 8, none at 1
/// and 2: the same 6 a head past the first.
constexpr int64_t kGradBlockListRegistersPerExtraHead = 6;
/// The warpgroup dq kernel past D = 128 (dQ += dS K of N = D on wgmma):
/// at D = 256, 64 x 64 tiles, ptxas used 255 registers and spilled 48
/// bytes where the fragments and fixed registers above count 223 (at D =
/// 128 they count 159 and ptxas used 158): 44 more.
constexpr int64_t kGradWideDqRegisters = 44;
/// The kv kernel computes and adds dQ in column slices this wide
/// (AttentionGradEmitter.cpp's kDqCols).
constexpr int64_t kDqSliceColumns = 32;
/// prep and convert hold a few row values and addresses.
constexpr int64_t kStreamKernelRegisters = 32;
/// prep and convert stage nothing in shared memory, but ctasPerSM
/// (Roofline.cpp) divides the SM's shared memory by a CTA's plus the
/// target's reservation, which is 0 on sm_test_small: the model counts
/// them one 16-byte line, which changes no occupancy.
constexpr int64_t kStreamKernelModelSmemBytes = 16;

/// FP32 work per score outside the MMAs. kv: P = exp2(S scale - lse) (one
/// FMA), dS = P (dP - delta) (two), P and dS to 16 bits (two). dq: the
/// same without P's conversion. Estimates.
constexpr double kKvAluPerScore = 5;
constexpr double kDqAluPerScore = 4;
/// One exp2 per score: P from the saved lse.
constexpr double kGradSfuPerScore = 1;
/// Cycles a kv or dq step of a warpgroup kernel waits for its ring slot
/// (Q, dO, lse and D, or K and V) when the ring issued it one step ahead;
/// issued further ahead (stages - 1 steps) the wait divides by the
/// distance. Fitted on the lent H100 (bench/attention/bench_backward.py,
/// flash3_grad 64 x 128 at D 128, 2 against 3 stages): 278 to 877 cycles a
/// step (N 8192 to 2048), L / 2 = 400.
constexpr double kGradStepLatencyCycles = 800;
/// SM cycles the steps of a warpgroup kernel wait for their ring slots.
double ringWaitCycles(double pairs, const Schedule &s) {
  return pairs * kGradStepLatencyCycles /
         static_cast<double>(std::max<int64_t>(1, s.stages - 1));
}
/// Barrier-separated steps per visited pair of the kv kernel: the ring
/// slot's arrival and dS^T's store before dK's MMA reads it.
constexpr double kKvStepsPerPair = 2;

bool atomicDq(const Schedule &s) { return gradAtomicDq(s.algorithm); }
bool hasDqKernel(const Schedule &s) { return !gradAtomicDq(s.algorithm); }
bool warpgroupMma(const Schedule &s) { return usesWgmma(s.algorithm); }

/// Warps of one warpgroup: flash3_grad's warps come in whole warpgroups,
/// each owning 64 rows (16 per warp) of the kernel's row tile.
constexpr int64_t kWarpgroupWarps = 4;
/// Head dims of flash3_grad: wgmma's swizzled tiles hold rows of 64-column
/// slabs, and dV += P^T dO, dK += dS^T Q take N = Dv, D in steps of 64.
constexpr int64_t kWgmmaHeadDimStep = 64;
/// Rows of one wgmma tile (M).
constexpr int64_t kWgmmaRows = 64;
/// Warps per CTA flash3_grad offers: one or two warpgroups.
constexpr int64_t kGrad3WarpChoices[] = {4, 8};

/// The kernels' tile columns: the head dim, padded where the precondition
/// would refuse it anyway (every head dim it takes is a power of two or,
/// on wgmma, a multiple of 64 such as MLA's 192).
int64_t gradTileColumns(int64_t d) {
  return d % kWgmmaHeadDimStep == 0 ? d : paddedTileColumns(d);
}
int64_t dPad(const AttentionProblem &p) { return gradTileColumns(p.headDim); }
int64_t dvPad(const AttentionProblem &p) { return gradTileColumns(p.valueDim); }

/// flash3_grad's dQ step: dQ = dS K on wgmma, the tile_q x D product cut
/// into 64-row blocks of query rows (wgmma's M), the warpgroups of a block
/// over D's columns, each warpgroup one 64 x (D / split) product whose N
/// is a multiple of 64 (the MN-major operands' swizzle atom; AttentionGrad
/// Emitter.cpp's kDqRowBlocks, kDqColSplit, kDqCols). Returns a warpgroup's
/// rows and columns, or {0, 0} when the warpgroups do not divide the
/// product that way.
std::pair<int64_t, int64_t> dqWarpgroupShare(int64_t tileQ, int64_t headDim,
                                             int64_t warps) {
  const int64_t warpgroups = warps / kWarpgroupWarps;
  if (warpgroups < 1 || tileQ % kWgmmaRows != 0)
    return {0, 0};
  const int64_t rowBlocks = tileQ / kWgmmaRows;
  if (warpgroups % rowBlocks != 0)
    return {0, 0};
  const int64_t split = warpgroups / rowBlocks;
  if (headDim % split != 0 || (headDim / split) % kWgmmaHeadDimStep != 0)
    return {0, 0};
  return {kWgmmaRows, headDim / split};
}

// The kernels' shared-memory plans (the header's formulas).
int64_t kvSmemBytes(const AttentionProblem &p, const Schedule &s,
                    GradKernel part) {
  const int64_t row = dPad(p) + dvPad(p);
  const bool dq = gradKernelAddsDq(s, part);
  // dS^T is staged for the dQ product of the atomic schedules; the
  // warpgroup schedules' ring also holds each stage's f32 lse and D, and
  // flash3_grad stages each warp's 16 x 64 block of dQ for the copy
  // engine's reduction.
  int64_t bytes = (s.tileKv * row + s.stages * s.tileQ * row +
                   (dq ? s.tileKv * s.tileQ : 0)) *
                  p.elementBytes;
  if (warpgroupMma(s))
    bytes += s.stages * 2 * s.tileQ * kF32Bytes +
             2 * s.stages * kGradRingArrivalBytes;
  if (gradDqBlocked(s) && dq)
    bytes += s.warps * kGradDqBlockRows * kGradDqBlockColumns * kF32Bytes;
  return bytes;
}
int64_t dqSmemBytes(const AttentionProblem &p, const Schedule &s) {
  const int64_t row = dPad(p) + dvPad(p);
  return (s.tileQ * row + s.stages * s.tileKv * row) * p.elementBytes +
         (warpgroupMma(s) ? 2 * s.stages * kGradRingArrivalBytes : 0);
}

/// 32-bit registers of `elements` values spread over a warp's 32 lanes,
/// `perRegister` values to a register.
int64_t lanes(int64_t elements, int64_t perRegister = 1) {
  return ceilDiv(elements, 32 * perRegister);
}

/// flash2_grad's dQ step splits the tile_q x D product among the warps: as
/// many row groups of whole 16-row tiles as tile_q allows (at most warps),
/// the remaining factor splitting D's columns (AttentionGradEmitter.cpp's
/// kDqRowWarps, kDqColWarps). Returns the rows and columns of one warp's
/// share, or {0, 0} when the warps do not divide the product that way.
std::pair<int64_t, int64_t> dqWarpShare(int64_t tileQ, int64_t headDim,
                                        int64_t warps) {
  if (warps < 1 || tileQ < kMmaRows || tileQ % kMmaRows != 0)
    return {0, 0};
  const int64_t rowWarps = std::min(warps, tileQ / kMmaRows);
  if (warps % rowWarps != 0 || tileQ % (kMmaRows * rowWarps) != 0)
    return {0, 0};
  const int64_t colWarps = warps / rowWarps;
  if (headDim % (kMmaRows * colWarps) != 0)
    return {0, 0};
  return {tileQ / rowWarps, headDim / colWarps};
}

/// Whether a gradient kernel's score_mod code holds registers beside the
/// score tiles (the constants' comment): the raw score's 16-bit copy that
/// score_grad's factor reads, or, measured as needing as much, a region
/// that reads a table per element (relative_bias). A bias linear in the
/// positions with the constant derivative 1 (ALiBi) keeps two values.
bool gradScoreModHoldsRegisters(const AttentionProblem &p) {
  return p.hasScoreMod && (p.scoreGradHasFactor || !p.scoreModIsPositionBias);
}

/// Registers besides the fragments of one kernel (the constants' comment).
int64_t gradFixedRegisters(const AttentionProblem &p, const Schedule &s,
                           bool kvKernel, GradKernel part = GradKernel::Kv) {
  int64_t fixed = warpgroupMma(s) ? kGradWarpgroupAddressRegisters
                                   : kGradAddressRegisters;
  if (kvKernel && gradKernelAddsDq(s, part))
    fixed += warpgroupMma(s) ? kGradWarpgroupDqStepRegisters
                             : kGradAtomicDqStepRegisters;
  if (gradScoreModHoldsRegisters(p) && s.stages > 2)
    fixed += kGradScoreModRingRegisters;
  // A kv kernel walking lists (a block mask's, or a mask_lists pre-pass's)
  // keeps each further head of the GQA group's list end.
  if (kvKernel && (p.blockQ > 0 || s.maskLists != 0) &&
      (!warpgroupMma(s) || atomicDq(s)))
    fixed += kGradBlockListRegistersPerExtraHead * (p.queryHeads / p.keyHeads - 1);
  return fixed;
}

/// kv kernel, per thread, with r = tile_kv / warps key rows per warp: the
/// f32 dK, dV accumulators (r (Dp + Dvp) / 32), the f32 score tiles S^T and
/// dP^T (2 r Br / 32, and where a score_mod holds registers, gradScoreModHoldsRegisters,
/// as many as a bf16 copy of S, r Br / 64), their 16-bit operand copies (r Br / 64), and the lse and D
/// of the tile's query columns (Br / 4 per lane each: a lane holds two
/// columns of every 8). flash2_grad's dQ step holds a slice of (Br /
/// warps) x kDqSliceColumns f32 values while S and dP are dead: the larger
/// phase counts.
int64_t kvRegisters(const AttentionProblem &p, const Schedule &s,
                    GradKernel part) {
  const int64_t warps = std::max<int64_t>(1, s.warps);
  const int64_t r = ceilDiv(s.tileKv, warps);
  // The split halves hold one accumulator each; kv_dv no dP^T.
  const bool dv = gradKernelComputesDv(part), dk = gradKernelComputesDk(part);
  const int64_t columns = (dk ? dPad(p) : 0) + (dv ? dvPad(p) : 0);
  const int64_t accumulators = lanes(r * columns);
  const int64_t scoreTiles = dk ? 2 : 1;
  const int64_t scores = lanes(scoreTiles * r * s.tileQ) +
                         (gradScoreModHoldsRegisters(p) ? lanes(r * s.tileQ, 2) : 0);
  const int64_t operands = lanes(r * s.tileQ, 2);
  // The warpgroup kernels read lse and D from the ring (shared memory).
  const int64_t rowColumns = warpgroupMma(s) ? 0 : s.tileQ / 2;
  int64_t live = accumulators + scores + operands + rowColumns;
  if (!gradKernelAddsDq(s, part)) {
    // no dQ step
  } else if (gradDqBlocked(s)) {
    // dQ's wgmma tile (one 64-column slice, a block of the accumulator)
    // while dK's product still reads its dS^T operand.
    live = std::max(live, accumulators + operands +
                              lanes(kMmaRows * kGradDqBlockColumns));
  } else if (atomicDq(s)) {
    auto [rows, cols] = dqWarpShare(s.tileQ, dPad(p), warps);
    live = std::max(live, accumulators + lanes(std::max<int64_t>(rows, kMmaRows) *
                                               std::min(std::max<int64_t>(cols, 8),
                                                        kDqSliceColumns)));
  }
  return live + gradFixedRegisters(p, s, /*kvKernel=*/true, part);
}

/// dq kernel, per thread, with R = tile_q / warps query rows per warp: the
/// f32 dQ accumulator (R Dp / 32), S and dP (2 R Bc / 32, and a 16-bit
/// copy's worth where a score_mod holds registers).
int64_t dqRegisters(const AttentionProblem &p, const Schedule &s) {
  const int64_t rows = ceilDiv(s.tileQ, std::max<int64_t>(1, s.warps));
  const int64_t fragments = lanes(rows * dPad(p)) + lanes(2 * rows * s.tileKv) +
                            (gradScoreModHoldsRegisters(p) ? lanes(rows * s.tileKv, 2) : 0);
  return fragments + gradFixedRegisters(p, s, /*kvKernel=*/false) +
         (warpgroupMma(s) && dPad(p) > kMaxGradHeadDim ? kGradWideDqRegisters : 0);
}

std::string n(int64_t v) { return std::to_string(v); }

/// Whether a rows x cols tile splits into whole 16-byte copies per thread.
bool copiesSplit(int64_t rows, int64_t cols, int64_t elementBytes,
                 int64_t threads) {
  return (rows * cols * elementBytes / kCopyBytes) % threads == 0;
}

/// The rule both the space and the checker apply: Q, dO (tile_q rows), K, V
/// (tile_kv rows), whole D (Dv) elements per row, as flash2 copies them.
bool loadsSplit(const AttentionProblem &p, int64_t tileQ, int64_t tileKv,
                int64_t warps) {
  const int64_t threads = 32 * warps, e = p.elementBytes;
  for (int64_t cols : {p.headDim, p.valueDim})
    if (!copiesSplit(tileQ, cols, e, threads) ||
        !copiesSplit(tileKv, cols, e, threads))
      return false;
  return true;
}

/// CTAs of `k` that fit on an SM at once, at least 1 (for the L2 model).
int64_t residentCtas(const Target &t, const KernelCost &k) {
  int64_t perSM = std::max<int64_t>(
      1, ctasPerSM(t, k.smemBytes, k.registersPerThread, 32 * k.warps));
  return std::min(k.ctas, t.numSMs * perSM);
}

} // namespace

std::string flashgen::schedule::attentionGradPrecondition(
    const AttentionProblem &p, const Target &t, Algorithm algorithm) {
  if (std::string why = validate(p); !why.empty())
    return why;
  if (!isAttentionGradAlgorithm(algorithm))
    return std::string("'") + algorithmName(algorithm) +
           "' is not an attention backward schedule (" +
           algorithmNames(isAttentionGradAlgorithm) + ")";
  if (p.elementBytes != 2)
    return "flashgen's attention backward kernels take 16-bit inputs (bf16, "
           "f16) for the MMA; this op has " +
           n(p.elementBytes) + "-byte elements";
  if (!t.mma(t.kernelMma))
    return t.name + " has no " + mmaKindName(t.kernelMma) + " shape";
  if (gradSplitsKv(p)) {
    if (p.headDim > kMaxSplitGradHeadDim || p.valueDim > kMaxSplitGradHeadDim)
      return "the backward takes head dims up to " + n(kMaxSplitGradHeadDim) +
             " (D = " + n(p.headDim) + ", Dv = " + n(p.valueDim) + ")";
    if (!usesWgmma(algorithm))
      return std::string(algorithmName(algorithm)) +
             " keeps dK and dV of a key tile in one kernel's registers, which "
             "hold head dims up to " +
             n(kMaxGradHeadDim) + " (D = " + n(p.headDim) + ", Dv = " +
             n(p.valueDim) +
             "); wider heads take the warpgroup schedules (flash3_grad, "
             "flash3_grad_deterministic; sm_90a), whose kv kernel is split "
             "into a dV and a dK kernel";
  }
  if (usesWgmma(algorithm)) {
    if (!t.mma(MmaKind::Wgmma))
      return std::string(algorithmName(algorithm)) + " is built on wgmma, which " +
             t.name + " does not have";
    for (int64_t d : {p.headDim, p.valueDim})
      if (d % kWgmmaHeadDimStep != 0)
        return std::string(algorithmName(algorithm)) +
               " takes head dims in multiples of 64 (wgmma's tiles hold "
               "64-column slabs; D = " +
               n(p.headDim) + ", Dv = " + n(p.valueDim) + " given)";
  }
  // The shared tiles are swizzled by power-of-two counts of 16-byte chunks
  // and the MMAs take whole 16-column steps, as in flash2's kernels
  // (wgmma's tiles are 64-column slabs: any multiple of 64, checked above).
  for (int64_t d : {p.headDim, p.valueDim})
    if (!usesWgmma(algorithm) && (!isPowerOfTwo(d) || d < kMinGradHeadDim))
      return "the attention backward kernels take head dims 32, 64 or 128 "
             "(D = " +
             n(p.headDim) + ", Dv = " + n(p.valueDim) +
             " given; pad the head dim to the next supported one)";
  return "";
}

bool flashgen::schedule::gradDqBlocked(const Schedule &s) {
  return atomicDq(s) && warpgroupMma(s);
}

bool flashgen::schedule::gradIssuesDScoresWithScores(const AttentionProblem &p) {
  return !p.hasMaskMod && !p.regionsReadTables;
}

bool flashgen::schedule::gradSplitsKv(const AttentionProblem &p) {
  return dPad(p) > kMaxGradHeadDim || dvPad(p) > kMaxGradHeadDim;
}

std::vector<GradKernel>
flashgen::schedule::attentionGradKernels(const AttentionProblem &p,
                                         const Schedule &s) {
  std::vector<GradKernel> kernels;
  if (s.maskLists != 0) {
    kernels.push_back(GradKernel::KvMaskLists);
    if (hasDqKernel(s))
      kernels.push_back(GradKernel::DqMaskLists);
  }
  kernels.push_back(GradKernel::Prep);
  if (gradSplitsKv(p)) {
    kernels.push_back(GradKernel::KvDv);
    kernels.push_back(GradKernel::KvDk);
  } else {
    kernels.push_back(GradKernel::Kv);
  }
  kernels.push_back(hasDqKernel(s) ? GradKernel::Dq : GradKernel::Convert);
  return kernels;
}

bool flashgen::schedule::isKvGradKernel(GradKernel k) {
  return k == GradKernel::Kv || k == GradKernel::KvDv || k == GradKernel::KvDk;
}

bool flashgen::schedule::gradKernelComputesDv(GradKernel k) {
  return k == GradKernel::Kv || k == GradKernel::KvDv;
}

bool flashgen::schedule::gradKernelComputesDk(GradKernel k) {
  return k == GradKernel::Kv || k == GradKernel::KvDk;
}

bool flashgen::schedule::gradKernelAddsDq(const Schedule &s, GradKernel k) {
  return gradAtomicDq(s.algorithm) && gradKernelComputesDk(k);
}

const char *flashgen::schedule::gradKernelName(GradKernel k) {
  switch (k) {
  case GradKernel::KvMaskLists:
    return "mask_lists_t";
  case GradKernel::DqMaskLists:
    return "mask_lists";
  case GradKernel::Prep:
    return "prep";
  case GradKernel::Kv:
    return "kv";
  case GradKernel::KvDv:
    return "kv_dv";
  case GradKernel::KvDk:
    return "kv_dk";
  case GradKernel::Dq:
    return "dq";
  case GradKernel::Convert:
    return "convert";
  }
  return "?";
}

int64_t flashgen::schedule::attentionGradKernelSmemBytes(
    const AttentionProblem &p, const Schedule &s, GradKernel k) {
  switch (k) {
  case GradKernel::Kv:
  case GradKernel::KvDv: // the same plan (the V tile's room unused), no dQ
  case GradKernel::KvDk:
    return kvSmemBytes(p, s, k);
  case GradKernel::Dq:
    return dqSmemBytes(p, s);
  case GradKernel::KvMaskLists: // a few words of the lists' compaction
  case GradKernel::DqMaskLists:
  case GradKernel::Prep:
  case GradKernel::Convert:
    return 0;
  }
  return 0;
}

int64_t flashgen::schedule::attentionGradKernelRegisters(
    const AttentionProblem &p, const Schedule &s, GradKernel k) {
  switch (k) {
  case GradKernel::Kv:
  case GradKernel::KvDv:
  case GradKernel::KvDk:
    return kvRegisters(p, s, k);
  case GradKernel::Dq:
    return dqRegisters(p, s);
  case GradKernel::KvMaskLists:
  case GradKernel::DqMaskLists:
  case GradKernel::Prep:
  case GradKernel::Convert:
    return kStreamKernelRegisters;
  }
  return 0;
}

int64_t flashgen::schedule::attentionGradSmemBytes(const AttentionProblem &p,
                                                   const Schedule &s) {
  int64_t smem = 0;
  for (GradKernel k : attentionGradKernels(p, s))
    smem = std::max(smem, attentionGradKernelSmemBytes(p, s, k));
  return smem;
}

int64_t flashgen::schedule::attentionGradRegisters(const AttentionProblem &p,
                                                   const Schedule &s) {
  int64_t registers = 0;
  for (GradKernel k : attentionGradKernels(p, s))
    registers = std::max(registers, attentionGradKernelRegisters(p, s, k));
  return registers;
}

LevelBound flashgen::schedule::attentionGradLevelBound(
    const AttentionProblem &p, int64_t capacityBytes, const std::string &level) {
  LevelBound b;
  b.level = level;
  b.capacityBytes = capacityBytes;
  const int64_t e = p.elementBytes, D = p.headDim, Dv = p.valueDim;
  const int64_t words = capacityBytes / e;
  b.smallCache = words < D * D;

  Visibility v = attentionVisibility(p);
  // Read: q, o, dO, lse of the rows that see a key; written: dq whole.
  int64_t perQueryHead =
      v.queryRows * ((D + 2 * Dv) * e + kF32Bytes) + p.queryLen * D * e;
  // Read: k, v of the keys some query sees; written: dk, dv whole.
  int64_t perKeyHead = (v.keyRows + p.keyLen) * (D + Dv) * e;
  b.compulsoryBytes = (p.batch * p.queryHeads * perQueryHead +
                       p.batch * p.keyHeads * perKeyHead);
  if (!p.hasMaskMod) {
    long double pairs = static_cast<long double>(v.pairs) * p.batch * p.queryHeads;
    b.extraBytes = attentionSegmentWords(pairs, D, words) * e;
  }
  b.boundBytes = std::max(b.compulsoryBytes, b.extraBytes);
  return b;
}

IOBound flashgen::schedule::attentionGradIOBound(const AttentionProblem &p,
                                                 const Target &t) {
  IOBound bound;
  bound.onChip = attentionGradLevelBound(p, t.onChipBytesPerCTA(), "on-chip");
  bound.l2 = attentionGradLevelBound(p, t.l2Bytes, "L2");
  bound.visiblePairs = attentionVisibility(p).pairs * p.batch * p.queryHeads;
  return bound;
}

Evaluation flashgen::schedule::evaluateAttentionGrad(const AttentionProblem &p,
                                                     const Target &t,
                                                     const Schedule &s) {
  return evaluateAttentionGrad(p, t, s, visitTiles(p, s.tileQ, s.tileKv));
}

Evaluation flashgen::schedule::evaluateAttentionGrad(const AttentionProblem &p,
                                                     const Target &t,
                                                     const Schedule &s,
                                                     const TileVisit &visit) {
  const int64_t e = p.elementBytes, D = p.headDim, Dv = p.valueDim;
  const int64_t N = p.queryLen, M = p.keyLen;
  const int64_t Br = s.tileQ, Bc = s.tileKv;
  const int64_t dp = dPad(p), dvp = dvPad(p);
  const int64_t heads = p.batch * p.queryHeads, kvHeads = p.batch * p.keyHeads;
  const int64_t group = std::max<int64_t>(1, p.groupSize());
  const bool atomics = atomicDq(s);
  const double warps = std::max<int64_t>(1, s.warps);
  // Readers of a whole streamed tile per step: every warp on mma.sync,
  // every warpgroup on wgmma.
  const double tileReaders = warpgroupMma(s) ? warps / kWarpgroupWarps : warps;

  // The score work every visited pair does, shared by kv and dq.
  const double pairs = static_cast<double>(heads) * visit.tilePairs;
  const double scores = pairs * Br * Bc;
  const double maskedScores =
      static_cast<double>(heads) * visit.maskedTilePairs * Br * Bc;
  const double sfuPerScore =
      kGradSfuPerScore + (p.hasScoreMod ? p.scoreModSfuOps : 0);
  // The score_mod runs forward again, and then its derivative where dS
  // takes its factor.
  const double modAlu =
      p.hasScoreMod ? (p.scoreGradHasFactor ? 2.0 : 1.0) * p.scoreModAluOps : 0;
  const double maskAlu = kMaskAluPerScore + (p.hasMaskMod ? p.maskModAluOps : 0);

  Evaluation result;

  KernelCost prep;
  prep.name = gradKernelName(GradKernel::Prep);
  prep.ctas = heads * visit.queryTiles;
  prep.warps = s.warps;
  prep.smemBytes = kStreamKernelModelSmemBytes;
  prep.registersPerThread = kStreamKernelRegisters;
  prep.pipelined = true;
  prep.globalBytes =
      heads * (2 * N * Dv * e + N * kF32Bytes + (atomics ? N * D * kF32Bytes : 0));
  prep.hbmBytes = prep.globalBytes;
  prep.aluOps = static_cast<double>(heads) * N * Dv; // one FMA per O dO element
  result.kernels.push_back(prep);

  // The kv kernel, or one of its two halves (gradSplitsKv): kv_dv reads K,
  // writes dV and computes S and dV += P^T dO; kv_dk reads K and V, writes
  // dK and computes S, dP and dK += dS^T Q (and adds dQ where the schedule
  // does). Both stream the same ring (Q, dO, lse and D); kv_dv's plan
  // leaves out dQ's staging.
  auto kvCost = [&](GradKernel part) {
    const bool values = gradKernelComputesDv(part),
               keys = gradKernelComputesDk(part);
    const bool atomics = gradKernelAddsDq(s, part);
    KernelCost kv;
    kv.name = gradKernelName(part);
    kv.ctas = kvHeads * visit.keyTiles;
    kv.warps = s.warps;
    kv.smemBytes = attentionGradKernelSmemBytes(p, s, part);
    kv.registersPerThread = attentionGradKernelRegisters(p, s, part);
    kv.pipelined = s.stages >= 2;
    {
      // K (and V for dP) in; dK, dV out.
      const int64_t keySide =
          kvHeads * M * (D + (keys ? D + Dv : 0) + (values ? Dv : 0)) * e;
      const int64_t inRow = (D + Dv) * e + 2 * kF32Bytes; // Q, dO, lse, delta
      const int64_t accRow = atomics ? D * kF32Bytes : 0; // red.global.add
      const int64_t inGlobal = heads * visit.queryRowLoads * inRow;
      const int64_t accGlobal = heads * visit.queryRowLoads * accRow;
      kv.globalBytes = keySide + inGlobal + accGlobal;
      // flash3_grad's adds are the copy engine's bulk reductions of whole
      // 16 x 64 blocks, not one L2 atomic per element.
      if (gradDqBlocked(s))
        kv.bulkReduceBytes = static_cast<double>(accGlobal);
      else
        kv.atomicOps = static_cast<double>(accGlobal) / kF32Bytes;
      // The key tiles of a KV head read the group's query rows; a window
      // keeps a key tile's query range short and its readers few.
      int64_t readers = visit.keyTiles;
      int64_t rangeRows = N;
      if (p.mask == MaskKind::SlidingWindow) {
        readers = std::min(visit.keyTiles, ceilDiv(p.window, Bc) + 1);
        rangeRows = std::min(N, p.window + Bc + 2 * Br);
      }
      const int64_t rangeBytes = group * rangeRows * (inRow + accRow);
      int64_t passes = l2FetchPasses(t, visit.keyTiles, residentCtas(t, kv),
                                     rangeBytes, readers);
      // Causal: each key tile starts at its own diagonal, so co-resident key
      // tiles read different rows at once (Roofline.h).
      if (p.mask == MaskKind::Causal)
        passes = std::max(passes, staggeredFetchPasses(t, rangeBytes));
      // The accumulator's lines are fetched and written back once per pass.
      kv.hbmBytes = keySide + std::min(inGlobal, heads * N * inRow * passes) +
                    std::min(accGlobal, heads * N * 2 * accRow * passes);
    }
    // S; dV (values); dP and dK (keys); dQ (the atomic schedules).
    kv.flops =
        2.0 * scores *
        (dp + (values ? dvp : 0) + (keys ? dvp + dp : 0) + (atomics ? dp : 0));
    // flash3_grad: every product on wgmma.
    kv.wgmmaFlops = warpgroupMma(s) ? kv.flops : 0;
    kv.sfuOps = scores * sfuPerScore;
    kv.aluOps = scores * (kKvAluPerScore + modAlu) + maskedScores * maskAlu;
    {
      // Per pair: the ring's Q and dO stores; S^T, dP^T read the warp's own
      // K, V rows and every warp the whole Q, dO tiles, dV and dK every warp
      // dO and Q again; dS^T stored and read back; the dQ step reads dS
      // (flash2_grad: each warp its rows, and every warp the whole K tile;
      // flash3_grad: each warpgroup its 64 query columns of dS^T and its
      // columns of K).
      // (kv_dv: K for S, Q for S and dO for dV; kv_dk: all but dO's second
      // read.)
      double perPair =
          Br * (dp + dvp) + Bc * (dp + (keys ? dvp : 0)) +
          tileReaders * Br * (dp + dvp) +
          (keys ? tileReaders * Br * (values ? dp + dvp : dp) + 2.0 * Bc * Br
                : 0);
      if (atomics && warpgroupMma(s))
        perPair += tileReaders * Bc * kWgmmaRows + Bc * dp;
      else if (atomics)
        perPair += Br * Bc + warps * Bc * dp;
      // K (and V) stores, dK and dV staging.
      double perCta = Bc * (dp + (keys ? dvp + dp : 0) + (values ? dvp : 0));
      kv.smemTraffic =
          (pairs * perPair + static_cast<double>(kv.ctas) * perCta) * e;
    }
    kv.steps = kKvStepsPerPair * pairs;
    if (warpgroupMma(s))
      kv.exposedCycles = ringWaitCycles(pairs, s);
    result.kernels.push_back(kv);
  };
  if (gradSplitsKv(p)) {
    kvCost(GradKernel::KvDv);
    kvCost(GradKernel::KvDk);
  } else {
    kvCost(GradKernel::Kv);
  }

  if (hasDqKernel(s)) {
    KernelCost dq;
    dq.name = gradKernelName(GradKernel::Dq);
    dq.ctas = heads * visit.queryTiles;
    dq.warps = s.warps;
    dq.smemBytes = attentionGradKernelSmemBytes(p, s, GradKernel::Dq);
    dq.registersPerThread = attentionGradKernelRegisters(p, s, GradKernel::Dq);
    dq.pipelined = s.stages >= 2;
    const int64_t queryBytes = N * ((D + Dv) * e + 2 * kF32Bytes) + N * D * e;
    const int64_t kvGlobal = heads * visit.keyRowsLoaded * (D + Dv) * e;
    dq.globalBytes = heads * queryBytes + kvGlobal;
    // The forward's L2 model of K/V (AttentionCost.cpp): the query tiles
    // that read a key row run back to back within a head; across the heads
    // of a GQA group they are queryTiles CTAs apart.
    Visibility vis = attentionVisibility(p);
    const int64_t resident = residentCtas(t, dq);
    const int64_t headKvBytes = vis.keyRows * (D + Dv) * e;
    const int64_t readers = visit.queryTilesPerKeyRow;
    int64_t rangeBytes = headKvBytes;
    if (p.mask == MaskKind::SlidingWindow)
      rangeBytes = std::min(vis.keyRows, p.window + Br + 2 * Bc) * (D + Dv) * e;
    int64_t withinHead = l2FetchPasses(t, readers, resident, rangeBytes, readers);
    int64_t acrossHeads =
        group <= 1 ? 1
                   : l2FetchPasses(t, group * visit.queryTiles, resident,
                                   headKvBytes, group);
    dq.hbmBytes = heads * queryBytes +
                  std::min(kvGlobal, kvHeads * headKvBytes * withinHead * acrossHeads);
    dq.flops = 2.0 * scores * (2 * dp + dvp);
    dq.wgmmaFlops = warpgroupMma(s) ? dq.flops : 0;
    dq.sfuOps = scores * sfuPerScore;
    dq.aluOps = scores * (kDqAluPerScore + modAlu) + maskedScores * maskAlu;
    // Per pair: the ring's K, V stores; each warp's own Q, dO rows; every
    // warp (wgmma: every warpgroup) the whole K (twice: S and dQ) and V.
    double perPair = (Bc + Br) * (dp + dvp) + tileReaders * Bc * (2 * dp + dvp);
    double perCta = Br * (dp + dvp) + Br * dp; // Q, dO stores, dQ staging
    dq.smemTraffic = (pairs * perPair + static_cast<double>(dq.ctas) * perCta) * e;
    dq.steps = pairs;
    if (warpgroupMma(s))
      dq.exposedCycles = ringWaitCycles(pairs, s);
    result.kernels.push_back(dq);
  } else {
    KernelCost convert;
    convert.name = gradKernelName(GradKernel::Convert);
    convert.ctas = heads * visit.queryTiles;
    convert.warps = s.warps;
    convert.smemBytes = kStreamKernelModelSmemBytes;
    convert.registersPerThread = kStreamKernelRegisters;
    convert.pipelined = true;
    convert.globalBytes = heads * N * D * (kF32Bytes + e);
    convert.hbmBytes = convert.globalBytes;
    convert.aluOps = static_cast<double>(heads) * N * D;
    result.kernels.push_back(convert);
  }

  finishEvaluation(t, result);
  return result;
}

Result<ScheduleSpace> flashgen::schedule::attentionGradSpace(
    const AttentionProblem &p, const Target &t, Algorithm algorithm) {
  if (std::string why = attentionGradPrecondition(p, t, algorithm); !why.empty())
    return Result<ScheduleSpace>::failure(why);

  ScheduleSpace out;
  out.algorithm = algorithm;
  SearchSpace &s = out.space;
  // Tiles past the sequence length are padding, not work: offer the
  // smallest one that covers it and none above.
  auto tiles = [](int64_t extent) {
    std::vector<int64_t> v;
    int64_t cap = std::max<int64_t>(kGradTileChoices[0], nextPowerOfTwo(extent));
    for (int64_t c : kGradTileChoices)
      if (c <= cap)
        v.push_back(c);
    return v;
  };
  const bool wgmma = usesWgmma(algorithm);
  std::vector<int64_t> stageChoices;
  std::vector<int64_t> warpChoices =
      wgmma ? std::vector<int64_t>(std::begin(kGrad3WarpChoices),
                                   std::end(kGrad3WarpChoices))
            : std::vector<int64_t>(std::begin(kGradWarpChoices),
                                   std::end(kGradWarpChoices));
  for (int64_t st = kMinGradStages; st <= kMaxGradStages; ++st)
    stageChoices.push_back(st);
  s.dims.push_back({"tile_q", tiles(p.queryLen), {}});
  s.dims.push_back({"tile_kv", tiles(p.keyLen), {}});
  s.dims.push_back({"stages", stageChoices, {}});
  s.dims.push_back({"warps", warpChoices, {}});
  const size_t tq = 0, tkv = 1, stages = 2, warps = 3;
  const int64_t dp = dPad(p), dvp = dvPad(p);

  out.toSchedule = [=](const Point &x) {
    Schedule sch;
    sch.algorithm = algorithm;
    sch.tileQ = x[tq];
    sch.tileKv = x[tkv];
    sch.tileD = dp;
    sch.tileDv = dvp;
    sch.stages = x[stages];
    sch.warps = x[warps];
    sch.maskLists = maskListsChoice(p, algorithm);
    sch.smemBytes = attentionGradSmemBytes(p, sch);
    return sch;
  };
  auto toSchedule = out.toSchedule;

  // warps: flash3_grad stages each warp's dQ rows.
  s.constraints.push_back(sharedMemoryRule(
      t, {tq, tkv, stages, warps},
      [toSchedule](const Point &x) { return toSchedule(x).smemBytes; }));

  // stages: the 3-deep ring's term
  SpaceConstraint regs = registersRule(
      t, {tq, tkv, stages, warps}, [p, toSchedule](const Point &x) {
        return attentionGradRegisters(p, toSchedule(x));
      });
  s.constraints.push_back(regs);

  SpaceConstraint regsCta = regs;
  regsCta.resource = "registers per CTA";
  regsCta.value = [p, t, toSchedule, warps](const Point &x) {
    return roundUp(attentionGradRegisters(p, toSchedule(x)),
                   t.registerAllocationUnit) *
           32 * x[warps];
  };
  regsCta.limit = t.registersPerSM;
  regsCta.limitText = t.name + " has " + n(t.registersPerSM) + " per SM";
  s.constraints.push_back(regsCta);

  SpaceConstraint threads;
  threads.resource = "threads per CTA";
  threads.dims = {warps};
  threads.value = [warps](const Point &x) { return 32 * x[warps]; };
  threads.limit = t.maxThreadsPerCTA;
  threads.limitText = t.name + " allows " + n(t.maxThreadsPerCTA);
  s.constraints.push_back(threads);

  SpaceConstraint keyRows;
  keyRows.resource = "key rows per warp";
  keyRows.dims = {tkv, warps};
  keyRows.value = [tkv, warps, wgmma](const Point &x) {
    if (wgmma)
      return x[tkv] != kMmaRows * x[warps] ? 1 : 0;
    return x[tkv] % (kMmaRows * x[warps]) != 0 ? 1 : 0;
  };
  keyRows.unit = ValueUnit::Flag;
  keyRows.rule =
      wgmma ? "tile_kv must be 16 x warps (each warpgroup of the kv kernel owns "
              "the 64 rows of one wgmma tile of key rows)"
            : "tile_kv must be a multiple of 16 x warps (each warp of the kv "
              "kernel owns whole 16-row mma.sync tiles of key rows)";
  s.constraints.push_back(keyRows);

  SpaceConstraint queryRows;
  queryRows.resource = "query rows per warp";
  queryRows.dims = {tq, warps};
  const bool atomic = gradAtomicDq(algorithm);
  queryRows.value = [tq, warps, atomic, wgmma, dp](const Point &x) {
    if (atomic && wgmma)
      return dqWarpgroupShare(x[tq], dp, x[warps]).first == 0 ? 1 : 0;
    if (atomic)
      return dqWarpShare(x[tq], dp, x[warps]).first == 0 ? 1 : 0;
    if (wgmma)
      return x[tq] != kMmaRows * x[warps] ? 1 : 0;
    return x[tq] % (kMmaRows * x[warps]) != 0 ? 1 : 0;
  };
  queryRows.unit = ValueUnit::Flag;
  queryRows.rule =
      atomic && wgmma
          ? "the kv kernel's dQ step must split tile_q x D into 64-row wgmma "
            "tiles, one per warpgroup (tile_q a multiple of 64, the "
            "warpgroups of a 64-row block over D in multiples of 64 columns)"
      : atomic
          ? "the kv kernel's dQ step must split tile_q x D among the warps in "
            "whole 16 x 16 tiles (rows in 16-row groups, the rest of the "
            "warps over D's columns)"
          : wgmma ? "tile_q must be 16 x warps (each warpgroup of the dq kernel "
                    "owns the 64 rows of one wgmma tile of query rows)"
                  : "tile_q must be a multiple of 16 x warps (each warp of the "
                    "dq kernel owns whole 16-row mma.sync tiles of query rows)";
  s.constraints.push_back(queryRows);

  SpaceConstraint loads;
  loads.resource = "tile load split";
  loads.dims = {tq, tkv, warps};
  loads.value = [p, tq, tkv, warps](const Point &x) {
    return loadsSplit(p, x[tq], x[tkv], x[warps]) ? 0 : 1;
  };
  loads.unit = ValueUnit::Flag;
  loads.rule = "every Q, dO, K and V tile must split into whole 16-byte copies "
               "per thread (rows x columns x element bytes / 16 a multiple of "
               "the thread count)";
  s.constraints.push_back(loads);

  addBlockTileRule(s, p, tq, tkv, toSchedule);

  // The modeled time, tile visits computed once per tiling.
  using VisitCache = std::map<std::pair<int64_t, int64_t>, TileVisit>;
  auto cache = std::make_shared<VisitCache>();
  s.objective = [=](const Point &x) {
    Schedule sch = toSchedule(x);
    auto key = std::make_pair(sch.tileQ, sch.tileKv);
    auto it = cache->find(key);
    if (it == cache->end())
      it = cache->emplace(key, visitTiles(p, sch.tileQ, sch.tileKv)).first;
    Evaluation ev = evaluateAttentionGrad(p, t, sch, it->second);
    return objectiveOf(ev.seconds, ev.globalBytes);
  };
  return out;
}

std::vector<std::string> flashgen::schedule::checkAttentionGradSchedule(
    const AttentionProblem &p, const Target &t, const Schedule &s) {
  if (std::string why = attentionGradPrecondition(p, t, s.algorithm); !why.empty())
    return {why};
  if (s.maskLists != 0)
    if (std::string why = maskListsPrecondition(p, s.algorithm); !why.empty())
      return {why};
  std::vector<std::string> violations;
  auto require = [&](bool ok, const std::string &message) {
    if (!ok)
      violations.push_back(message);
  };
  const int64_t dp = dPad(p), dvp = dvPad(p);
  require(s.tileD == dp && s.tileDv == dvp,
          std::string(algorithmName(s.algorithm)) +
              " tiles whole rows: tile_d = " + n(s.tileD) + ", tile_dv = " +
              n(s.tileDv) + " must be " + n(dp) + ", " + n(dvp));
  require(s.warps >= 1 && isPowerOfTwo(s.warps),
          "warps = " + n(s.warps) + " must be a power of two");
  require(32 * s.warps <= t.maxThreadsPerCTA,
          n(32 * s.warps) + " threads per CTA, " + t.name + " allows " +
              n(t.maxThreadsPerCTA));
  require(s.stages >= kMinGradStages && s.stages <= kMaxGradStages,
          "stages = " + n(s.stages) + ": the backward's ring holds 2 or 3 tiles");
  if (warpgroupMma(s)) {
    require(s.warps % kWarpgroupWarps == 0,
            "warps = " + n(s.warps) + ": " + algorithmName(s.algorithm) +
                " runs whole warpgroups of 4 warps");
    require(s.tileKv == kMmaRows * s.warps,
            "tile_kv = " + n(s.tileKv) + " must be 16 x warps = " +
                n(kMmaRows * s.warps) + " (each warpgroup owns one 64-row wgmma "
                "tile of key rows)");
    if (!atomicDq(s))
      require(s.tileQ == kMmaRows * s.warps,
              "tile_q = " + n(s.tileQ) + " must be 16 x warps = " +
                  n(kMmaRows * s.warps) + " (each warpgroup of the dq kernel "
                  "owns one 64-row wgmma tile of query rows)");
  }
  require(s.warps >= 1 && s.tileKv >= kMmaRows &&
              s.tileKv % (kMmaRows * s.warps) == 0,
          "tile_kv = " + n(s.tileKv) + " must be a multiple of 16 x warps = " +
              n(kMmaRows * s.warps) + " (whole 16-row tiles of key rows per warp)");
  if (atomicDq(s) && warpgroupMma(s))
    require(dqWarpgroupShare(s.tileQ, dp, s.warps).first != 0,
            "tile_q = " + n(s.tileQ) + " by D = " + n(dp) + " does not split "
                "into one 64-row wgmma tile of dQ per warpgroup of " +
                n(s.warps) + " warps, N a multiple of 64 (the kv kernel's dQ step)");
  else if (atomicDq(s))
    require(dqWarpShare(s.tileQ, dp, s.warps).first != 0,
            "tile_q = " + n(s.tileQ) + " by D = " + n(dp) + " does not split "
                "among " + n(s.warps) + " warps in whole 16 x 16 tiles (the "
                "kv kernel's dQ step)");
  else
    require(s.warps >= 1 && s.tileQ >= kMmaRows &&
                s.tileQ % (kMmaRows * s.warps) == 0,
            "tile_q = " + n(s.tileQ) + " must be a multiple of 16 x warps = " +
                n(kMmaRows * s.warps) + " (whole 16-row tiles of query rows per warp)");
  if (std::string why = blockTileViolation(p, s.tileQ, s.tileKv); !why.empty())
    violations.push_back(why);
  if (!violations.empty())
    return violations;

  require(loadsSplit(p, s.tileQ, s.tileKv, s.warps),
          "the Q, dO (" + n(s.tileQ) + " rows), K, V (" + n(s.tileKv) +
              " rows) tiles of " + n(p.headDim) + ", " + n(p.valueDim) +
              " columns do not split into whole 16-byte copies over " +
              n(32 * s.warps) + " threads");
  int64_t smem = attentionGradSmemBytes(p, s);
  require(s.smemBytes == smem, "smem_bytes = " + n(s.smemBytes) +
                                   " differs from the plan's " + n(smem));

  // Each kernel that holds tiles against the target (prep and convert hold
  // none and always fit).
  auto fits = [&](const std::string &kernel, int64_t bytes, int64_t registers) {
    int64_t threads = 32 * s.warps;
    int64_t ctaRegisters = roundUp(registers, t.registerAllocationUnit) * threads;
    require(bytes <= t.smemPerCTA,
            kernel + " needs " + formatBytes(bytes) + " of shared memory, " +
                t.name + " has " + formatBytes(t.smemPerCTA) + " per CTA");
    require(registers <= t.maxRegistersPerThread,
            kernel + " needs about " + n(registers) +
                " registers per thread, more than " + n(t.maxRegistersPerThread));
    require(ctaRegisters <= t.registersPerSM,
            kernel + " needs " + n(ctaRegisters) + " registers per CTA, " +
                t.name + " has " + n(t.registersPerSM) + " per SM");
    require(ctasPerSM(t, bytes, registers, threads) >= 1,
            kernel + ": not one CTA fits on an SM");
  };
  for (GradKernel k : attentionGradKernels(p, s))
    if (isKvGradKernel(k) || k == GradKernel::Dq)
      fits(std::string("the ") + gradKernelName(k) + " kernel",
           attentionGradKernelSmemBytes(p, s, k),
           attentionGradKernelRegisters(p, s, k));
  return violations;
}
