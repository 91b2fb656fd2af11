//===- LinearSpace.h - the schedule space of a recurrence -------*- C++ -*-===//
//
// Dimensions, constraints and objective the solver searches for one
// flash.linear_attention: the form (chunk_fused or chunk_two_pass), chunk L
// in {16 ... 512}, inner tiles inner_q, inner_kv in {16 ... 128} (TFLA's
// second level), tile_dv (powers of two >= 16 dividing Dv), stages in
// {1, 2}, warps in {1 ... 8}. The constraints are flash-chunk's
// (passes/Chunk.cpp): inner tiles split the chunk, inner_q splits into
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

/// The space of both forms, or of `form` alone.
Result<ScheduleSpace> linearSpace(const LinearProblem &p, const Target &t,
                                  std::optional<Algorithm> form);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_LINEARSPACE_H
