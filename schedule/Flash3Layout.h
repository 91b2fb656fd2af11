//===- Flash3Layout.h - on-chip plan of the flash3 (wgmma) kernel -*- C++ -*-===//
//
// The one description of what a flash3 schedule builds on an sm_90a SM,
// read by the cost model (AttentionCost.cpp), the checker, the search space
// and the CUDA emitter (codegen/attention/), so none of them can
// disagree about what fits:
//
//   warpgroups   tile_q / 64 consumer warpgroups (wgmma M = 64 rows each);
//                a producer warpgroup that issues the K/V copies when
//                warps = tile_q / 16 + 4 (FlashAttention-3's warp
//                specialization), else the consumers copy for themselves
//   shared       Q (tile_q x D; two buffers when persistent), stages x
//                (K tile_kv x D + V tile_kv x Dv), the producer's mbarriers
//                (1 + 4 stages, or 4 + 4 stages and the claims' 6 words
//                when persistent; 8 bytes each, 128-byte rounded), 1 KiB
//                of slack to align the 128-byte swizzle atoms to 1024 bytes
//   grid         one CTA per query tile, or (persistent) one per SM looping
//                over the query tiles (dealt round-robin, or claimed from a
//                counter when they cost different amounts)
//   registers    a consumer thread holds O (64 x Dv / 128 f32), S (64 x
//                tile_kv / 128 f32) and P (its 16-bit copy); setmaxnreg
//                moves the producer's share to the consumers
//
// Plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_FLASH3LAYOUT_H
#define FLASHGEN_SCHEDULE_FLASH3LAYOUT_H

#include "schedule/Problem.h"
#include "schedule/Schedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::schedule {

/// Query rows of one consumer warpgroup: wgmma's M.
constexpr int64_t kFlash3GroupRows = 64;
/// Warps in a warpgroup.
constexpr int64_t kWarpsPerGroup = 4;
/// 128-byte swizzle atoms start on 1024-byte boundaries; a warpgroup
/// kernel aligns its base inside this slack (fg::wg::kSmemAlign).
constexpr int64_t kSwizzleAlignSlack = 1024;

/// The warpgroups of a flash3 schedule.
struct Flash3Shape {
  int64_t consumerGroups = 0; ///< tile_q / 64
  bool producer = false;      ///< one more warpgroup that only loads
  int64_t threads = 0;        ///< 32 x warps
};
Flash3Shape flash3Shape(const Schedule &s);

/// Bytes of dynamic shared memory the kernel asks for. `rotary`: q and k
/// are rotated on chip (dialect/Rotary.h), and a producer warpgroup's pipe
/// has a ready barrier per Q and K slot besides.
int64_t flash3SmemBytes(int64_t headDim, int64_t valueDim,
                        int64_t elementBytes, const Schedule &s,
                        bool rotary = false);

/// setmaxnreg budgets per thread (0: keep what the launch gave). They must
/// fit the launch's pool (the __launch_bounds__ cap times the threads) or
/// setmaxnreg.inc waits forever.
struct RegisterSplit {
  int64_t producer = 0;
  int64_t consumer = 0;
};
/// `producerReadsLists`: the producer looks each key tile up in a block
/// mask's lists (dialect/BlockMask.h) before its copy; `producerRotates`:
/// its warps rotate Q and K tiles (rotary embedding, dialect/Rotary.h).
/// `valueDim`: O's width, Dv (the consumers' accumulator; Q and K stay in
/// shared memory, so D does not enter).
RegisterSplit flash3RegisterSplit(const Schedule &s, int64_t valueDim,
                                  bool producerReadsLists = false,
                                  bool producerRotates = false);

/// Registers per thread the launch gives with one CTA per SM (the
/// __launch_bounds__(threads, 1) cap: 65536 / threads, at most 255, in
/// units of 8).
int64_t flash3LaunchRegisters(const Schedule &s);

/// Registers a consumer thread has after the split.
int64_t flash3ConsumerBudget(const Schedule &s, int64_t valueDim,
                             bool producerRotates = false);

/// Registers a consumer thread needs (model of ptxas's counts, see
/// Flash3Layout.cpp), and what consumers that copy their own tiles (no
/// producer) need on top: the copy addresses and predicates.
constexpr int64_t kFlash3SelfCopyRegisters = 8;
/// ... and, with rotary embedding, the rotation of each landed tile (two
/// pieces in flight: 4 chunk words, 16 angles; the 192 x 80 causal d = 128
/// kernel spilled 4 bytes at its 168-register cap without this margin).
constexpr int64_t kFlash3SelfRotateRegisters = 8;
/// What the user's regions add (AttentionProblem::elementMods): a score_mod
/// of the score alone (softcap) keeps a few constants live across the
/// fragment loop; regions that read positions (a mask_mod, or a score_mod of
/// q_idx / kv_idx such as ALiBi) keep the lane's row and column offsets, the
/// slope and their per-fragment terms live too. Measured with ptxas on the
/// H200 bundles: ALiBi + causal at d = 128 spills at tile_kv = 144 (budget
/// 232) and not at 128 (budget 224), so its need is 222-224 there.
/// Regions that load from extra tensors per element (a bias table, document
/// ids) keep addresses and clamped indices live on top: the relative-bias
/// example spilled 44 bytes at tile_kv = 128 and 28 at 112 with the
/// positions' 32, so about 12 more registers than that.
constexpr int64_t kFlash3ElementModRegisters = 8;
constexpr int64_t kFlash3PositionModRegisters = 32;
constexpr int64_t kFlash3TableModRegisters = 48;
/// The registers `mods` adds to a thread that holds score elements.
int64_t elementModRegisters(ElementMods mods);
int64_t flash3ConsumerRegisters(int64_t headDim, int64_t valueDim,
                                int64_t tileKv,
                                ElementMods mods = ElementMods::None);

/// ... and, walking a block mask's lists (user lists or a mask_lists
/// pre-pass's) in a grid of one CTA per query tile, the lists' row and the
/// position's lookups: the document-mask example (ids read per element)
/// spilled 24 bytes at 128 x 96, 224 registers, non-persistent, with
/// lists, and none without them or persistent (NVRTC 13.0, sm_90a).
constexpr int64_t kFlash3ListWalkRegisters = 16;

/// What a consumer thread of schedule `s` needs: flash3ConsumerRegisters,
/// plus, without a producer, its own copies and (`rotary`) the rotation of
/// each landed tile, plus (`walksLists`) the list walk. The checker and the
/// search compare it to flash3ConsumerBudget.
int64_t flash3ConsumerNeed(int64_t headDim, int64_t valueDim, const Schedule &s,
                           ElementMods mods, bool rotary, bool walksLists = false);

/// Every rule of the kernel shape, one message per broken rule (empty: the
/// emitter can print it). `smemPerCTA` is the target's limit; mods: what
/// the problem's score_mod / mask_mod read.
std::vector<std::string> flash3Violations(int64_t headDim, int64_t valueDim,
                                          int64_t elementBytes,
                                          const Schedule &s,
                                          int64_t smemPerCTA,
                                          ElementMods mods = ElementMods::None,
                                          bool rotary = false,
                                          bool walksLists = false);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_FLASH3LAYOUT_H
