//===- DecodeSplit.h - how flash_decode splits the keys ---------*- C++ -*-===//
//
// flash_decode (schedule/Schedule.h) packs the Hq / Hkv query heads of a
// GQA group into the rows of one tile: row r is token r / G of query head
// kv_head G + r % G, so a (batch, kv head) reads its K and V once for all
// its query heads. Few rows leave too few CTAs to fill the machine, so the
// key range is split over CTAs; the split count depends on the batch and
// the lengths, which are launch arguments, so the launch computes it
// (a manifest expression, docs/bundle-format.md §1.8) by the same rule the
// cost model prices and the lowering writes: as many CTAs as stay
// resident (at most kDecodeMaxCtasPerSm a SM; never a second wave), each
// split at least minKeysPerSplit() keys long.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_DECODESPLIT_H
#define FLASHGEN_SCHEDULE_DECODESPLIT_H

#include "schedule/Evaluation.h"
#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"

#include <cstdint>
#include <string>

namespace flashgen::schedule {

/// The narrowest key tile flash_decode's space offers (AttentionSpace.cpp).
constexpr int64_t kDecodeMinTileKv = 32;
/// Keys flash_decode's copy ring holds (tile_kv x stages) at least: the
/// 32-key tiles' 3 stages hold 96; 16-key tiles need 4.
constexpr int64_t kDecodeMinKeysInFlight = 64;
/// Key tiles a split reads at least, and keys: a split's f32 partial rows
/// (tile_q (Dv + 1) 4 bytes) stay small beside the K and V it reads. With
/// the merge's loads in flight (decode.cuh's merge_splits), short splits
/// pay: one sequence of 2048 keys took 11.8 us in 8 splits of 256 keys
/// (64-key tiles) and 9.0 us in 16 of 128 (H200, in a CUDA graph).
constexpr int64_t kDecodeMinTilesPerSplit = 2;
constexpr int64_t kDecodeMinKeysPerSplit = 128;
/// Resident CTAs a SM the splits aim for at most. Measured on the H200
/// (8 sequences of 32768 keys, 2-warp CTAs of 32-key tiles in 3 stages):
/// 2.4 a SM read at 95% of the copy bandwidth, 3.9 at 98%, and splits past
/// the resident count (a second wave) at 78%.
constexpr int64_t kDecodeMaxCtasPerSm = 4;

/// The scheduler prices a flash_decode schedule at the planned batch and
/// at this many times it (AttentionSpace.cpp): with 4 packed rows per
/// (sequence, kv head), 8 sequences give 64 CTAs before splitting and 64
/// give 512, past some rings' resident slots.
constexpr int64_t kDecodeBatchSpread = 8;

/// Warps of a merge CTA (codegen/attention/DecodeMergeEmitter.cpp), one per
/// (packed row, 32 value columns) of its tile at a time: 16 give each of a
/// single token's 4 x 4 jobs (G = 4, Dv = 128) a warp of its own, so the
/// merge costs one job's chain of loads.
constexpr int64_t kDecodeMergeWarps = 16;

/// A flash_decode CTA with key warps (Schedule::keyWarps) merges their
/// softmax states through shared memory once, after its last key tile:
/// every warp but the first of its rows writes its output accumulators,
/// row maxima and partial sums (decode.cuh's merge_key_warps). The bytes
/// that takes, which the ring's (idle by then) must hold.
int64_t decodeKeyWarpMergeBytes(const Schedule &s, int64_t valueDim);

/// Keys a key warp's share of a tile holds at least (whole 16-key MMA
/// steps of Q K^T's N and P V's K).
constexpr int64_t kDecodeMinWarpKeys = 16;

/// Whether a key tile of tileKv keys is wide enough for key warps (two
/// slices of at least kDecodeMinWarpKeys).
constexpr bool decodeKeyWarpsPossible(int64_t tileKv) {
  return tileKv >= 2 * kDecodeMinWarpKeys;
}

/// Whether inner_kv > 0 keys per warp split tile_kv over whole warps:
/// inner_kv at least kDecodeMinWarpKeys, below tile_kv and dividing it,
/// and the key warps (tile_kv / inner_kv) dividing `warps`.
bool decodeKeyWarpsFit(int64_t tileKv, int64_t warps, int64_t innerKv);
/// What decodeKeyWarpsFit requires, for the space's and the checker's
/// messages.
extern const char *const kDecodeKeyWarpsRule;

/// Splits whose partial values one merge warp has in flight at once
/// (decode.cuh's merge_splits, kAhead): the merge's dependent rounds of
/// loads are one for the lse pass and one per this many splits.
constexpr int64_t kDecodeMergeLoadsAhead = 16;

/// flash_decode is for short query lengths: at most this many packed rows
/// (query heads of a group x query tokens) per (batch, kv head), so that a
/// speculative tree's 64 drafts under GQA 4 (examples/tree_verify.mlir) are
/// ranked beside flash2 and flash3: a few sequences of them leave most SMs
/// idle without key splits. Longer ones have enough query tiles to fill the
/// machine.
constexpr int64_t kDecodeMaxPackedRows = 256;

/// What a launch needs to split the keys.
struct DecodeSplitRule {
  int64_t group = 1;    ///< G = Hq / Hkv
  int64_t kvHeads = 1;  ///< Hkv
  int64_t tileQ = 16;   ///< packed rows per CTA
  int64_t tileKv = 64;  ///< keys per tile
  int64_t waveCtas = 1; ///< CTAs the splits aim for on the whole GPU
  int64_t ctasPerSm = 1; ///< of which on one SM
  /// Keys a split reads at least.
  int64_t minKeysPerSplit() const {
    return kDecodeMinTilesPerSplit * tileKv > kDecodeMinKeysPerSplit
               ? kDecodeMinTilesPerSplit * tileKv
               : kDecodeMinKeysPerSplit;
  }
};

DecodeSplitRule decodeSplitRule(const AttentionProblem &p, const Target &t,
                                const Schedule &s);

/// Query tiles of one (batch, kv head): ceil(G N / tile_q).
int64_t decodeQueryTiles(const DecodeSplitRule &r, int64_t queryLen);

/// The split count of a launch:
///   max(1, min(floor(waveCtas / (B Hkv tiles)), ceil(M / minKeysPerSplit)))
int64_t decodeSplits(const DecodeSplitRule &r, int64_t batch,
                     int64_t queryLen, int64_t keyLen);

/// The same formula as a manifest expression over the size names.
std::string decodeSplitsExpr(const DecodeSplitRule &r, const std::string &batch,
                             const std::string &queryLen,
                             const std::string &keyLen);

/// decodeQueryTiles as a manifest expression: "cdiv(G*N,tile_q)" (the
/// merge kernel's grid, a factor of the split kernel's).
std::string decodeQueryTilesExpr(int64_t group, int64_t tileQ,
                                 const std::string &queryLen);

/// Rows of the split kernel's f32 scratch (o_split [rows, Dv], lse_split
/// [rows]): one per (split, batch, kv head, packed row padded to whole
/// tiles), as a manifest expression given the split count's expression.
std::string decodeScratchRowsExpr(const std::string &splits, int64_t kvHeads,
                                  int64_t group, int64_t tileQ,
                                  const std::string &batch,
                                  const std::string &queryLen);

/// The model's verdict on a flash_decode schedule (DecodeCost.cpp): the
/// split kernel (K and V of each (batch, kv head) read once per packed
/// query tile; the splits' partial rows written in f32 when there is more
/// than one) and the merge kernel, at the split count decodeSplits gives
/// for p's sizes.
Evaluation evaluateDecode(const AttentionProblem &p, const Target &t,
                          const Schedule &s);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_DECODESPLIT_H
