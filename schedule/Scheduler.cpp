//===- Scheduler.cpp - choose and rank schedules for one op ---------------===//

#include "schedule/Scheduler.h"

#include "schedule/AttentionCost.h"
#include "schedule/AttentionGrad.h"
#include "schedule/AttentionSpace.h"
#include "schedule/Checker.h"
#include "schedule/Enumerate.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearGrad.h"
#include "schedule/LinearSpace.h"
#include "schedule/StepSpace.h"
#include "schedule/Z3Search.h"

#include <algorithm>

using namespace flashgen::schedule;

namespace {

/// Runs the chosen engine; Z3 failures fall back to enumeration with a note.
SearchOutcome search(const SearchSpace &space, const SolveOptions &options) {
  SearchOptions so;
  so.topK = std::max(1u, options.topK);
  so.z3TimeoutMs = options.z3TimeoutMs;
  if (options.engine == SearchEngine::Enumeration)
    return searchByEnumeration(space, so);
  Result<SearchOutcome> z3 = searchWithZ3(space, so);
  if (z3)
    return *z3;
  SearchOutcome out = searchByEnumeration(space, so);
  out.note = z3.error() + "; enumerated instead";
  return out;
}

/// Search, then evaluate, check and rank what was found. `describeOp` is
/// the problem's one-line description for messages.
template <typename Problem, typename Evaluate, typename Check>
Result<ScheduleResult> solve(const Problem &p, const Target &t,
                             const ScheduleSpace &space, IOBound bound,
                             const SolveOptions &options, Evaluate evaluate,
                             Check check) {
  SearchOutcome found = search(space.space, options);
  std::string what = std::string("no ") +
                     (space.space.dims.front().name == "form"
                          ? "chunkwise"
                          : algorithmName(space.algorithm)) +
                     " schedule fits " + t.name + " for " + describe(p);
  if (found.ranked.empty())
    return Result<ScheduleResult>::failure(
        what + ": " + explainConflict(space.space, found.conflict));

  ScheduleResult result;
  result.bound = bound;
  result.algorithm = space.algorithm;
  result.engine = found.engine;
  result.engineNote = found.note;
  result.spacePoints = found.points;
  result.solverChecks = found.solverChecks;
  result.solveSeconds = found.seconds;
  for (const RankedPoint &r : found.ranked) {
    Candidate c;
    c.schedule = space.toSchedule(r.point);
    // The solver's answer is checked rule by rule before anyone sees it.
    std::vector<std::string> broken = check(p, t, c.schedule);
    if (!broken.empty())
      return Result<ScheduleResult>::failure(
          "internal error: the solver chose " + c.schedule.str() +
          ", which breaks: " + broken.front());
    c.evaluation = evaluate(p, t, c.schedule);
    if (!c.evaluation.fits())
      return Result<ScheduleResult>::failure(
          what + ": the best point " + c.schedule.str() +
          " has no CTA that fits an SM");
    c.ioRatio = static_cast<double>(c.evaluation.globalBytes) /
                std::max<int64_t>(1, bound.onChip.boundBytes);
    c.hbmRatio = static_cast<double>(c.evaluation.hbmBytes) /
                 std::max<int64_t>(1, bound.l2.boundBytes);
    result.candidates.push_back(std::move(c));
  }
  if (space.algorithm == Algorithm::ChunkFused || space.algorithm == Algorithm::ChunkScored ||
      space.algorithm == Algorithm::ChunkTwoPass)
    result.algorithm = result.candidates.front().schedule.algorithm;
  return result;
}

/// Searches each family's space on its own (`searchOne`) and ranks the
/// candidates of all of them together by modeled time, keeping the top K.
/// Fails with every family's reason when none has a schedule.
template <typename SearchOne>
Result<ScheduleResult> rankTogether(const std::vector<Algorithm> &families,
                                    const SolveOptions &options,
                                    SearchOne searchOne) {
  std::optional<ScheduleResult> merged;
  std::string errors; // every family's reason, when none fits
  for (Algorithm algorithm : families) {
    Result<ScheduleResult> one = searchOne(algorithm);
    if (!one) {
      errors += (errors.empty() ? "" : "; and ") + one.error();
      continue;
    }
    if (!merged) {
      merged = *one;
      continue;
    }
    merged->spacePoints += one->spacePoints;
    merged->solverChecks += one->solverChecks;
    merged->solveSeconds += one->solveSeconds;
    if (merged->engineNote.empty())
      merged->engineNote = one->engineNote;
    for (Candidate &c : one->candidates)
      merged->candidates.push_back(std::move(c));
  }
  if (!merged)
    return Result<ScheduleResult>::failure(errors);
  std::stable_sort(merged->candidates.begin(), merged->candidates.end(),
                   [](const Candidate &a, const Candidate &b) {
                     return a.evaluation.rankSeconds < b.evaluation.rankSeconds;
                   });
  merged->candidates.resize(
      std::min<size_t>(merged->candidates.size(), std::max(1u, options.topK)));
  merged->algorithm = merged->candidates.front().schedule.algorithm;
  return *merged;
}

} // namespace

Algorithm flashgen::schedule::defaultAttentionAlgorithm(const AttentionProblem &p,
                                                        const Target &t) {
  return defaultAttentionAlgorithms(p, t).front();
}

std::vector<Algorithm>
flashgen::schedule::defaultAttentionAlgorithms(const AttentionProblem &p,
                                               const Target &t) {
  int64_t words = t.onChipBytesPerCTA() / std::max<int64_t>(1, p.elementBytes);
  if (words < p.headDim * p.headDim && p.pageSize == 0 && !p.varlen) {
    // The small-cache kernel, on warpgroup MMAs where they apply.
    if (attentionPrecondition(p, t, Algorithm::Flash3DSplit).empty())
      return {Algorithm::Flash3DSplit, Algorithm::Flash2DSplit};
    return {Algorithm::Flash2DSplit};
  }
  // Where flash3's kernel applies (wgmma, 16-bit, D = Dv in 64 .. 256) it
  // competes with flash2 on modeled time.
  // Few query rows (decoding): the packed, key-split kernel competes too.
  std::vector<Algorithm> families;
  if (attentionPrecondition(p, t, Algorithm::FlashDecode).empty())
    families.push_back(Algorithm::FlashDecode);
  if (attentionPrecondition(p, t, Algorithm::Flash3).empty())
    families.push_back(Algorithm::Flash3);
  families.push_back(Algorithm::Flash2);
  return families;
}

Result<ScheduleResult>
flashgen::schedule::scheduleAttention(const AttentionProblem &p,
                                      const Target &t,
                                      const SolveOptions &options) {
  if (std::string why = validate(p); !why.empty())
    return Result<ScheduleResult>::failure(why);
  std::vector<Algorithm> families =
      options.algorithm ? std::vector<Algorithm>{*options.algorithm}
                        : defaultAttentionAlgorithms(p, t);
  return rankTogether(families, options, [&](Algorithm algorithm) {
    return scheduleAttentionFamily(p, t, algorithm, options);
  });
}

Result<ScheduleResult> flashgen::schedule::scheduleAttentionFamily(
    const AttentionProblem &p, const Target &t, Algorithm algorithm,
    const SolveOptions &options) {
  Result<ScheduleSpace> space = attentionSpace(p, t, algorithm);
  if (!space)
    return Result<ScheduleResult>::failure(
        "no " + std::string(algorithmName(algorithm)) + " schedule on " +
        t.name + " for " + describe(p) + ": " + space.error());
  return solve(
      p, t, *space, attentionIOBound(p, t), options,
      [](const AttentionProblem &q, const Target &tt, const Schedule &s) {
        return evaluateAttention(q, tt, s);
      },
      checkAttentionSchedule);
}

Result<ScheduleResult>
flashgen::schedule::scheduleLinear(const LinearProblem &p, const Target &t,
                                   const SolveOptions &options) {
  if (std::string why = validate(p); !why.empty())
    return Result<ScheduleResult>::failure(why);
  // The chunkwise forms (one space, both forms) and the step kernel,
  // ranked together by modeled time: at a few tokens the step kernel's
  // one pass over the state wins, at many the chunks' tensor cores do.
  std::vector<Algorithm> families;
  bool step = !options.algorithm || *options.algorithm == Algorithm::RecurrentStep;
  bool chunks = !options.algorithm || *options.algorithm != Algorithm::RecurrentStep;
  if (p.packed && options.algorithm == Algorithm::RecurrentStep)
    return Result<ScheduleResult>::failure(
        "packed (varlen) sequences take the fused chunk kernel only (chunk_fused), not "
        "'recurrent_step'");
  step = step && !p.packed; // (LinearProblem::packed)
  if (chunks)
    families.push_back(Algorithm::ChunkFused);
  if (step)
    families.push_back(Algorithm::RecurrentStep);
  IOBound bound = linearIOBound(p, t);
  return rankTogether(families, options, [&](Algorithm family) {
    if (family == Algorithm::RecurrentStep) {
      Result<ScheduleSpace> space = stepSpace(p, t);
      if (!space)
        return Result<ScheduleResult>::failure("no recurrent_step schedule on " +
                                               t.name + " for " + describe(p) +
                                               ": " + space.error());
      return solve(p, t, *space, bound, options, evaluateLinear,
                   checkLinearSchedule);
    }
    Result<ScheduleSpace> space = linearSpace(p, t, options.algorithm);
    if (!space)
      return Result<ScheduleResult>::failure("no chunkwise schedule on " +
                                             t.name + " for " + describe(p) +
                                             ": " + space.error());
    return solve(p, t, *space, bound, options, evaluateLinear,
                 checkLinearSchedule);
  });
}

Result<ScheduleResult>
flashgen::schedule::scheduleLinearGrad(const LinearProblem &p, const Target &t,
                                       const SolveOptions &options) {
  if (std::string why = validate(p); !why.empty())
    return Result<ScheduleResult>::failure(why);
  if (options.algorithm && *options.algorithm != Algorithm::ChunkGrad)
    return Result<ScheduleResult>::failure(
        std::string("'") + algorithmName(*options.algorithm) +
        "' is not a recurrence gradient schedule (chunk_grad)");
  Result<ScheduleSpace> space = linearGradSpace(p, t);
  if (!space)
    return Result<ScheduleResult>::failure("no chunk_grad schedule on " + t.name +
                                           " for " + describe(p) + ": " +
                                           space.error());
  return solve(p, t, *space, linearGradIOBound(p, t), options,
               evaluateLinearGrad, checkLinearGradSchedule);
}

Result<ScheduleResult> flashgen::schedule::scheduleAttentionGrad(
    const AttentionProblem &p, const Target &t, const SolveOptions &options,
    bool deterministic) {
  if (std::string why = validate(p); !why.empty())
    return Result<ScheduleResult>::failure(why);
  std::vector<Algorithm> families;
  if (options.algorithm) {
    if (!isAttentionGradAlgorithm(*options.algorithm))
      return Result<ScheduleResult>::failure(
          std::string("'") + algorithmName(*options.algorithm) +
          "' is not an attention backward schedule (" +
          algorithmNames(isAttentionGradAlgorithm) + ")");
    if (deterministic && gradAtomicDq(*options.algorithm))
      return Result<ScheduleResult>::failure(
          std::string(algorithmName(*options.algorithm)) +
          " adds dQ up with float atomics, whose result depends on the order "
          "CTAs run in; a deterministic backward needs " +
          algorithmNames(isDeterministicGradAlgorithm, " or "));
    families = {*options.algorithm};
  } else {
    // The warpgroup kernels where the target and head dims take them
    // (attentionGradPrecondition), ranked with the mma.sync ones.
    const bool wgmma =
        attentionGradPrecondition(p, t, Algorithm::Flash3Grad).empty();
    if (!deterministic) {
      if (wgmma)
        families.push_back(Algorithm::Flash3Grad);
      families.push_back(Algorithm::Flash2Grad);
    }
    if (wgmma)
      families.push_back(Algorithm::Flash3GradDeterministic);
    families.push_back(Algorithm::Flash2GradDeterministic);
  }
  IOBound bound = attentionGradIOBound(p, t);
  return rankTogether(families, options, [&](Algorithm algorithm) {
    Result<ScheduleSpace> space = attentionGradSpace(p, t, algorithm);
    if (!space)
      return Result<ScheduleResult>::failure(
          "no " + std::string(algorithmName(algorithm)) + " schedule on " +
          t.name + " for " + describe(p) + ": " + space.error());
    return solve(
        p, t, *space, bound, options,
        [](const AttentionProblem &q, const Target &tt, const Schedule &s) {
          return evaluateAttentionGrad(q, tt, s);
        },
        checkAttentionGradSchedule);
  });
}
