//===- StepCost.h - cost model of the recurrent step kernels ----*- C++ -*-===//
//
// Traffic and time of a recurrent_step schedule (schedule/StepLayout.h),
// grid (value slice, head, batch), T tokens in order:
//
//   HBM     the state in (with an initial state) and out (with a final
//           state), Dk Dv 4 bytes per head plus n, m; per token q, k, gates
//           (fetched once per head, every slice's CTA reads them) and the
//           value and output rows.
//   FP32    per token and head Dk Dv FMAs per vector the column dots read
//           (one, two for the delta rule) plus Dk Dv for the update.
//   chain   the tokens of a CTA depend on each other: each is a global load
//           of its inputs, three barriers and a shuffle tree.
//   in flight  the CTA issues its whole state slice at once, which is what
//           keeps HBM busy when few CTAs run (Little's law, Roofline.h).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_STEPCOST_H
#define FLASHGEN_SCHEDULE_STEPCOST_H

#include "schedule/Evaluation.h"
#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"

namespace flashgen::schedule {

/// SM cycles of one token's dependent chain in a step kernel: three CTA
/// barriers, warp 0's gate math and dots, the shuffle tree of the column
/// dots and the rank-one update; the token's rows were loaded a token
/// ahead, so a global round trip is paid once per CTA, not per token.
/// Fitted on the H200 (schedule/calibration/h200-step.tsv, 64 sequences):
/// 16 tokens took 1570-2340 cycles a token and wave more than one token
/// over the step schedules measured (the 900 of the latency estimate
/// before made the step kernel the choice at 16 tokens, 1.4-1.5x slower
/// than the chunk form measured beside it).
constexpr double kStepTokenCycles = 2000;

Evaluation evaluateStep(const LinearProblem &p, const Target &t,
                        const Schedule &s);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_STEPCOST_H
