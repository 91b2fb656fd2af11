//===- AttentionCost.cpp - cost model of the attention schedules ----------===//
//
// Per (batch, query head), with the key ranges of Visibility.cpp:
//
// Global traffic (what CTAs load and store):
//   flash2   Q once (N D), K/V rows of each query tile's key range
//            (keyRowsLoaded (D + Dv)), O once (N Dv).
//   dsplit   one CTA per (query tile, value slice): the Q tile is re-read
//            for every key tile (queryRowLoads D), or once where it stays
//            resident (dsplitQueryResident), and K for every slice
//            (slices x keyRowsLoaded D); each slice reads its V columns
//            (keyRowsLoaded Dv in total); O once.
// HBM traffic: Q and O once; K/V of one KV head once per L2 fetch pass
// (l2FetchPasses): within a query head the query tiles that read a key row
// run back to back in launch order (query tile fastest, docs/emitter-
// target.md §4), across the Hq / Hkv heads of a GQA group they are
// queryTiles x slices CTAs apart.
// FLOPs: 2 tile_q tile_kv (D + Dv) per visited tile pair (whole tiles are
// computed; dsplit recomputes Q K^T for every slice). SFU: one exp2 per
// score (+ score_mod's); FP32: the softmax bookkeeping per score, the
// element-wise mask on masked tiles. Shared memory per visited tile pair:
// the tile stores, each warp's A fragments of its own Q rows and every
// warp's B fragments of the whole K and V tiles (why 32 rows per warp beat
// 16, docs/emitter-target.md; once per warpgroup for flash3_dsplit's
// wgmma). One barrier-separated step per key tile (flash2) or per column
// chunk and key tile (dsplit).
//
//===----------------------------------------------------------------------===//

#include "schedule/AttentionCost.h"

#include "schedule/AttentionSpace.h"
#include "schedule/DecodeSplit.h"
#include "schedule/Flash3Layout.h"
#include "schedule/Units.h"

#include <algorithm>
#include <cmath>

using namespace flashgen::schedule;

namespace {

/// What a small-cache chunk step waits beyond kStepCycles: its ring slot's
/// wait and barrier, and the wgmma group it waits for, shorter where the
/// products stay in flight a step (dsplitAsyncProducts); and the copies
/// past kDSplitStepCopyBytes a step (the streamed (Q chunk, K chunk) pairs,
/// the 64-row tiles' 256-column K chunks), at kDSplitExcessCopyCyclesPerKiB,
/// hidden in part by the prefetch distance. Fitted on the lent H100
/// (schedule/calibration/h100-small-cache.tsv, 48 candidates of d = 512 and
/// MLA 576/512, Q resident and streamed): the per-step cost barely moves
/// with the distance where a step copies 16 KiB or less (2 to 3 stages:
/// 1-5%), while a streamed 24 KiB step gains 7% from a distance of 3 over
/// 2; the candidates' order agrees with the measured one (Spearman's rho
/// 0.91 over the six shapes), the first choice within 3% of the fastest.
constexpr double kDSplitStepWaitCycles = 160;
constexpr double kDSplitAsyncStepWaitCycles = 60;
constexpr int64_t kDSplitStepCopyBytes = 22 * 1024;
constexpr double kDSplitExcessCopyCyclesPerKiB = 60;

// Registers per thread, fitted (least squares) to the ptxas counts of 312
// flash2 kernels the emitter printed, compiled by NVRTC 13.0 for sm_90a:
// d in {64, 128, 256}, 16 to 64 query rows per warp, 16- to 128-key tiles,
// 1 to 8 warps, with and without a causal mask and a softcap score_mod.
// With a 4-register margin no measured schedule the estimate admits spilled
// (2 is the least margin that achieves it; 33 schedules that would have
// fit are rejected). Per thread, with R = tile_q / warps rows per
// warp: S = R tile_kv / 32 scores, O = R Dv / 32 accumulators, C the 16-byte
// copies each thread issues per K/V stage and for Q (the copy loops are
// unrolled). Re-fit when the emitter changes.
constexpr double kRegisterBase = 60;
constexpr double kRegistersPerScore = 1.3;       // S, its 16-bit copy P
constexpr double kRegistersPerAccumulator = 0.8; // O (ptxas reuses some)
constexpr double kRegistersPer32Columns = 3;     // K/V fragments, addresses
constexpr double kRegistersForMask = 6;          // diagonal / window bounds
constexpr double kRegistersPerCopy = 2;          // address + predicate
constexpr double kRegisterMargin = 4;


/// CTAs of `k` that run on one SM at once.
int64_t perSmCtas(const Target &t, const KernelCost &k) {
  return std::max<int64_t>(
      1, ctasPerSM(t, k.smemBytes, k.registersPerThread, 32 * k.warps));
}

/// The warpgroup pipeline model of a flash3 schedule (Target::WarpgroupModel).
/// Per key tile a consumer warpgroup spends, in SM cycles,
///   Tm = 2 x 64 x tile_kv x (D + Dv) / (tensor FLOP per cycle x efficiency)
///        on the tensor pipe, plus the pipe's per-tile loss,
///   Ts = 64 x tile_kv x (SFU ops / SFU rate + FP32 ops / FP32 rate) on the
///        softmax (mask and score_mod included),
/// and its own chain Tm + Ts + chain latency (+ the copies it issues without
/// a producer, + late loads of a shallow ring). The G warpgroups resident
/// on an SM share the pipe and the units, so a round in which each does
/// one key tile takes max(G Tm, G Ts, chain). Time: the rounds of the
/// busiest SM with a balanced grid (the caller divides by the balance).
double flash3PipelineSeconds(const AttentionProblem &p, const Target &t,
                             const Schedule &s, const TileVisit &visit,
                             int64_t ctasPerSm, double sfuPerScore,
                             double aluPerScore, double maskAlu,
                             std::string &binding) {
  const WarpgroupModel &m = t.warpgroup;
  const double smCycles = t.smClockHz * t.numSMs;
  const double tensorPerCycle = t.mmaFlopsPerSecond / smCycles;
  const double sfuPerCycle = t.sfuOpsPerSecond / smCycles;
  const double aluPerCycle = t.fp32OpsPerSecond / smCycles;
  const Flash3Shape shape = flash3Shape(s);
  const double rows = kFlash3GroupRows, keys = s.tileKv;
  const double scores = rows * keys;

  double maskedShare =
      visit.tilePairs ? static_cast<double>(visit.maskedTilePairs) / visit.tilePairs : 0;
  double tm = 2.0 * scores * (p.headDim + p.valueDim) /
                  (tensorPerCycle * std::max(m.wgmmaEfficiency, 1e-3)) +
              m.tileCycles;
  double ts = scores * (sfuPerScore / sfuPerCycle +
                        (aluPerScore + maskedShare * maskAlu) / aluPerCycle);
  // Rotary embedding: every thread turns each landed K tile before the
  // products (on the chain), or the producer's three rotating warps do it
  // beside the consumers (its own pipeline stage, shared by the SM's CTAs).
  // With the pre-pass K lands rotated; Q's one rotation per query tile is
  // not counted either way.
  const double rotation =
      s.rotaryPrepass ? 0.0
      : shape.producer
          ? rotaryRounds(p, s.tileKv, kRotatorThreads, kRotatorPieceElems, 1) *
                kRotaryProducerRoundCycles
          : rotaryRounds(p, s.tileKv, shape.threads, kRotaryPieceElems,
                         kRotaryPiecesInFlight) *
                kRotaryRoundCycles;
  double chain = tm + ts + m.chainCycles +
                 (shape.producer ? 0.0 : m.selfCopyCycles + rotation) +
                 m.stageCycles / std::max<int64_t>(1, s.stages - 1);
  double groups = static_cast<double>(shape.consumerGroups * ctasPerSm);
  double rotators = shape.producer ? rotation * ctasPerSm : 0.0;
  double round = std::max({groups * tm, groups * ts, chain, rotators});
  binding = round == groups * tm    ? "math"
            : round == groups * ts  ? "softmax"
            : round == rotators     ? "rotation"
                                    : "latency";

  double groupTiles = static_cast<double>(p.batch * p.queryHeads) *
                      visit.tilePairs * shape.consumerGroups;
  double rounds = groupTiles / t.numSMs / groups;
  // The CTAs' starts and ends: one per query tile, on ctasPerSm slots of
  // each SM, or once per SM when the grid is persistent.
  double ctas = static_cast<double>(p.batch * p.queryHeads) * visit.queryTiles;
  double ctaStarts = s.persistent ? 1.0 : ctas / t.numSMs / ctasPerSm;
  // With the key pre-pass each query tile's warpgroups turn their own Q
  // rows before their first product (flash.pipe_rotate): once a tile.
  double queryRotation =
      s.rotaryPrepass ? rotaryRounds(p, s.tileQ, shape.consumerGroups * 128, kRotaryPieceElems,
                                     kRotaryPiecesInFlight) *
                            kRotaryRoundCycles
                      : 0.0;
  double tileStarts = ctas / t.numSMs / ctasPerSm;
  return (rounds * round + ctaStarts * m.ctaCycles + tileStarts * queryRotation) /
         t.smClockHz;
}

} // namespace

double flashgen::schedule::rotaryRounds(const AttentionProblem &p, int64_t rows,
                                        int64_t threads, int64_t elems,
                                        int64_t inFlight) {
  if (p.rotaryDims <= 0 || threads <= 0)
    return 0;
  // rotary.cuh's pieces: half style turns a piece and its partner R/2
  // columns on, so a row has R / (2 elems) of them; interleaved R / elems.
  // Both q's rotation in the tables' "half" pairing and the interleaved one
  // read as many table bytes; the pairing is not in the problem.
  const int64_t perRow = std::max<int64_t>(1, p.rotaryDims / (2 * elems));
  const int64_t pieces = rows * perRow;
  return static_cast<double>(ceilDiv(ceilDiv(pieces, threads), std::max<int64_t>(1, inFlight)));
}

KernelCost flashgen::schedule::rotaryPrepassCost(const AttentionProblem &p) {
  KernelCost k;
  k.name = "rotate_keys";
  const int64_t rows = p.batch * p.keyHeads * p.keyLen;
  k.ctas = p.batch * p.keyHeads * ceilDiv(p.keyLen, kRotaryPrepassRows);
  k.warps = kRotaryPrepassWarps;
  k.registersPerThread = 64;
  const int64_t kBytes = rows * p.headDim * p.elementBytes;
  // cos and sin, R/2 f32 each, at every key position.
  const int64_t tableBytes = p.keyLen * p.rotaryDims * 4;
  k.globalBytes = 2 * kBytes + p.keyHeads * p.batch * tableBytes;
  k.hbmBytes = 2 * kBytes + tableBytes;
  k.pipelined = true; // every thread's loads are in flight together
  return k;
}

bool flashgen::schedule::dsplitAsyncProducts(Algorithm algorithm,
                                             int64_t stages) {
  return usesWgmma(algorithm) && stages >= 4;
}

int64_t flashgen::schedule::dsplitPrefetchDistance(Algorithm algorithm,
                                                   int64_t stages) {
  return dsplitAsyncProducts(algorithm, stages) ? stages - 2 : stages - 1;
}

namespace {
/// flash3_dsplit's plan with Q resident: the whole Q tile (its D / tile_d
/// chunks), a stages-deep ring of K chunks, two V slices.
int64_t residentQuerySmemBytes(const AttentionProblem &p, const Schedule &s) {
  return (s.tileQ * p.headDim + s.stages * s.tileKv * s.tileD +
          2 * s.tileKv * s.tileDv) *
             p.elementBytes +
         kSwizzleAlignSlack;
}
} // namespace

bool flashgen::schedule::dsplitQueryResident(const AttentionProblem &p,
                                             const Schedule &s) {
  return s.algorithm == Algorithm::Flash3DSplit && s.tileD > 0 &&
         residentQuerySmemBytes(p, s) <= kSm90SmemPerCTA;
}

int64_t flashgen::schedule::paddedTileColumns(int64_t d) {
  return std::max(kMinTileColumns, nextPowerOfTwo(d));
}

/// The score_mod's FP32 work per score in the forward kernels.
static double forwardScoreModAlu(const AttentionProblem &p) {
  if (!p.hasScoreMod)
    return 0;
  return p.scoreModIsPositionBias ? kPositionBiasAluPerScore
                                  : static_cast<double>(p.scoreModAluOps);
}

int64_t flashgen::schedule::fmaExp2Every(const AttentionProblem &p,
                                         const Target &t) {
  if (t.sfuOpsPerSecond <= 0 || t.fp32OpsPerSecond <= 0)
    return 0;
  const double ratio = t.fp32OpsPerSecond / t.sfuOpsPerSecond;
  const double sfu =
      kSoftmaxSfuPerScore + (p.hasScoreMod ? p.scoreModSfuOps : 0);
  const double alu = kSoftmaxAluPerScore + forwardScoreModAlu(p);
  const double mufuCycles = sfu * ratio;
  const double issueSlots = alu + sfu;
  const double share =
      (mufuCycles - issueSlots) / (ratio - 1 + kFmaExp2IssueSlots);
  if (share < 0.25)
    return 0;
  return std::max<int64_t>(2, static_cast<int64_t>(std::ceil(1.0 / share)));
}

int64_t flashgen::schedule::attentionValueSlices(const AttentionProblem &p,
                                                 const Schedule &s) {
  if (!splitsHeadDim(s.algorithm) || s.tileDv <= 0)
    return 1;
  return ceilDiv(p.valueDim, s.tileDv);
}

int64_t flashgen::schedule::attentionSmemBytes(const AttentionProblem &p,
                                               const Schedule &s) {
  const int64_t e = p.elementBytes;
  if (s.algorithm == Algorithm::Flash3)
    return flash3SmemBytes(p.headDim, p.valueDim, e, s, p.rotaryDims > 0);
  if (dsplitQueryResident(p, s))
    return residentQuerySmemBytes(p, s);
  if (splitsHeadDim(s.algorithm))
    // A stages-deep ring of (Q chunk, K chunk) pairs, the V slice double
    // buffered so the next key tile's V lands while S is accumulated; the
    // warpgroup form's swizzled tiles start on a 1024-byte boundary.
    return (s.stages * (s.tileQ + s.tileKv) * s.tileD +
            2 * s.tileKv * s.tileDv) *
               e +
           (usesWgmma(s.algorithm) ? kSwizzleAlignSlack : 0);
  int64_t d = paddedTileColumns(p.headDim), dv = paddedTileColumns(p.valueDim);
  return (s.tileQ * d + s.stages * s.tileKv * (d + dv)) * e;
}

int64_t flashgen::schedule::attentionRegisters(const AttentionProblem &p,
                                               const Schedule &s) {
  if (s.algorithm == Algorithm::Flash3DSplit)
    // A flash3 consumer's registers with a tile_dv-wide O (wgmma reads Q
    // and K from shared memory, so the chunk width costs none), copying
    // its own tiles.
    return flash3ConsumerRegisters(s.tileD, s.tileDv, s.tileKv,
                                   p.elementMods()) +
           kFlash3SelfCopyRegisters;
  if (s.algorithm == Algorithm::Flash3)
    // What every thread is given at launch; the consumers' own need is
    // checked against their setmaxnreg budget (Flash3Layout.h).
    return flash3LaunchRegisters(s);
  const bool dsplit = splitsHeadDim(s.algorithm);
  double warps = std::max<int64_t>(s.warps, 1), threads = 32 * warps;
  // flash_decode's key warps (Schedule::keyWarps) each hold all of their
  // rows' outputs but only their share of a key tile's scores.
  double rows = static_cast<double>(s.tileQ) / s.rowWarps();
  // d-split streams tile_d-wide chunks of Q and K and keeps a tile_dv slice
  // of O; flash2 keeps whole (padded) rows.
  double d = dsplit ? s.tileD : paddedTileColumns(p.headDim);
  double dv = dsplit ? s.tileDv : paddedTileColumns(p.valueDim);
  double scores = rows * (s.tileKv / s.keyWarps()) / 32, outputs = rows * dv / 32;
  double copies =
      (s.tileKv * (d + dv) * p.elementBytes / 16 + s.tileQ * d * p.elementBytes / 16) /
      threads;
  bool masked = p.mask != MaskKind::None || p.hasMaskMod;
  // The user's per-element code holds its values live across the score
  // tile's loop too (the flash3 rule's terms: a document mask_mod with an
  // ALiBi score_mod spilled a 128x64 flash2 tile at D = 64 without them).
  ElementMods mods = p.elementMods();
  double modRegisters = elementModRegisters(mods);
  double estimate = kRegisterBase + kRegistersPerScore * scores + modRegisters +
                    kRegistersPerAccumulator * outputs +
                    kRegistersPer32Columns * d / 32 +
                    (masked ? kRegistersForMask : 0) +
                    kRegistersPerCopy * copies + kRegisterMargin;
  return static_cast<int64_t>(std::ceil(estimate));
}

Evaluation flashgen::schedule::evaluateAttention(const AttentionProblem &p,
                                                 const Target &t,
                                                 const Schedule &s) {
  return evaluateAttention(p, t, s, visitTiles(p, s.tileQ, s.tileKv));
}

Evaluation flashgen::schedule::evaluateAttention(const AttentionProblem &p,
                                                 const Target &t,
                                                 const Schedule &s,
                                                 const TileVisit &visit) {
  if (splitsKeys(s.algorithm))
    return evaluateDecode(p, t, s);
  const int64_t e = p.elementBytes, D = p.headDim, Dv = p.valueDim;
  const int64_t heads = p.batch * p.queryHeads;
  const bool dsplit = splitsHeadDim(s.algorithm);
  const int64_t slices = attentionValueSlices(p, s);

  KernelCost k;
  k.name = "attention";
  k.ctas = heads * visit.queryTiles * slices;
  k.warps = s.warps;
  k.smemBytes = attentionSmemBytes(p, s);
  k.registersPerThread = attentionRegisters(p, s);
  k.pipelined = s.stages >= 2;

  // Global traffic.
  // A resident Q tile is read once per CTA (every slice of every query
  // tile), a streamed one once per key tile.
  const bool residentQ = dsplitQueryResident(p, s);
  int64_t qGlobal = !dsplit     ? p.queryLen * D
                    : residentQ ? slices * visit.queryTiles * s.tileQ * D
                                : slices * visit.queryRowLoads * D;
  int64_t kGlobal = (dsplit ? slices : 1) * visit.keyRowsLoaded * D;
  int64_t vGlobal = visit.keyRowsLoaded * Dv;
  int64_t oBytes = p.queryLen * Dv;
  // What an output_mod reads beside each output element (a gate), once.
  int64_t outputModBytes = heads * p.queryLen * Dv * p.outputModReadBytes;
  k.globalBytes = heads * (qGlobal + kGlobal + vGlobal + oBytes) * e + outputModBytes;

  // HBM traffic: the L2 reuse model for K/V.
  int64_t perSM = ctasPerSM(t, k.smemBytes, k.registersPerThread, 32 * s.warps);
  int64_t resident = std::min(k.ctas, t.numSMs * std::max<int64_t>(perSM, 1));
  Visibility vis = attentionVisibility(p);
  int64_t headKvBytes = vis.keyRows * (D + Dv) * e;
  int64_t readers = visit.queryTilesPerKeyRow * slices;
  int64_t rangeBytes = headKvBytes;
  if (p.mask == MaskKind::SlidingWindow)
    rangeBytes = std::min(vis.keyRows, p.window + s.tileQ + 2 * s.tileKv) *
                 (D + Dv) * e;
  int64_t withinHead = l2FetchPasses(t, readers, resident, rangeBytes, readers);
  // CTAs of equal work run in waves of `resident`: a head's readers
  // straddle a wave boundary unless the wave holds whole heads, and when
  // its K/V cannot stay in L2 beside the next head's, both waves fetch
  // them (Nsight Compute on the H200, d = 512 non-causal, 128 CTAs a head
  // in waves of 132: 775 MB against 537 MB at one pass; the causal grid's
  // unequal CTAs blur the waves and read them once).
  if (withinHead == 1 && readers > 1 && k.ctas > resident &&
      resident % readers != 0 && queryTilesCostTheSame(p) &&
      2.0 * static_cast<double>(rangeBytes) > l2ReuseBytes(t))
    withinHead = 2;
  int64_t group = p.groupSize();
  int64_t acrossHeads =
      group <= 1 ? 1
                 : l2FetchPasses(t, group * visit.queryTiles * slices, resident,
                                 headKvBytes, group);
  int64_t kvGlobalBytes = heads * (kGlobal + vGlobal) * e;
  int64_t kvHbmBytes = std::min(
      kvGlobalBytes,
      p.batch * p.keyHeads * headKvBytes * withinHead * acrossHeads);
  k.hbmBytes = heads * (p.queryLen * D + oBytes) * e + kvHbmBytes + outputModBytes;

  // Work of the tiles computed.
  double scores = static_cast<double>(heads) * visit.tilePairs * s.tileQ * s.tileKv;
  double maskedScores =
      static_cast<double>(heads) * visit.maskedTilePairs * s.tileQ * s.tileKv;
  int64_t d = dsplit ? D : paddedTileColumns(D);
  int64_t dv = dsplit ? Dv : paddedTileColumns(Dv);
  k.flops = 2.0 * scores * (d * slices + dv);
  // flash3_dsplit's products run on the warpgroup MMAs (flash3's own
  // pipeline model is separate below).
  if (s.algorithm == Algorithm::Flash3DSplit)
    k.wgmmaFlops = k.flops;
  double sfuPerScore =
      kSoftmaxSfuPerScore + (p.hasScoreMod ? p.scoreModSfuOps : 0);
  double aluPerScore = kSoftmaxAluPerScore + forwardScoreModAlu(p);
  double maskAlu = kMaskAluPerScore + (p.hasMaskMod ? p.maskModAluOps : 0);
  k.sfuOps = slices * scores * sfuPerScore;
  k.aluOps = slices * (scores * aluPerScore + maskedScores * maskAlu);

  if (s.algorithm == Algorithm::Flash3) {
    k.pipelineSeconds = flash3PipelineSeconds(p, t, s, visit, perSmCtas(t, k),
                                              sfuPerScore, aluPerScore,
                                              maskAlu, k.pipelineBinding);
    Evaluation result;
    if (s.rotaryPrepass)
      result.kernels.push_back(rotaryPrepassCost(p));
    result.kernels.push_back(k);
    finishEvaluation(t, result);
    return result;
  }

  double pairs = static_cast<double>(heads) * slices * visit.tilePairs;
  double perPair, perCta;
  if (dsplit) {
    int64_t chunks = D / s.tileD;
    // B operands are read by every warp (mma.sync fragments) or once per
    // warpgroup (wgmma's shared-memory descriptors).
    double readers = usesWgmma(s.algorithm)
                         ? static_cast<double>(s.warps / kWarpsPerGroup)
                         : static_cast<double>(s.warps);
    // Q's chunks are stored per pair, or once per CTA when resident.
    perPair = (residentQ ? 1.0 : 2.0) * s.tileQ * D +
              (readers + 1.0) * s.tileKv * (D + s.tileDv);
    perCta = 2.0 * s.tileQ * s.tileDv + (residentQ ? s.tileQ * D : 0.0);
    k.steps = pairs * (chunks + 1);
    // Each chunk step waits (kDSplitStepWaitCycles); what it copies past
    // kDSplitStepCopyBytes (a streamed Q chunk with its K chunk, or a
    // 256-column K chunk of 64 rows) shows, over the prefetch distance.
    const int64_t ahead = dsplitPrefetchDistance(s.algorithm, s.stages);
    const int64_t stepBytes = ((residentQ ? 0 : s.tileQ) + s.tileKv) * s.tileD * e;
    const double excessKiB =
        static_cast<double>(std::max<int64_t>(0, stepBytes - kDSplitStepCopyBytes)) / 1024;
    const double wait = dsplitAsyncProducts(s.algorithm, s.stages)
                            ? kDSplitAsyncStepWaitCycles
                            : kDSplitStepWaitCycles;
    k.exposedCycles = pairs * chunks *
                      (wait + kDSplitExcessCopyCyclesPerKiB * excessKiB /
                                  static_cast<double>(std::max<int64_t>(1, ahead)));
  } else {
    perPair = s.tileQ * d + (s.warps + 1.0) * s.tileKv * (d + dv);
    perCta = s.tileQ * d + 2.0 * s.tileQ * dv; // Q store, output staging
    k.steps = pairs;
  }
  k.smemTraffic = (pairs * perPair + static_cast<double>(k.ctas) * perCta) * e;
  // Rotary embedding without the pre-pass: every thread turns each landed K
  // tile between its wait and the products (rotary.cuh's rounds).
  if (!dsplit && !s.rotaryPrepass)
    k.exposedCycles += pairs * rotaryRounds(p, s.tileKv, 32 * s.warps, kRotaryPieceElems,
                                            kRotaryPiecesInFlight) *
                       kRotaryRoundCycles;

  Evaluation result;
  if (s.rotaryPrepass)
    result.kernels.push_back(rotaryPrepassCost(p));
  result.kernels.push_back(k);
  finishEvaluation(t, result);
  return result;
}
