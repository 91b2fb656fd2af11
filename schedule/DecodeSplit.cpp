//===- DecodeSplit.cpp - how flash_decode splits the keys -----------------===//

#include "schedule/DecodeSplit.h"

#include "schedule/AttentionCost.h"
#include "schedule/Units.h"

#include <algorithm>
#include <cmath>

using namespace flashgen::schedule;

DecodeSplitRule flashgen::schedule::decodeSplitRule(const AttentionProblem &p,
                                                    const Target &t,
                                                    const Schedule &s) {
  DecodeSplitRule r;
  r.group = std::max<int64_t>(1, p.groupSize());
  r.kvHeads = p.keyHeads;
  r.tileQ = s.tileQ;
  r.tileKv = s.tileKv;
  int64_t perSm = ctasPerSM(t, attentionSmemBytes(p, s),
                            attentionRegisters(p, s), 32 * s.warps);
  // As many splits as stay resident, up to kDecodeMaxCtasPerSm a SM: each
  // CTA keeps stages - 1 key tiles in flight, and a decode step is as
  // fast as the bytes in flight over the loaded latency allow.
  r.ctasPerSm = std::max<int64_t>(1, std::min(perSm, kDecodeMaxCtasPerSm));
  r.waveCtas = t.numSMs * r.ctasPerSm;
  return r;
}

int64_t flashgen::schedule::decodeQueryTiles(const DecodeSplitRule &r,
                                             int64_t queryLen) {
  return ceilDiv(r.group * queryLen, r.tileQ);
}

int64_t flashgen::schedule::decodeSplits(const DecodeSplitRule &r,
                                         int64_t batch, int64_t queryLen,
                                         int64_t keyLen) {
  int64_t base = batch * r.kvHeads * decodeQueryTiles(r, queryLen);
  if (base <= 0)
    return 1;
  return std::max<int64_t>(1, std::min(r.waveCtas / base,
                                       ceilDiv(keyLen, r.minKeysPerSplit())));
}

std::string flashgen::schedule::decodeSplitsExpr(const DecodeSplitRule &r,
                                                 const std::string &batch,
                                                 const std::string &queryLen,
                                                 const std::string &keyLen) {
  std::string tiles = decodeQueryTilesExpr(r.group, r.tileQ, queryLen);
  // max(1, ...) keeps an empty batch from dividing by zero.
  return "max(1,min(" + std::to_string(r.waveCtas) + "/max(1," + batch +
         "*" + std::to_string(r.kvHeads) + "*" + tiles + "),cdiv(" + keyLen + "," +
         std::to_string(r.minKeysPerSplit()) + ")))";
}

std::string flashgen::schedule::decodeQueryTilesExpr(int64_t group, int64_t tileQ,
                                                     const std::string &queryLen) {
  return "cdiv(" + std::to_string(group) + "*" + queryLen + "," +
         std::to_string(tileQ) + ")";
}

std::string flashgen::schedule::decodeScratchRowsExpr(
    const std::string &splits, int64_t kvHeads, int64_t group, int64_t tileQ,
    const std::string &batch, const std::string &queryLen) {
  return "(" + splits + ")*" + batch + "*" + std::to_string(kvHeads) + "*" +
         decodeQueryTilesExpr(group, tileQ, queryLen) + "*" +
         std::to_string(tileQ);
}

int64_t flashgen::schedule::decodeKeyWarpMergeBytes(const Schedule &s,
                                                    int64_t valueDim) {
  if (s.keyWarps() <= 1)
    return 0;
  // Per lane of a warp: its rows' accumulators (16-row MMA tiles x 8-column
  // fragments x 4 floats), then each tile's 2 row maxima and 2 partial sums.
  const int64_t rowTiles = s.tileQ / s.rowWarps() / 16;
  const int64_t perLane =
      rowTiles * (paddedTileColumns(valueDim) / 8 * 4 + 4);
  return (s.keyWarps() - 1) * s.rowWarps() * 32 * perLane * 4;
}

bool flashgen::schedule::decodeKeyWarpsFit(int64_t tileKv, int64_t warps,
                                           int64_t innerKv) {
  return innerKv >= kDecodeMinWarpKeys && innerKv < tileKv &&
         tileKv % innerKv == 0 && warps % (tileKv / innerKv) == 0;
}

const char *const flashgen::schedule::kDecodeKeyWarpsRule =
    "flash_decode's inner_kv (keys per warp) is 0 (every warp reads the "
    "whole key tile) or a multiple of 16 below tile_kv that divides it, "
    "with tile_kv / inner_kv key warps dividing warps";
