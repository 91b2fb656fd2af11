//===- DecodeSplit.cpp - how flash_decode splits the keys -----------------===//

#include "schedule/DecodeSplit.h"

#include "schedule/AttentionCost.h"
#include "schedule/Roofline.h"
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
  // Each CTA keeps stages - 1 key tiles of K and V in flight (DecodeCost.cpp);
  // an SM needs its share of the bandwidth times the latency in flight.
  // Measured on the H200 (one sequence, 131072 keys): splitting for every
  // resident CTA (10 per SM, 8 KiB in flight each) took 241 us, for 6 per
  // SM 168-171 us: more splits than that only add partial rows.
  double inFlight = static_cast<double>(std::max<int64_t>(1, s.stages - 1)) *
                    s.tileKv * (p.headDim + p.valueDim) * p.elementBytes;
  double needed = t.hbmBytesPerSecond / t.numSMs * kLoadedHbmLatencySeconds;
  int64_t aim = static_cast<int64_t>(std::ceil(needed / inFlight));
  r.ctasPerSm = std::max<int64_t>(1, std::min(perSm, aim));
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
  return std::max<int64_t>(1, std::min(ceilDiv(r.waveCtas, base),
                                       ceilDiv(keyLen, r.minKeysPerSplit())));
}

std::string flashgen::schedule::decodeSplitsExpr(const DecodeSplitRule &r,
                                                 const std::string &batch,
                                                 const std::string &queryLen,
                                                 const std::string &keyLen) {
  std::string tiles = decodeQueryTilesExpr(r.group, r.tileQ, queryLen);
  // max(1, ...) keeps an empty batch from dividing by zero.
  return "max(1,min(cdiv(" + std::to_string(r.waveCtas) + ",max(1," + batch +
         "*" + std::to_string(r.kvHeads) + "*" + tiles + ")),cdiv(" + keyLen + "," +
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
