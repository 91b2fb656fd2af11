//===- Checker.h - every rule a schedule must satisfy -----------*- C++ -*-===//
//
// Checks a finished schedule directly, rule by rule, without the solver or
// the search space: the scheduler runs it on everything it returns, and the
// tests run it on every point the solver finds. One message per violated
// rule; empty when the schedule is valid.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_CHECKER_H
#define FLASHGEN_SCHEDULE_CHECKER_H

#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"

#include <string>
#include <vector>

namespace flashgen::schedule {

std::vector<std::string> checkAttentionSchedule(const AttentionProblem &p,
                                                const Target &t,
                                                const Schedule &s);
/// What the chunkwise kernels themselves require of a recurrence schedule:
/// the rules flash-lower-kernels applies to every schedule it lowers (a
/// spec's own, a candidate) and the emitter relies on. At most one message,
/// the first rule broken. checkLinearSchedule applies them too, then the
/// scheduler's stricter fit (occupancy, its register model) and the plan's
/// figures. For chunk_grad: the rules of its two state passes.
std::vector<std::string> chunkwiseKernelViolations(const LinearProblem &p,
                                                   const Target &t,
                                                   const Schedule &s);
/// Whether a recurrence kernel's staged chunk tiles (L x Dk, L x tile_dv,
/// vector gates' f32 L x Dk) split into whole 16-byte copies over its 32 x
/// warps threads: one of chunkwiseKernelViolations' rules, which the
/// gradient's space also applies to its state passes.
bool chunkTilesSplitIntoCopies(const LinearProblem &p, const Schedule &s);
/// What the recurrent step kernel requires (schedule/StepLayout.h): its
/// precondition on the op and its thread layout. At most one message.
std::vector<std::string> stepKernelViolations(const LinearProblem &p,
                                              const Target &t,
                                              const Schedule &s);
/// The kernel rules of whichever recurrence family `s` names (step or
/// chunkwise): what flash-lower-kernels holds every schedule to.
std::vector<std::string> recurrenceKernelViolations(const LinearProblem &p,
                                                    const Target &t,
                                                    const Schedule &s);
std::vector<std::string> checkLinearSchedule(const LinearProblem &p,
                                             const Target &t,
                                             const Schedule &s);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_CHECKER_H
