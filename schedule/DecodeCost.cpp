//===- DecodeCost.cpp - cost model of flash_decode ------------------------===//
//
// Per (batch, kv head, packed query tile) the split kernel reads the query
// rows, the K/V rows of its key range (once for all G query heads of the
// group: the point of packing) and, with more than one split, writes its
// split's normalised rows and log-sum-exp in f32; the merge kernel reads
// them back and writes o (and lse). FLOPs, SFU and FP32 work are flash2's
// per computed tile pair; the tile's padding rows (tile_q above G N) are
// computed too. Time: the roofline of each launch (Roofline.h), so too
// few CTAs show as lost parallelism and too many splits as partial-row
// traffic and a longer merge.
//
//===----------------------------------------------------------------------===//

#include "schedule/DecodeSplit.h"

#include "schedule/AttentionCost.h"
#include "schedule/Units.h"
#include "schedule/Visibility.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

/// The merge reads every split's row: a max, an exp2 and an FMA per value.
constexpr double kMergeAluPerValue = 3;

/// Time the streaming kernels do not overlap, fitted to the H200's
/// measured candidates (schedule/calibration/h200-decode.tsv, in CUDA
/// graphs):
/// - each wave of split CTAs starts with its ring empty, its first tile a
///   loaded HBM latency away: 64 sequences of 2048 keys (512 CTAs, one
///   split each) took 125.8 us in two waves of 2 CTAs a SM and 129.2 in
///   four of 1, the same tiles and key warps otherwise;
/// - the merge is a chain of dependent load rounds (one for the lse pass,
///   one per kDecodeMergeLoadsAhead splits): one sequence of 32768 keys took
///   41.1 us in 33 splits (4 rounds) and 38.2 in 16 (2), 131072 keys
///   130.3 and 127.1.
constexpr double kDecodeMergeRoundSeconds = 1.5e-6;

} // namespace

namespace {

/// The model at p's sizes.
Evaluation evaluateDecodeAt(const AttentionProblem &p, const Target &t,
                            const Schedule &s) {
  const int64_t e = p.elementBytes, D = p.headDim, Dv = p.valueDim;
  DecodeSplitRule rule = decodeSplitRule(p, t, s);
  const int64_t G = rule.group;
  const int64_t queryTiles = decodeQueryTiles(rule, p.queryLen);
  const int64_t splits = decodeSplits(rule, p.batch, p.queryLen, p.keyLen);
  const int64_t groups = p.batch * p.keyHeads;

  // The key tiles of a packed tile: those of its tokens (tile_q / G of them,
  // at least one), from the mask's tile walk over the tokens.
  int64_t tokensPerTile = std::max<int64_t>(1, s.tileQ / G);
  TileVisit visit = visitTiles(p, tokensPerTile, s.tileKv);
  double perTokenTile = visit.queryTiles
                            ? static_cast<double>(visit.tilePairs) / visit.queryTiles
                            : 0;
  double maskedShare =
      visit.tilePairs ? static_cast<double>(visit.maskedTilePairs) / visit.tilePairs : 0;
  double pairs = static_cast<double>(groups) * queryTiles * perTokenTile;

  KernelCost k;
  k.name = "decode";
  k.ctas = groups * queryTiles * splits;
  k.warps = s.warps;
  k.smemBytes = attentionSmemBytes(p, s);
  k.registersPerThread = attentionRegisters(p, s);
  k.pipelined = s.stages >= 2;
  int64_t rows = p.batch * p.queryHeads * p.queryLen;
  int64_t kvBytes =
      static_cast<int64_t>(pairs * s.tileKv) * (D + Dv) * e;
  int64_t qBytes = rows * D * e * splits;
  // One split writes o and lse itself; more write f32 partial rows.
  int64_t partialBytes =
      splits > 1 ? groups * queryTiles * splits * s.tileQ * (Dv + 1) * 4 : 0;
  int64_t outBytes = splits > 1 ? partialBytes : rows * Dv * e;
  k.globalBytes = kvBytes + qBytes + outBytes;
  k.hbmBytes = kvBytes + rows * D * e + outBytes;
  int64_t d = paddedTileColumns(D), dv = paddedTileColumns(Dv);
  double scores = pairs * s.tileQ * s.tileKv;
  k.flops = 2.0 * scores * (d + dv);
  k.sfuOps = scores * (kSoftmaxSfuPerScore + (p.hasScoreMod ? p.scoreModSfuOps : 0));
  k.aluOps = scores * (kSoftmaxAluPerScore + (p.hasScoreMod ? p.scoreModAluOps : 0)) +
             scores * maskedShare *
                 (kMaskAluPerScore + (p.hasMaskMod ? p.maskModAluOps : 0));
  // Per tile pair: each key warp reads its row group's Q rows, each row
  // group reads all of K and V (key warps a slice each), the copies write
  // them; per CTA the Q copy, the output's staging and the key warps' merge
  // (written by all but one and read by that one).
  double perPair = static_cast<double>(s.keyWarps()) * s.tileQ * d +
                   (s.rowWarps() + 1.0) * s.tileKv * (d + dv);
  k.smemTraffic = (pairs * perPair +
                   static_cast<double>(k.ctas) * (s.tileQ * d + 2.0 * s.tileQ * dv)) *
                      e +
                  static_cast<double>(k.ctas) * 2 * decodeKeyWarpMergeBytes(s, Dv);
  k.steps = pairs;
  // The ring keeps stages - 1 key tiles of K and V in flight.
  k.bytesInFlightPerCta =
      static_cast<double>(s.stages - 1) * s.tileKv * (D + Dv) * e;

  Evaluation result;
  result.kernels.push_back(k);

  // The merge: one CTA per (batch, kv head, packed tile).
  KernelCost merge;
  merge.name = "merge";
  merge.ctas = groups * queryTiles;
  merge.warps = kDecodeMergeWarps;
  merge.registersPerThread = 32;
  merge.pipelined = true;
  if (splits > 1) {
    merge.globalBytes = partialBytes + rows * (Dv * e + 4);
    merge.hbmBytes = merge.globalBytes;
    merge.aluOps = static_cast<double>(partialBytes) / 4 * kMergeAluPerValue;
    merge.sfuOps = static_cast<double>(groups) * queryTiles * splits * s.tileQ;
  }
  result.kernels.push_back(merge);
  finishEvaluation(t, result);

  // What the roofline overlaps but these kernels do not (kDecodeMerge-
  // RoundSeconds' note): a ring fill per wave of split CTAs, the merge's
  // rounds of loads.
  KernelCost &split = result.kernels.front();
  if (split.ctasPerSM > 0) {
    const int64_t waves = ceilDiv(split.ctas, t.numSMs * split.ctasPerSM);
    split.seconds += static_cast<double>(waves) * kLoadedHbmLatencySeconds;
    // Rotary embedding: after each key tile lands every thread turns its
    // share, the table rows' loads on its path (the ring's copies go on,
    // the products wait); the SM's other resident CTAs hide it.
    const double rotation =
        rotaryRounds(p, s.tileKv, 32 * s.warps, kRotaryPieceElems, kRotaryPiecesInFlight) *
        kRotaryRoundCycles;
    if (rotation > 0)
      split.seconds += pairs / t.numSMs * rotation /
                       static_cast<double>(split.ctasPerSM) / t.smClockHz;
  }
  // The merge moves little (partial rows from L2) on few CTAs: the
  // roofline's parallelism term would price one sequence's merge (8 CTAs)
  // as if it were bandwidth-bound on 8 SMs. Its time is its rounds of
  // dependent loads; its launch overlaps the split kernel's (programmatic
  // dependent launch), and with one split it has nothing to do.
  KernelCost &mergeCost = result.kernels.back();
  mergeCost.seconds =
      splits > 1 ? static_cast<double>(mergeCost.globalBytes) / t.l2BytesPerSecond +
                       static_cast<double>(ceilDiv(splits, kDecodeMergeLoadsAhead) + 1) *
                           kDecodeMergeRoundSeconds
                 : 0.0;
  mergeCost.binding = "latency";
  result.seconds = 0;
  for (const KernelCost &kernel : result.kernels)
    result.seconds += kernel.seconds;
  result.rankSeconds = result.seconds;
  return result;
}

} // namespace

Evaluation flashgen::schedule::evaluateDecode(const AttentionProblem &p,
                                              const Target &t,
                                              const Schedule &s) {
  Evaluation result = evaluateDecodeAt(p, t, s);
  // A decode bundle serves every batch a serving step grows or shrinks to
  // (the sizes are launch arguments): it is ranked at the planned batch, at
  // kDecodeBatchSpread times it (where a schedule whose CTAs fill the GPU
  // at the planned batch leaves a ragged last wave) and at as many times
  // fewer sequences, at least one (where one that splits a sequence's keys
  // into many short splits pays for their merge). Each batch counts by its
  // time over the time its HBM bytes take at full bandwidth (a small step's
  // fixed latencies would otherwise weigh as much per sequence as a whole
  // large step), the mean scaled back to the planned batch's seconds.
  AttentionProblem larger = p, smaller = p;
  larger.batch = p.batch * kDecodeBatchSpread;
  smaller.batch = std::max<int64_t>(1, p.batch / kDecodeBatchSpread);
  auto overBound = [&](const Evaluation &e) {
    return e.seconds * t.hbmBytesPerSecond / static_cast<double>(std::max<int64_t>(1, e.hbmBytes));
  };
  Evaluation wide = evaluateDecodeAt(larger, t, s);
  Evaluation narrow = evaluateDecodeAt(smaller, t, s);
  result.rankSeconds = (overBound(result) + overBound(wide) + overBound(narrow)) / 3 *
                       static_cast<double>(result.hbmBytes) / t.hbmBytesPerSecond;
  return result;
}
