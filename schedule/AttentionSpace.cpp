//===- AttentionSpace.cpp - the schedule space of an attention op ---------===//

#include "schedule/AttentionSpace.h"

#include "schedule/AttentionCost.h"
#include "schedule/DecodeSplit.h"
#include "schedule/Flash3Layout.h"
#include "schedule/Roofline.h"
#include "schedule/Units.h"
#include "schedule/Visibility.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

using namespace flashgen::schedule;

namespace {

/// Tile sizes the spaces offer (multiples of the 16-row MMA tile).
constexpr int64_t kTileChoices[] = {16, 32, 64, 128, 256};
/// Bytes per thread of one cp.async copy: tiles load in 16-byte chunks.
constexpr int64_t kCopyBytes = 16;
/// Picoseconds per second: the objective's integer unit.
constexpr double kPicosecondsPerSecond = 1e12;

/// The smallest head dim the flash2 kernel's 16-column MMA steps take.
constexpr int64_t kMinHeadDim = 16;

/// "16, 32, 64, 128 or 256": the power-of-two head dims from `smallest` up
/// to kMaxTileColumns, which the emitted kernels take.
std::string supportedHeadDims(int64_t smallest) {
  std::string list;
  for (int64_t d = smallest; d <= kMaxTileColumns; d *= 2)
    list += (list.empty() ? "" : d == kMaxTileColumns ? " or " : ", ") +
            std::to_string(d);
  return list;
}

std::vector<int64_t> tileChoices(int64_t extent) {
  std::vector<int64_t> v;
  int64_t cap = std::max<int64_t>(16, nextPowerOfTwo(extent));
  for (int64_t t : kTileChoices)
    if (t <= cap)
      v.push_back(t);
  return v;
}

/// Powers of two in [kMinTileColumns, kMaxTileColumns] dividing `d`.
std::vector<int64_t> columnChoices(int64_t d) {
  std::vector<int64_t> v;
  for (int64_t c = kMinTileColumns; c <= kMaxTileColumns; c *= 2)
    if (d % c == 0)
      v.push_back(c);
  return v;
}

/// The rules both attention spaces share; `*Dims` are the dimensions each
/// resource reads.
void addCommonConstraints(SearchSpace &s, const AttentionProblem &p,
                          const Target &t, size_t tq, size_t warps,
                          std::vector<size_t> smemDims,
                          std::function<Schedule(const Point &)> toSchedule,
                          std::vector<size_t> regDims,
                          std::vector<size_t> loadDims,
                          std::function<bool(const Point &)> loadsSplit,
                          std::vector<size_t> rowDims) {
  s.constraints.push_back(sharedMemoryRule(t, smemDims, [p, toSchedule](const Point &x) {
    return attentionSmemBytes(p, toSchedule(x));
  }));

  SpaceConstraint regs = registersRule(t, regDims, [p, toSchedule](const Point &x) {
    return attentionRegisters(p, toSchedule(x));
  });
  s.constraints.push_back(regs);

  SpaceConstraint regsCta = regs;
  regsCta.resource = "registers per CTA";
  regsCta.value = [p, t, toSchedule, warps](const Point &x) {
    return roundUp(attentionRegisters(p, toSchedule(x)),
                   t.registerAllocationUnit) *
           32 * x[warps];
  };
  regsCta.limit = t.registersPerSM;
  regsCta.limitText = t.name + " has " + std::to_string(t.registersPerSM) +
                      " per SM";
  s.constraints.push_back(regsCta);

  SpaceConstraint threads;
  threads.resource = "threads per CTA";
  threads.dims = {warps};
  threads.value = [warps](const Point &x) { return 32 * x[warps]; };
  threads.limit = t.maxThreadsPerCTA;
  threads.limitText = t.name + " allows " + std::to_string(t.maxThreadsPerCTA);
  s.constraints.push_back(threads);

  SpaceConstraint rows;
  rows.resource = "MMA rows per warp";
  rows.dims = rowDims;
  rows.value = [toSchedule](const Point &x) {
    Schedule sch = toSchedule(x);
    return sch.tileQ % (16 * sch.rowWarps()) != 0 ? 1 : 0;
  };
  rows.limit = 0;
  rows.unit = ValueUnit::Flag;
  rows.rule = "tile_q must be a multiple of 16 x the warps that split its "
              "rows (each warp owns whole 16-row tiles of mma.sync.m16n8k16; "
              "flash_decode's key warps share rows)";
  s.constraints.push_back(rows);

  SpaceConstraint loads;
  loads.resource = "tile load split";
  loads.dims = loadDims;
  loads.value = [loadsSplit](const Point &x) { return loadsSplit(x) ? 0 : 1; };
  loads.limit = 0;
  loads.unit = ValueUnit::Flag;
  loads.rule = "every tile must split into whole 16-byte copies per thread "
               "(rows x columns x element bytes / 16 a multiple of the "
               "thread count)";
  s.constraints.push_back(loads);
}

/// Tile visits per (tile_q, tile_kv), shared by the objective's calls.
using VisitCache = std::map<std::pair<int64_t, int64_t>, TileVisit>;

/// The objective of every attention space: the cost model's time of the
/// point's schedule (tile visits computed once per tiling).
std::function<ObjectiveValue(const Point &)>
modeledTime(const AttentionProblem &p, const Target &t,
            std::function<Schedule(const Point &)> toSchedule) {
  auto cache = std::make_shared<VisitCache>();
  return [=](const Point &x) {
    Schedule sch = toSchedule(x);
    auto key = std::make_pair(sch.tileQ, sch.tileKv);
    auto it = cache->find(key);
    if (it == cache->end())
      it = cache->emplace(key, visitTiles(p, sch.tileQ, sch.tileKv)).first;
    Evaluation ev = evaluateAttention(p, t, sch, it->second);
    return objectiveOf(ev.rankSeconds, ev.globalBytes);
  };
}

} // namespace

ObjectiveValue flashgen::schedule::objectiveOf(double seconds,
                                               int64_t globalBytes) {
  ObjectiveValue v;
  if (!std::isfinite(seconds))
    return v;
  v.defined = true;
  v.primary = std::llround(seconds * kPicosecondsPerSecond);
  v.secondary = globalBytes;
  return v;
}

std::string flashgen::schedule::attentionPrecondition(const AttentionProblem &p,
                                                      const Target &t,
                                                      Algorithm algorithm) {
  std::ostringstream os;
  if (std::string why = validate(p); !why.empty())
    return why;
  if (!isAttentionAlgorithm(algorithm))
    return std::string("'") + algorithmName(algorithm) +
           "' is not an attention schedule (" +
           algorithmNames(isAttentionAlgorithm) + ")";
  if (p.pageSize > 0 && algorithm != Algorithm::Flash2 &&
      algorithm != Algorithm::FlashDecode)
    return std::string(algorithmName(algorithm)) +
           " copies whole key tiles from one address; a paged cache (pages "
           "of " +
           std::to_string(p.pageSize) +
           " keys) is read by flash2 and flash_decode, whose copies look up "
           "each row's page";
  if (p.varlen && algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3 &&
      algorithm != Algorithm::FlashDecode)
    return std::string(algorithmName(algorithm)) +
           " does not read packed (varlen) sequences yet; flash2, flash3 and "
           "flash_decode do, each CTA addressing its sequence from cu_seqlens";
  if (p.rotaryDims > 0 && algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3 &&
      algorithm != Algorithm::FlashDecode)
    return std::string(algorithmName(algorithm)) +
           " streams q and k in head-dim chunks, which rotary embedding's "
           "pairs (f, f + R/2) span; flash2, flash3 and flash_decode rotate "
           "whole tiles";
  if (p.hasOutputMod && algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3)
    return std::string(algorithmName(algorithm)) +
           " does not apply an output_mod yet; flash2 and flash3 do, to each "
           "normalised element before they store a query tile's rows";
  if (p.blockQ > 0 && algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3)
    return std::string(algorithmName(algorithm)) +
           " does not visit block lists yet; under a block-sparse mask "
           "flash2 and flash3 do, each query tile walking its block's list";
  if (algorithm == Algorithm::Flash3DSplit) {
    if (!t.mma(MmaKind::Wgmma))
      return "flash3_dsplit is built on wgmma, which " + t.name +
             " does not have (sm_90a only)";
    if (p.elementBytes != 2)
      return "flash3_dsplit takes 16-bit inputs (bf16, f16) for wgmma; this "
             "op has " +
             std::to_string(p.elementBytes) + "-byte elements";
    // Chunks and slices are whole 64-column slabs of the 128-byte swizzle.
    if (p.headDim % kFlash3GroupRows != 0 || p.valueDim % kFlash3GroupRows != 0)
      return "flash3_dsplit splits D and Dv into whole 64-column slabs of "
             "wgmma's swizzled tiles; D = " +
             std::to_string(p.headDim) + ", Dv = " + std::to_string(p.valueDim) +
             " are not multiples of 64";
    return "";
  }
  if (algorithm == Algorithm::Flash3) {
    if (!t.mma(MmaKind::Wgmma))
      return "flash3 is built on wgmma, which " + t.name +
             " does not have (sm_90a only)";
    if (p.elementBytes != 2)
      return "flash3 takes 16-bit inputs (bf16, f16) for wgmma; this op has " +
             std::to_string(p.elementBytes) + "-byte elements";
    if (p.headDim % 64 != 0 || p.headDim > 256 || p.valueDim % 64 != 0 ||
        p.valueDim > 256)
      return "flash3 takes head dims that are multiples of 64 up to 256 "
             "(whole 128-byte swizzled rows); D = " +
             std::to_string(p.headDim) + ", Dv = " + std::to_string(p.valueDim);
    // Q and K stay in shared memory (wgmma reads them there), so D = 192
    // (MLA's prefill, 192 / 128) costs slabs, not registers; a 192-wide O
    // accumulator spilled in every schedule (the register model undercounts
    // three 64-column slabs of it).
    if (!isPowerOfTwo(p.valueDim))
      return "flash3's kernels take value head dims " + supportedHeadDims(64) +
             "; Dv = " + std::to_string(p.valueDim) + " is not one of them";
    // The epilogue stages each warp's O rows through its own Q rows.
    if (p.valueDim > p.headDim)
      return "flash3 stores O through the Q tile, so Dv may not exceed D; D = " +
             std::to_string(p.headDim) + ", Dv = " + std::to_string(p.valueDim);
    return "";
  }
  if (p.elementBytes != 2)
    return "flashgen's attention kernels take 16-bit inputs (bf16, f16) for "
           "the MMA; this op has " +
           std::to_string(p.elementBytes) + "-byte elements";
  if (!t.mma(t.kernelMma))
    return t.name + " has no " + mmaKindName(t.kernelMma) + " shape";
  if ((p.headDim * p.elementBytes) % kCopyBytes != 0 ||
      (p.valueDim * p.elementBytes) % kCopyBytes != 0)
    return "head dims D = " + std::to_string(p.headDim) + ", Dv = " +
           std::to_string(p.valueDim) +
           " must make 16-byte rows (multiples of 8 elements) for cp.async";
  if (splitsKeys(algorithm) && p.groupSize() * p.queryLen > kDecodeMaxPackedRows)
    return "flash_decode packs the query heads of a GQA group into one tile: "
           "(Hq / Hkv) x N = " +
           std::to_string(p.groupSize() * p.queryLen) + " rows exceed " +
           std::to_string(kDecodeMaxPackedRows) +
           " (longer queries fill the GPU with flash2 and flash3's query tiles)";
  if (algorithm == Algorithm::Flash2 || splitsKeys(algorithm)) {
    // The emitted kernel's shared tiles are D (Dv) columns wide, unpadded:
    // their swizzle needs a power-of-two count of 16-byte chunks per row and
    // the MMAs whole 16-column steps (codegen/device/smem_tile.cuh, mma.cuh).
    for (int64_t d : {p.headDim, p.valueDim})
      if (!isPowerOfTwo(d) || d < kMinHeadDim)
        return std::string(algorithmName(algorithm)) + "'s kernels take head dims " +
               supportedHeadDims(kMinHeadDim) + " (D = " +
               std::to_string(p.headDim) + ", Dv = " +
               std::to_string(p.valueDim) +
               " given; pad the head dim to the next supported one)";
    int64_t widest = std::max(paddedTileColumns(p.headDim),
                              paddedTileColumns(p.valueDim));
    if (widest > kMaxTileColumns)
      return std::string(algorithmName(algorithm)) +
             " keeps whole rows of Q, K and V in shared tiles of at most " +
             std::to_string(kMaxTileColumns) + " 16-bit columns; D = " +
             std::to_string(p.headDim) + ", Dv = " + std::to_string(p.valueDim) +
             " needs flash2_dsplit (the small-cache schedule)";
  } else {
    if (columnChoices(p.headDim).empty() || columnChoices(p.valueDim).empty())
      return "flash2_dsplit splits D and Dv into power-of-two column tiles of " +
             std::to_string(kMinTileColumns) + " to " +
             std::to_string(kMaxTileColumns) + "; D = " +
             std::to_string(p.headDim) + ", Dv = " + std::to_string(p.valueDim) +
             " has no such divisor";
  }
  return "";
}

bool flashgen::schedule::queryTilesCostTheSame(const AttentionProblem &p) {
  return p.mask == MaskKind::None && !p.varlen;
}

bool flashgen::schedule::persistentGridAvailable(const AttentionProblem &p) {
  // Round-robin rounds under causal masks left SMs idle (H200,
  // h200-attention-4.tsv: 1.06-1.43x slower than the one-CTA-per-tile grid,
  // whose hardware scheduler fills SMs as they free); claimed rounds take
  // the next tile as they free, like that scheduler. Packed sequences of
  // different lengths exit per sequence (flash.exit_if): one tile a CTA.
  // Under a block mask a query tile visits few key tiles (a tenth of them
  // at 90% sparsity), so the next round's Q and first K, V copies, which
  // the persistent producer issues during this round, hide what would be
  // each CTA's start.
  return !p.varlen;
}

std::string flashgen::schedule::rotaryPrepassPrecondition(const AttentionProblem &p,
                                                         Algorithm algorithm) {
  if (p.rotaryDims <= 0)
    return "rotary_prepass rotates K for rotary embedding, which this op has not";
  if (algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3)
    return std::string("rotary_prepass is a flash2 and flash3 form; ") +
           algorithmName(algorithm) + " rotates K on chip";
  if (p.pageSize > 0)
    return "rotary_prepass writes a contiguous copy of K; a paged cache (pages of " +
           std::to_string(p.pageSize) + " keys) is rotated on chip";
  if (p.varlen)
    return "rotary_prepass addresses K as [B, Hkv, M, D]; packed (varlen) keys "
           "are rotated on chip";
  return "";
}

std::string flashgen::schedule::maskListsPrecondition(const AttentionProblem &p,
                                                     Algorithm algorithm) {
  if (!p.maskModTiles)
    return "mask_lists sorts tiles by a mask_mod's extras, and this op has no "
           "mask_mod that reads an extra at a position through ops with an "
           "interval form";
  if (algorithm != Algorithm::Flash2 && algorithm != Algorithm::Flash3 &&
      !isAttentionGradAlgorithm(algorithm))
    return std::string("mask_lists is a form of flash2, flash3 and the "
                       "backward schedules; ") +
           algorithmName(algorithm) + " masks every key tile";
  if (p.blockQ > 0)
    return "mask_lists writes a block mask's lists; this op walks its own";
  if (p.varlen || p.pageSize > 0)
    return "mask_lists lists the tiles of [B, H, N] rows; packed sequences and "
           "paged caches mask every key tile";
  return "";
}

int64_t flashgen::schedule::maskListsChoice(const AttentionProblem &p,
                                            Algorithm algorithm) {
  return maskListsPrecondition(p, algorithm).empty() ? 1 : 0;
}

/// The rotary_prepass values a space offers: both where the form exists
/// (the cost model weighs K's rotation per query tile against a pre-pass
/// over K), else 0.
static std::vector<int64_t> rotaryPrepassChoices(const AttentionProblem &p,
                                                 Algorithm algorithm) {
  if (rotaryPrepassPrecondition(p, algorithm).empty())
    return {1, 0};
  return {0};
}

namespace {

/// flash3's space: 1 to 3 consumer warpgroups (tile_q = 64 each), with or
/// without a producer warpgroup, key tiles of 64 to 256 (wgmma N, steps of
/// 16), 2 to 4 stages, and with a producer a persistent grid (one CTA per
/// SM looping over the query tiles, Q double-buffered). The kernel options inner_q = 1 (softmax overlapping
/// the warpgroup's own P V) and inner_kv = 64 stay out of the search: on
/// the H100 table (schedule/calibration/) neither was faster than the form
/// without it by more than the spread of repeated runs.
ScheduleSpace flash3Space(const AttentionProblem &p, const Target &t) {
  ScheduleSpace out;
  out.algorithm = Algorithm::Flash3;
  SearchSpace &s = out.space;
  std::vector<int64_t> keyTiles;
  for (int64_t kv = 64; kv <= 256; kv += 16)
    keyTiles.push_back(kv);
  s.dims.push_back({"tile_q", {128, 192, 64}, {}});
  s.dims.push_back({"tile_kv", keyTiles, {}});
  s.dims.push_back({"stages", {2, 3, 4}, {}});
  s.dims.push_back({"producer", {1, 0}, {"yes", "no"}});
  if (persistentGridAvailable(p))
    s.dims.push_back({"persistent", {0, 1}, {"no", "yes"}});
  else
    s.dims.push_back({"persistent", {0}, {"no"}});
  s.dims.push_back({"rotary_prepass", rotaryPrepassChoices(p, Algorithm::Flash3), {}});
  const size_t tq = 0, tkv = 1, stages = 2, producer = 3, persistent = 4, prepass = 5;

  out.toSchedule = [=](const Point &x) {
    Schedule sch;
    sch.algorithm = Algorithm::Flash3;
    sch.tileQ = x[tq];
    sch.tileKv = x[tkv];
    sch.tileD = p.headDim;
    sch.tileDv = p.valueDim;
    sch.stages = x[stages];
    sch.warps = x[tq] / 16 + (x[producer] ? kWarpsPerGroup : 0);
    sch.persistent = x[persistent];
    sch.rotaryPrepass = x[prepass];
    sch.maskLists = maskListsChoice(p, Algorithm::Flash3);
    sch.smemBytes = flash3SmemBytes(p.headDim, p.valueDim, p.elementBytes, sch,
                                    p.rotaryDims > 0);
    return sch;
  };
  auto toSchedule = out.toSchedule;

  s.constraints.push_back(sharedMemoryRule(
      t, {tq, tkv, stages, producer, persistent},
      [toSchedule](const Point &x) { return toSchedule(x).smemBytes; }));

  SpaceConstraint regs;
  regs.resource = "consumer registers";
  regs.dims = {tq, tkv, producer, persistent};
  regs.value = [toSchedule, p](const Point &x) {
    Schedule sch = toSchedule(x);
    return flash3ConsumerNeed(p.headDim, p.valueDim, sch, p.elementMods(),
                              p.rotaryDims > 0, p.blockQ > 0 || sch.maskLists != 0) >
                   flash3ConsumerBudget(sch, p.valueDim, p.rotaryDims > 0)
               ? 1
               : 0;
  };
  regs.limit = 0;
  regs.unit = ValueUnit::Flag;
  regs.rule = "the consumer warpgroups' O, S and P must fit the registers "
              "setmaxnreg leaves them (schedule/Flash3Layout.h)";
  s.constraints.push_back(regs);
  addBlockTileRule(s, p, tq, tkv, toSchedule);

  // The persistent loop is the producer form's (flash3Violations).
  SpaceConstraint loop;
  loop.resource = "persistent grid";
  loop.dims = {producer, persistent};
  loop.value = [=](const Point &x) { return x[persistent] && !x[producer] ? 1 : 0; };
  loop.limit = 0;
  loop.unit = ValueUnit::Flag;
  loop.rule = "a persistent grid needs the producer warpgroup, which loads the "
              "next tile's Q while the consumers finish this one";
  s.constraints.push_back(loop);

  s.objective = modeledTime(p, t, toSchedule);
  return out;
}

} // namespace

Result<ScheduleSpace> flashgen::schedule::attentionSpace(
    const AttentionProblem &p, const Target &t, Algorithm algorithm) {
  if (std::string why = attentionPrecondition(p, t, algorithm); !why.empty())
    return Result<ScheduleSpace>::failure(why);
  if (algorithm == Algorithm::Flash3)
    return flash3Space(p, t);

  ScheduleSpace out;
  out.algorithm = algorithm;
  SearchSpace &s = out.space;
  const bool dsplit = splitsHeadDim(algorithm);
  // flash3_dsplit: whole warpgroups of 64 query rows, chunks and slices of
  // whole 64-column swizzle slabs (wgmma.cuh's issue_ABt, issue_rAB).
  const bool warpgroups = usesWgmma(algorithm);
  const int64_t e = p.elementBytes;
  const int64_t dPad = paddedTileColumns(p.headDim);
  const int64_t dvPad = paddedTileColumns(p.valueDim);

  // flash_decode's tiles hold packed rows: G query heads x N tokens.
  // (up to 64 of them whatever the rows: more warps split the copies, which
  // a one-warp CTA issues alone, and a region reading tables needs the
  // registers that frees).
  s.dims.push_back({"tile_q",
                    tileChoices(splitsKeys(algorithm)
                                    ? std::max<int64_t>(p.groupSize() * p.queryLen, 64)
                                    : p.queryLen),
                    {}});
  std::vector<int64_t> keyTiles = tileChoices(p.keyLen);
  if (splitsKeys(algorithm))
    // flash_decode's one-warp CTAs spend a barrier, a softmax step and a
    // ring turn per key tile: 16-key tiles measured 15-20% slower than
    // 32-key ones at every batch of 8 or more sequences on the H200
    // (bench/attention/bench_decode.py, GQA 32/8, d = 128, 2048 to 131072
    // keys), which the model's per-step cost does not see.
    keyTiles.erase(std::remove_if(keyTiles.begin(), keyTiles.end(),
                                  [](int64_t kv) { return kv < kDecodeMinTileKv; }),
                   keyTiles.end());
  if (splitsKeys(algorithm) && p.pageSize > 0) {
    // A paged cache (dialect/PagedKv.h) whose pages hold whole key tiles
    // is copied with one table lookup a tile; tiles wider than a page look
    // each row's page up before its copy. On the H200 (bench_paged.py,
    // GQA 32/8, d = 128, 8 to 128 sequences) 32-key tiles over 16-key pages
    // took 1.37-1.97x the contiguous cache's time, 16-key tiles (one page
    // each) 0.998-1.08x: where some tile divides the page, only those.
    std::vector<int64_t> wholePages;
    for (int64_t kv : tileChoices(p.pageSize))
      if (p.pageSize % kv == 0 && (kv >= kDecodeMinTileKv || kv == p.pageSize))
        wholePages.push_back(kv);
    if (!wholePages.empty())
      keyTiles = wholePages;
  }
  if (keyTiles.empty()) // fewer keys than the narrowest tile: one tile
    keyTiles.push_back(kDecodeMinTileKv);
  s.dims.push_back({"tile_kv", keyTiles, {}});
  const size_t tq = 0, tkv = 1;
  size_t td = 0, tdv = 0;
  if (dsplit) {
    auto slabs = [&](std::vector<int64_t> v) {
      if (warpgroups)
        v.erase(std::remove_if(v.begin(), v.end(),
                               [](int64_t c) { return c % kFlash3GroupRows != 0; }),
                v.end());
      return v;
    };
    s.dims.push_back({"tile_d", slabs(columnChoices(p.headDim)), {}});
    s.dims.push_back({"tile_dv", slabs(columnChoices(p.valueDim)), {}});
    td = 2;
    tdv = 3;
    // Deeper rings copy further ahead and, from 4 stages on flash3_dsplit,
    // keep the products in flight a step (schedule/AttentionCost.cpp,
    // kDSplitStepWaitCycles).
    s.dims.push_back({"stages",
                      warpgroups ? std::vector<int64_t>{2, 3, 4, 5}
                                 : std::vector<int64_t>{2, 3, 4},
                      {}});
    s.dims.push_back({"warps",
                      warpgroups ? std::vector<int64_t>{4, 8}
                                 : std::vector<int64_t>{1, 2, 4, 8},
                      {}});
  } else if (splitsKeys(algorithm)) {
    // A one-warp CTA with one tile in flight waits for each copy: on the
    // H200 2 stages ran 1-16% slower than 3 at every decode size measured
    // (same tiles and splits), which the Little's-law term does not see.
    s.dims.push_back({"stages", {3, 4}, {}});
    s.dims.push_back({"warps", {1, 2, 4, 8, 16}, {}});
  } else {
    s.dims.push_back({"stages", {2, 3, 4}, {}});
    s.dims.push_back({"warps", {1, 2, 4, 8, 16}, {}});
  }
  const size_t stages = s.dims.size() - 2, warps = s.dims.size() - 1;
  // flash_decode: keys per warp (0: every warp reads the whole key tile;
  // else tile_kv / inner_kv warps split each tile, as cuDNN's decode
  // kernel's 4 warps split its 128 keys). A decode tile has few real rows,
  // so a warp that owns a key slice of them does the work of one that
  // owns all keys of a quarter of the rows, without the padding rows.
  const size_t inner = s.dims.size();
  if (splitsKeys(algorithm))
    s.dims.push_back({"inner_kv", {0, 16, 32, 64}, {}});
  const size_t prepass = s.dims.size();
  if (algorithm == Algorithm::Flash2)
    s.dims.push_back({"rotary_prepass", rotaryPrepassChoices(p, algorithm), {}});

  out.toSchedule = [=](const Point &x) {
    Schedule sch;
    sch.algorithm = algorithm;
    sch.tileQ = x[tq];
    sch.tileKv = x[tkv];
    sch.tileD = dsplit ? x[td] : dPad;
    sch.tileDv = dsplit ? x[tdv] : dvPad;
    sch.stages = x[stages];
    sch.warps = x[warps];
    sch.innerKv = splitsKeys(algorithm) ? x[inner] : 0;
    sch.rotaryPrepass = algorithm == Algorithm::Flash2 ? x[prepass] : 0;
    sch.maskLists = maskListsChoice(p, algorithm);
    sch.smemBytes = attentionSmemBytes(p, sch);
    return sch;
  };

  auto loadsSplit = [=](const Point &x) {
    int64_t threads = 32 * x[warps];
    // flash2 copies whole rows (D, Dv elements, narrower than the padded
    // tile columns for D = 16: Checker.cpp's rule).
    int64_t d = dsplit ? x[td] : p.headDim, dv = dsplit ? x[tdv] : p.valueDim;
    auto whole = [&](int64_t rows, int64_t cols) {
      return (rows * cols * e / kCopyBytes) % threads == 0;
    };
    return whole(x[tq], d) && whole(x[tkv], d) && whole(x[tkv], dv);
  };
  if (dsplit) {
    addCommonConstraints(s, p, t, tq, warps, {tq, tkv, td, tdv, stages},
                         out.toSchedule, {tq, tkv, td, tdv, warps},
                         {tq, tkv, td, tdv, warps}, loadsSplit, {tq, warps});
    SpaceConstraint ring;
    ring.resource = "chunk ring";
    ring.dims = {td, stages};
    ring.value = [=, headDim = p.headDim](const Point &x) {
      int64_t ahead = dsplitPrefetchDistance(algorithm, x[stages]);
      return ahead < 1 || ahead > headDim / x[td] ? 1 : 0;
    };
    ring.limit = 0;
    ring.unit = ValueUnit::Flag;
    ring.rule = kDSplitRingRule;
    s.constraints.push_back(ring);
    if (warpgroups) {
      SpaceConstraint groups;
      groups.resource = "warpgroup rows";
      groups.dims = {tq, warps};
      groups.value = [=](const Point &x) {
        return x[tq] != kFlash3GroupRows / kWarpsPerGroup * x[warps] ? 1 : 0;
      };
      groups.limit = 0;
      groups.unit = ValueUnit::Flag;
      groups.rule = kDSplitWarpgroupRule;
      s.constraints.push_back(groups);
    }
  } else {
    const bool decode = splitsKeys(algorithm);
    std::vector<size_t> rowDims = decode ? std::vector<size_t>{tq, warps, tkv, inner}
                                         : std::vector<size_t>{tq, warps};
    addCommonConstraints(s, p, t, tq, warps, {tq, tkv, stages},
                         out.toSchedule,
                         decode ? std::vector<size_t>{tq, tkv, warps, inner}
                                : std::vector<size_t>{tq, tkv, warps},
                         {tq, tkv, warps}, loadsSplit, rowDims);
    addBlockTileRule(s, p, tq, tkv, out.toSchedule);
    if (decode) {
      s.constraints.push_back(flagRule(
          "key warps", {tkv, warps, inner},
          [=](const Point &x) {
            return x[inner] != 0 && !decodeKeyWarpsFit(x[tkv], x[warps], x[inner]);
          },
          kDecodeKeyWarpsRule));
      auto toSchedule = out.toSchedule;
      s.constraints.push_back(flagRule(
          "key-warp merge", {tq, tkv, stages, warps, inner},
          [=, valueDim = p.valueDim](const Point &x) {
            Schedule sch = toSchedule(x);
            return decodeKeyWarpMergeBytes(sch, valueDim) > sch.smemBytes;
          },
          "flash_decode's key warps merge their softmax states through the "
          "(idle) copy ring, which must hold every warp's accumulators but "
          "the first's"));
      s.constraints.push_back(flagRule(
          "keys in flight", {tkv, stages},
          [=](const Point &x) { return x[tkv] * x[stages] < kDecodeMinKeysInFlight; },
          "flash_decode keeps a ring of at least " +
              std::to_string(kDecodeMinKeysInFlight) +
              " keys (tile_kv x stages): 16-key tiles (a paged cache's pages) "
              "with 3 stages read 1.31x slower than with 4 at 64 and 128 "
              "sequences on the H200 (bench_paged.py)"));
      const int64_t packedRows = roundUp(p.groupSize() * p.queryLen, 16);
      s.constraints.push_back(flagRule(
          "packed rows", {tq, tkv},
          [=](const Point &x) {
            // Key tiles too narrow for key warps (a paged cache's 16-key
            // pages) split their copies over 2 warps, which take rows.
            return x[tq] > (decodeKeyWarpsPossible(x[tkv]) ? 1 : 2) * packedRows;
          },
          "flash_decode's tile holds at most the packed rows (G x N rounded "
          "up to 16) it is planned for, twice them where the key tile is too "
          "narrow for key warps: the rows past them are padding that still "
          "computes and waits for every key tile; for 4 packed rows on the "
          "H200 (GQA 32/8, d = 128, 8 to 128 sequences of 2048 to 131072 "
          "keys, in CUDA graphs) 32-row tiles read 0.7-1.7% slower than "
          "16-row ones with the same key warps, 64-row ones 1.2-1.5x "
          "slower"));
      s.constraints.push_back(flagRule(
          "key warps wanted", {tkv, warps, inner},
          [=](const Point &x) {
            return x[inner] == 0 && decodeKeyWarpsPossible(x[tkv]);
          },
          "flash_decode's warps split key tiles of 32 keys or more "
          "(inner_kv > 0): every warp reading the whole tile for the same "
          "few rows read 1.3-2.6% slower than key warps at every batch of 8 "
          "or more on the H200 (the measured candidates, "
          "schedule/calibration/h200-decode.tsv)"));
      s.constraints.push_back(flagRule(
          "copying warps", {tkv, warps},
          [=](const Point &x) { return x[tkv] < kDecodeMinTileKv && x[warps] < 2; },
          "flash_decode splits the copies of key tiles narrower than " +
              std::to_string(kDecodeMinTileKv) +
              " keys over at least 2 warps: one-warp CTAs of 16-key tiles (a "
              "paged cache's pages) read 1.19x slower than two-warp ones at "
              "128 sequences on the H200 (bench_paged.py)"));
    }
  }

  s.objective = modeledTime(p, t, out.toSchedule);
  return out;
}

void flashgen::schedule::addBlockTileRule(
    SearchSpace &s, const AttentionProblem &p, size_t tq, size_t tkv,
    std::function<Schedule(const Point &)> toSchedule) {
  if (p.blockQ == 0)
    return;
  s.constraints.push_back(flagRule(
      "block-sparse tiles", {tq, tkv},
      [p, toSchedule](const Point &x) {
        Schedule sch = toSchedule(x);
        return !blockTileViolation(p, sch.tileQ, sch.tileKv).empty();
      },
      blockTileViolation(p, 0, 0)));
}
