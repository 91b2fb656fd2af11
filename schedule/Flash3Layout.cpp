//===- Flash3Layout.cpp - on-chip plan of the flash3 (wgmma) kernel -------===//

#include "schedule/Flash3Layout.h"

#include "schedule/Target.h"
#include "schedule/Units.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

/// flash3 runs on sm_90a only: its register limits are sm_90's, read from
/// the target table (the one source of hardware numbers).
const Target &hopper() { return **lookupTarget("sm_90"); }
/// The producer's mbarriers (wg::pipe in codegen/device/attention/wgmma_pipe.cuh):
/// Q's, then full and empty barriers for K and V per stage (and, persistent,
/// Q's empty ones and the claims'); 8-byte words.
constexpr int64_t kBarrierBytes = 8;
constexpr int64_t kBarrierAlign = 128;

// Consumer registers per thread, a model of ptxas's counts for the emitter's
// flash3 kernels (NVRTC 13.0, sm_90a): the f32 accumulators of O (Dv / 2 per
// thread: 64 x Dv over 128 threads), of S (tile_kv / 2) and P's 16-bit copy
// (tile_kv / 4), plus addressing, softmax state and loop counters. Checked
// against every flash3 schedule the scheduler can return by
// test/unit/device/WgmmaCompileTest.cpp (compiled, no spills).
constexpr int64_t kConsumerBaseRegisters = 32;

} // namespace

Flash3Shape flashgen::schedule::flash3Shape(const Schedule &s) {
  Flash3Shape shape;
  shape.consumerGroups = s.tileQ / kFlash3GroupRows;
  shape.producer = s.warps == kWarpsPerGroup * (shape.consumerGroups + 1);
  shape.threads = 32 * s.warps;
  return shape;
}

int64_t flashgen::schedule::flash3SmemBytes(int64_t headDim, int64_t valueDim,
                                            int64_t elementBytes,
                                            const Schedule &s, bool rotary) {
  // The persistent form double-buffers Q and adds its q_empty barriers,
  // and two claim words (a round's tile) with a full and an empty barrier
  // each.
  const int64_t qBuffers = s.persistent ? 2 : 1;
  const int64_t claims = s.persistent ? 2 : 0;
  int64_t tiles = (qBuffers * s.tileQ * headDim +
                   s.stages * s.tileKv * (headDim + valueDim)) *
                  elementBytes;
  // Rotary embedding: the rotating warps hand each Q and K slot on through
  // a ready barrier of its own (wg::pipe's ROTARY form); with the key
  // pre-pass the consumers rotate their own Q rows and there is none.
  int64_t barrierCount = qBuffers + 4 * s.stages +
                         (qBuffers > 1 ? qBuffers : 0) + 3 * claims +
                         (rotary && !s.rotaryPrepass ? qBuffers + s.stages : 0);
  int64_t barriers = flash3Shape(s).producer
                         ? roundUp(barrierCount * kBarrierBytes, kBarrierAlign)
                         : 0;
  return tiles + barriers + kSwizzleAlignSlack;
}

int64_t flashgen::schedule::flash3LaunchRegisters(const Schedule &s) {
  const Target &t = hopper();
  int64_t threads = std::max<int64_t>(32, 32 * s.warps);
  int64_t cap = t.registersPerSM / threads / t.registerAllocationUnit *
                t.registerAllocationUnit;
  return std::min(t.maxRegistersPerThread, cap);
}

RegisterSplit flashgen::schedule::flash3RegisterSplit(const Schedule &s,
                                                      int64_t valueDim,
                                                      bool producerReadsLists,
                                                      bool producerRotates) {
  Flash3Shape shape = flash3Shape(s);
  RegisterSplit split;
  // With the key pre-pass the consumers turn their own Q rows: the
  // producer only copies.
  producerRotates = producerRotates && !s.rotaryPrepass;
  if (!shape.producer)
    return split;
  // Pools: 384 threads x 168 and 512 x 128. Two consumer groups get 224
  // and leave slack, 232 when S is wide (tile_kv > 128), or 240 when O is
  // (Dv > 128: 128 accumulator registers), leaving the producer FlashAttention-3's
  // 24 (its copies of 256-wide rows go slab by slab, wg::load_async_by, and
  // fit); three get 160. One group keeps the launch's 255.
  if (shape.consumerGroups == 2) {
    const bool wideO = valueDim > 128, wideS = s.tileKv > 128 && !s.persistent;
    // (24 + 2 x 240 fills the 384 x 168 pool exactly; a persistent grid,
    // whose producer wants 32, does not fit shared memory at Dv > 128. D
    // alone does not widen O: at 192 / 128 the persistent producer spilled
    // 96-100 bytes under 24 registers and keeps the d = 128 split.) The
    // persistent producer's round loop and tile claims spilled at 40
    // (NVRTC 13.0, 128 x 160 causal): it keeps 48; with a block mask's
    // list lookups too (passes/BlockLists.h) it spilled 4-28 bytes at 48
    // (128 x 128 and 128 x 64) and keeps 56, which with 2 x 224 fills the
    // pool exactly; so does one whose warps rotate Q and K (rotary
    // embedding: 8 bytes spilled at 48, 128 x 128 causal). Rotating
    // producers spilled at 24 (d = 256: 24 bytes), so wide O's consumers
    // give 8 registers: 40 + 2 x 232 (no spill at d = 256, 128 x 80).
    const bool busy = producerReadsLists || producerRotates;
    split.producer = wideO ? (producerRotates ? 40 : 24) : wideS ? 40 : s.persistent && busy ? 56 : 48;
    split.consumer = wideO ? (producerRotates ? 232 : 240) : wideS ? 232 : 224;
  } else if (shape.consumerGroups == 3) {
    // 24 + 3 x 160 leaves 4096 registers of slack; the persistent producer
    // (round loop, tile decode, group bookkeeping) spills under 24 and takes
    // that slack: 32 + 3 x 160 fills the pool exactly.
    // A rotating producer spilled 80 bytes at 32 (d = 64, 192 x 128) and
    // none at 56 + 3 x 152, which fills the pool exactly.
    split.producer = producerRotates ? 56 : s.persistent ? 32 : 24;
    split.consumer = producerRotates ? 152 : 160;
  }
  return split;
}

int64_t flashgen::schedule::flash3ConsumerBudget(const Schedule &s,
                                                 int64_t valueDim,
                                                 bool producerRotates) {
  RegisterSplit split = flash3RegisterSplit(s, valueDim, false, producerRotates);
  return split.consumer ? split.consumer : flash3LaunchRegisters(s);
}

int64_t flashgen::schedule::elementModRegisters(ElementMods mods) {
  switch (mods) {
  case ElementMods::Tables:
    return kFlash3TableModRegisters;
  case ElementMods::Positions:
    return kFlash3PositionModRegisters;
  case ElementMods::Score:
    return kFlash3ElementModRegisters;
  case ElementMods::None:
    return 0;
  }
  return 0;
}

int64_t flashgen::schedule::flash3ConsumerRegisters(int64_t headDim,
                                                    int64_t valueDim,
                                                    int64_t tileKv,
                                                    ElementMods mods) {
  (void)headDim; // Q and K stay in shared memory: wgmma reads them there.
  int64_t modRegisters = elementModRegisters(mods);
  return kConsumerBaseRegisters + valueDim / 2 + tileKv / 2 + tileKv / 4 +
         modRegisters;
}

int64_t flashgen::schedule::flash3ConsumerNeed(int64_t headDim, int64_t valueDim,
                                               const Schedule &s, ElementMods mods,
                                               bool rotary, bool walksLists) {
  const bool producer = flash3Shape(s).producer;
  return flash3ConsumerRegisters(headDim, valueDim, s.tileKv, mods) +
         (producer ? 0 : kFlash3SelfCopyRegisters) +
         (producer || !rotary ? 0 : kFlash3SelfRotateRegisters) +
         (walksLists && !s.persistent ? kFlash3ListWalkRegisters : 0);
}

std::vector<std::string> flashgen::schedule::flash3Violations(
    int64_t headDim, int64_t valueDim, int64_t elementBytes, const Schedule &s,
    int64_t smemPerCTA, ElementMods mods, bool rotary, bool walksLists) {
  std::vector<std::string> broken;
  auto n = [](int64_t v) { return std::to_string(v); };
  if (elementBytes != 2)
    broken.push_back("wgmma takes 16-bit operands (bf16, f16)");
  if (headDim % 64 != 0 || headDim > 256 || valueDim % 64 != 0 || valueDim > 256)
    broken.push_back("head and value dims must be multiples of 64, at most "
                     "256 (D = " + n(headDim) + ", Dv = " + n(valueDim) + ")");
  else if (valueDim > headDim)
    broken.push_back("O is stored through the Q tile: Dv = " + n(valueDim) +
                     " may not exceed D = " + n(headDim));
  Flash3Shape shape = flash3Shape(s);
  if (s.tileQ % kFlash3GroupRows != 0 || shape.consumerGroups < 1 ||
      shape.consumerGroups > 3)
    broken.push_back("tile_q = " + n(s.tileQ) +
                     " must be 64, 128 or 192 (64 query rows per consumer "
                     "warpgroup, 1 to 3 warpgroups)");
  else if (s.warps != kWarpsPerGroup * shape.consumerGroups &&
           !shape.producer)
    broken.push_back("warps = " + n(s.warps) + " must be tile_q / 16 = " +
                     n(s.tileQ / 16) + " (consumer warpgroups) or " +
                     n(s.tileQ / 16 + 4) + " (and a producer warpgroup)");
  if (s.tileKv % 16 != 0 || s.tileKv < 16 || s.tileKv > 256)
    broken.push_back("tile_kv = " + n(s.tileKv) +
                     " must be a multiple of 16 in [16, 256] (wgmma N)");
  if (s.stages < 2)
    broken.push_back("stages = " + n(s.stages) +
                     ": the K/V ring needs at least 2");
  if (s.innerKv != 0 && s.innerKv != 64)
    broken.push_back("inner_kv = " + n(s.innerKv) +
                     " selects the P V wgmma width: 0 (all of Dv) or 64");
  if (s.persistent != 0 && !(s.persistent == 1 && shape.producer && s.innerQ == 0))
    broken.push_back("persistent = " + n(s.persistent) +
                     ": 1 (one CTA per SM looping over query tiles) needs the "
                     "producer form without inner_q; otherwise 0");
  if (s.innerQ != 0 && !(s.innerQ == 1 && shape.producer))
    broken.push_back("inner_q = " + n(s.innerQ) +
                     ": 1 (softmax overlapping the warpgroup's own P V) needs "
                     "the producer form; otherwise 0");
  if (!broken.empty())
    return broken;
  int64_t smem = flash3SmemBytes(headDim, valueDim, elementBytes, s, rotary);
  if (smem > smemPerCTA)
    broken.push_back("needs " + formatBytes(smem) +
                     " of shared memory, more than the " +
                     formatBytes(smemPerCTA) + " a CTA may use");
  int64_t need = flash3ConsumerNeed(headDim, valueDim, s, mods, rotary, walksLists);
  int64_t budget = flash3ConsumerBudget(s, valueDim, rotary);
  if (need > budget)
    broken.push_back("consumer warpgroups need about " + n(need) +
                     " registers per thread (O, S and P of a " + n(s.tileKv) +
                     "-key tile at Dv = " + n(valueDim) + "), they have " +
                     n(budget));
  return broken;
}
