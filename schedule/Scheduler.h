//===- Scheduler.h - choose and rank schedules for one op -------*- C++ -*-===//
//
// The library's entry points: the IO lower bound of an op, its space of
// schedules, the search (Z3, or enumeration), and the ranked candidates with
// everything the passes and `flashgen explain` report about them. No
// exception leaves these functions; a problem that no schedule fits is an
// error naming the resource and the numbers.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_SCHEDULER_H
#define FLASHGEN_SCHEDULE_SCHEDULER_H

#include "schedule/Evaluation.h"
#include "schedule/IOBounds.h"
#include "schedule/Problem.h"
#include "schedule/Result.h"
#include "schedule/Schedule.h"
#include "schedule/SearchSpace.h"
#include "schedule/Target.h"

#include <optional>
#include <vector>

namespace flashgen::schedule {

enum class SearchEngine { Z3, Enumeration };

struct SolveOptions {
  /// Candidates to return (the chosen one first); at least 1.
  unsigned topK = 4;
  /// Restrict the search to one kernel family. By default attention gets
  /// defaultAttentionAlgorithms; recurrences get both forms.
  std::optional<Algorithm> algorithm;
  SearchEngine engine = SearchEngine::Z3;
  /// Per Z3 check; past it the search falls back to enumeration.
  unsigned z3TimeoutMs = 10000;
};

struct Candidate {
  Schedule schedule;
  Evaluation evaluation;
  /// evaluation.globalBytes / bound.onChip.boundBytes (>= 1).
  double ioRatio = 0;
  /// evaluation.hbmBytes / bound.l2.boundBytes (>= 1).
  double hbmRatio = 0;
};

struct ScheduleResult {
  IOBound bound;
  Algorithm algorithm = Algorithm::Flash2; ///< the family searched
  std::vector<Candidate> candidates;       ///< best first, never empty
  std::string engine;                      ///< "z3" or "enumeration"
  std::string engineNote;                  ///< why the engine changed
  size_t spacePoints = 0;
  size_t solverChecks = 0;
  double solveSeconds = 0;
};

/// The families attention searches by default: the small-cache ones when
/// the target's on-chip memory per CTA holds fewer than D^2 elements
/// (flash3_dsplit and flash2_dsplit ranked together where wgmma applies,
/// else flash2_dsplit); else
/// flash3 and flash2 where flash3's kernel applies (sm_90a, 16-bit, D = Dv
/// a multiple of 64 up to 256), ranked together; else flash2. With few
/// query rows (G N <= kDecodeMaxPackedRows, DecodeSplit.h) flash_decode is
/// ranked beside them.
std::vector<Algorithm> defaultAttentionAlgorithms(const AttentionProblem &p,
                                                  const Target &t);
/// The first of those.
Algorithm defaultAttentionAlgorithm(const AttentionProblem &p, const Target &t);

/// The best schedules of every family searched (options.algorithm, or the
/// defaults), ranked together by modeled time.
Result<ScheduleResult> scheduleAttention(const AttentionProblem &p,
                                         const Target &t,
                                         const SolveOptions &options);
/// The best schedules of one family.
Result<ScheduleResult> scheduleAttentionFamily(const AttentionProblem &p,
                                               const Target &t,
                                               Algorithm algorithm,
                                               const SolveOptions &options);
/// The best schedules of the attention backward (flash.attention_grad):
/// flash3_grad (where the target has wgmma and the head dims are 64 or
/// 128), flash2_grad and their deterministic forms ranked together by
/// modeled time, or only the deterministic ones when `deterministic` (dQ
/// without float atomics, the same bits on every run). options.algorithm,
/// when set, must be one of them. The bound is attentionGradIOBound's.
Result<ScheduleResult> scheduleAttentionGrad(const AttentionProblem &p,
                                             const Target &t,
                                             const SolveOptions &options,
                                             bool deterministic);
Result<ScheduleResult> scheduleLinear(const LinearProblem &p, const Target &t,
                                      const SolveOptions &options);
/// The gradient of a recurrence (flash.linear_attention_grad): its one
/// family, chunk_grad (schedule/LinearGrad.h).
Result<ScheduleResult> scheduleLinearGrad(const LinearProblem &p,
                                          const Target &t,
                                          const SolveOptions &options);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_SCHEDULER_H
