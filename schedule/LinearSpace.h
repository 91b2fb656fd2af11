//===- LinearSpace.h - the schedule space of a recurrence -------*- C++ -*-===//
//
// Dimensions, constraints and objective the solver searches for one
// flash.linear_attention: the form (chunk_fused or chunk_two_pass), chunk L
// in {16 ... 512}, inner tiles inner_q, inner_kv in {16 ... 128} (TFLA's
// second level), tile_dv (powers of two >= 16 dividing Dv), stages in
// {1, 2}, warps in {1 ... 8}. The constraints are the chunkwise kernels'
// (chunkwiseKernelViolations, Checker.h): inner tiles split the chunk, inner_q splits into
// 16-row tiles over the warps, Dk gives every warp 16 state rows, and both
// kernels of a form fit shared memory and registers (ChunkLayout.h).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_LINEARSPACE_H
#define FLASHGEN_SCHEDULE_LINEARSPACE_H

#include "schedule/AttentionSpace.h"

#include <optional>

namespace flashgen::schedule {

/// Why no chunkwise schedule can run `p` at all, or "".
std::string linearPrecondition(const LinearProblem &p, const Target &t);

/// The schedule of `form` (chunk_fused or chunk_two_pass) that
/// flash-schedule records with `search=false`: chunks of 64 (the fla / TFLA
/// default), 64-row inner query tiles, a state slice of at most 64 f32
/// registers per thread over 4 warps, two chunks in flight. Key dims above
/// 128 and mlstm_exp halve the inner key tile (their score tiles cost more
/// registers, ChunkLayout.h); a target whose shared memory the two stages
/// overflow gets one (no overlap of the next chunk's loads, but it runs).
Schedule defaultLinearSchedule(const LinearProblem &p, const Target &t,
                               Algorithm form);

/// The space of both forms, or of `form` alone.
Result<ScheduleSpace> linearSpace(const LinearProblem &p, const Target &t,
                                  std::optional<Algorithm> form);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_LINEARSPACE_H
