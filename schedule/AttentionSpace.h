//===- AttentionSpace.h - the schedule space of an attention op -*- C++ -*-===//
//
// Dimensions, constraints and objective the solver searches for one
// attention problem and one kernel family:
//
//   flash2         tile_q, tile_kv in {16 ... 256}, stages in {2, 3, 4},
//                  warps in {1 ... 16}
//   flash2_dsplit  tile_q, tile_kv in {16 ... 256}, tile_d, tile_dv in
//                  {32 ... 256} dividing D and Dv, stages in {2, 3, 4},
//                  warps in {1 ... 8}; flash3_dsplit the same with
//                  tile_q = 16 warps, warps in {4, 8}, 64-column slabs,
//                  stages in {2 ... 5} (from 4 on its products stay in
//                  flight one step and the ring copies stages - 2 ahead)
//
// Constraints: shared memory per CTA, registers per thread and per CTA,
// threads per CTA, whole 16-row MMA tiles per warp (mma.sync.m16n8k16: warps
// split the query rows, docs/emitter-target.md §1), tile loads splitting
// into whole 16-byte chunks per thread. Objective: the modeled time in
// picoseconds, ties broken by fewer global bytes.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_ATTENTIONSPACE_H
#define FLASHGEN_SCHEDULE_ATTENTIONSPACE_H

#include "schedule/Problem.h"
#include "schedule/Result.h"
#include "schedule/Schedule.h"
#include "schedule/SearchSpace.h"
#include "schedule/Target.h"

#include <functional>
#include <memory>

namespace flashgen::schedule {

/// A search space and how its points read as schedules.
struct ScheduleSpace {
  Algorithm algorithm = Algorithm::Flash2;
  SearchSpace space;
  std::function<Schedule(const Point &)> toSchedule;
};

/// Why `algorithm` cannot run `p` on `t` at all (element type, head-dim
/// alignment, tile widths), or "" when the space is worth searching.
std::string attentionPrecondition(const AttentionProblem &p, const Target &t,
                                  Algorithm algorithm);

/// The space of `algorithm` (flash2 or flash2_dsplit) for `p` on `t`. Fails
/// with attentionPrecondition's message.
Result<ScheduleSpace> attentionSpace(const AttentionProblem &p,
                                     const Target &t, Algorithm algorithm);

/// Whether every query tile of `p` does the same work (no causal mask, one
/// sequence length): CTAs of one tile each then run in even waves.
bool queryTilesCostTheSame(const AttentionProblem &p);

/// Whether flash3's persistent grid (Schedule::persistent) is in the space
/// of `p`: tiles of equal cost are dealt round-robin, tiles of different
/// cost (causal) claimed from a counter (flash.tile_rounds `claimed`);
/// packed sequences have no persistent form.
bool persistentGridAvailable(const AttentionProblem &p);

/// Whether Schedule::rotaryPrepass is in the space of `p` for `algorithm`:
/// rotary embedding in flash2 or flash3, keys contiguous and unpacked (the
/// pre-pass addresses a [B, Hkv, M, D] copy; a paged or packed cache keeps
/// the on-chip rotation). "" when it is, else why not.
std::string rotaryPrepassPrecondition(const AttentionProblem &p, Algorithm algorithm);
/// Why `algorithm` cannot take Schedule::maskLists for `p` ("" where it
/// can): a flash2 / flash3 tile kernel or a backward schedule, under a
/// mask_mod whose tiles its extras decide, with no block mask of its own,
/// contiguous sequences.
std::string maskListsPrecondition(const AttentionProblem &p, Algorithm algorithm);
/// The mask_lists value a space (forward or backward) offers: 1 wherever
/// the form exists (the pre-pass reads the extras once per tile pair, a
/// few microseconds, and every tile it hides is neither loaded nor
/// computed), else 0.
int64_t maskListsChoice(const AttentionProblem &p, Algorithm algorithm);

/// Under a block-sparse mask (dialect/BlockMask.h) a tile lies in one
/// block: its list is one block's, and a listed block is whole tiles
/// (blockTileViolation). Adds that rule over the tile dims `tq`, `tkv` of
/// a space whose points read as schedules through `toSchedule` (the
/// forward's and the backward's); nothing without a mask.
void addBlockTileRule(SearchSpace &s, const AttentionProblem &p, size_t tq,
                      size_t tkv, std::function<Schedule(const Point &)> toSchedule);

/// Modeled picoseconds of a time in seconds (the solver's integer
/// objective); undefined for an infinite time.
ObjectiveValue objectiveOf(double seconds, int64_t globalBytes);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_ATTENTIONSPACE_H
