//===- StepSpace.h - the schedule space of a recurrent step kernel -*- C++ -*-===//
//
// `recurrent_step` (schedule/StepLayout.h): decoding a flash.linear_attention
// or flash.delta_rule a few tokens at a time. Dimensions: tile_dv (powers of
// two from 8 to 128 dividing Dv) and warps (1 to 8); constraints: the
// thread layout splits the slice (stepKernelViolations, Checker.h), the
// state fits the registers, the buffers fit shared memory. Ranked with the
// chunkwise forms by modeled time (scheduleLinear), so the cost model, not
// a token-count threshold, decides where decoding stops and chunks begin.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_STEPSPACE_H
#define FLASHGEN_SCHEDULE_STEPSPACE_H

#include "schedule/AttentionSpace.h"
#include "schedule/StepLayout.h"

namespace flashgen::schedule {

/// The step kernel's shape for `s` on `p`.
StepShape stepShapeOf(const LinearProblem &p, const Schedule &s);

/// Why no step kernel can run `p`'s kind of op at all (its element types
/// and dims; sizes aside), or "".
std::string stepPrecondition(const LinearProblem &p, const Target &t);

/// The step schedule flash-schedule records with `search=false`: 4 warps
/// and the widest value tile (at most 64) whose layout holds.
Schedule defaultStepSchedule(const LinearProblem &p);

Result<ScheduleSpace> stepSpace(const LinearProblem &p, const Target &t);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_STEPSPACE_H
