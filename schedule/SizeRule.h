//===- SizeRule.h - first choices of one plan at other query lengths -*- C++ -*-===//
//
// A bundle's kernels take every size at run time, but the model's first
// choice depends on the size: on the H200 a persistent 128 x 128 d=128
// kernel was the fastest candidate at N <= 2048 and 15% slower than the
// 128 x 176 one at N = 8192 (schedule/calibration/h200-attention-9.tsv).
// A size rule keeps the plan's ranked candidates and adds the first choice
// at a few other query lengths (the planned tokens kept: B x N constant);
// the runtime then runs, by default, the variant the rule names for the
// launch's N (docs/bundle-format.md, "dispatch").
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_SIZERULE_H
#define FLASHGEN_SCHEDULE_SIZERULE_H

#include "schedule/Problem.h"
#include "schedule/Result.h"
#include "schedule/Scheduler.h"
#include "schedule/Target.h"

#include <cstdint>
#include <vector>

namespace flashgen::schedule {

/// Variant variants[k] serves query lengths in (upperBounds[k-1],
/// upperBounds[k]]; the last one everything above the last bound.
struct SizeRule {
  std::vector<int64_t> upperBounds;
  std::vector<int64_t> variants;
  bool empty() const { return upperBounds.empty(); }
};

/// The query lengths a plan at `planned` is also made at, ascending, the
/// planned one among them: planned / 16, / 4, x 1 and x 2, none below 64.
std::vector<int64_t> sizeRuleLengths(int64_t planned);

/// Plans `p` (self-attention: N = M) again at sizeRuleLengths(p.queryLen)
/// with the same tokens and adds each length's first choice to `planned`'s
/// candidates where it is not among them; the rule names, per length, the
/// candidate the model ranks first there, switching halfway (geometric
/// mean) between lengths. Empty when every length picks the same one.
Result<SizeRule> attentionSizeRule(const AttentionProblem &p, const Target &t,
                                   const SolveOptions &options,
                                   ScheduleResult &planned);

/// Where `planned`'s first choice is flash_decode: plans `p` again at
/// other numbers of new tokens per sequence (N x 4 and N x 16 while the
/// packed rows G N fit flash_decode, DecodeSplit.h), the batch and cache
/// length kept, and adds each one's first choice to `planned`'s
/// candidates. A bundle planned for one token otherwise verifies 16
/// speculative tokens with one-token tiles, reading K and V once per tile
/// of 16 packed rows. Empty when every length picks the same one, or
/// flash_decode cannot take one of them.
Result<SizeRule> decodeSizeRule(const AttentionProblem &p, const Target &t,
                                const SolveOptions &options,
                                ScheduleResult &planned);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_SIZERULE_H
