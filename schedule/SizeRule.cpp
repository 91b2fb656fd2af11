//===- SizeRule.cpp - first choices of one plan at other query lengths ----===//

#include "schedule/SizeRule.h"

#include "schedule/DecodeSplit.h"

#include <algorithm>
#include <cmath>

using namespace flashgen::schedule;

std::vector<int64_t> flashgen::schedule::sizeRuleLengths(int64_t planned) {
  constexpr int64_t kShortest = 64;
  std::vector<int64_t> out;
  for (int64_t length : {planned / 16, planned / 4, planned, 2 * planned})
    if (length >= kShortest && (out.empty() || length > out.back()))
      out.push_back(length);
  if (out.empty())
    out.push_back(planned);
  return out;
}

namespace {

/// The rule over `lengths` (ascending, the planned one among them): each
/// other length's first choice from `plan`, added to `planned` where it is
/// not among them (a plan without candidates leaves the rule empty); a
/// bound halfway (geometric mean) between lengths whose picks differ.
template <class Plan>
Result<SizeRule> ruleOver(const std::vector<int64_t> &lengths, int64_t plannedLength,
                          ScheduleResult &planned, Plan plan) {
  SizeRule rule;
  std::vector<int64_t> picks;
  for (int64_t length : lengths) {
    if (length == plannedLength) {
      picks.push_back(0);
      continue;
    }
    Result<ScheduleResult> r = plan(length);
    if (!r)
      return Result<SizeRule>::failure(r.error());
    if (r->candidates.empty())
      return rule;
    const Schedule &first = r->candidates.front().schedule;
    auto same = std::find_if(planned.candidates.begin(), planned.candidates.end(),
                             [&](const Candidate &c) { return c.schedule == first; });
    if (same == planned.candidates.end()) {
      planned.candidates.push_back(r->candidates.front());
      same = std::prev(planned.candidates.end());
    }
    picks.push_back(same - planned.candidates.begin());
  }
  if (std::all_of(picks.begin(), picks.end(), [&](int64_t v) { return v == picks.front(); }))
    return rule;
  // A bound only where the pick changes.
  rule.variants.push_back(picks.front());
  for (size_t i = 0; i + 1 < lengths.size(); ++i) {
    if (picks[i + 1] == picks[i])
      continue;
    rule.upperBounds.push_back(static_cast<int64_t>(
        std::floor(std::sqrt(static_cast<double>(lengths[i]) * lengths[i + 1]))));
    rule.variants.push_back(picks[i + 1]);
  }
  return rule;
}

} // namespace

Result<SizeRule> flashgen::schedule::attentionSizeRule(const AttentionProblem &p,
                                                       const Target &t,
                                                       const SolveOptions &options,
                                                       ScheduleResult &planned) {
  if (planned.candidates.empty())
    return SizeRule{};
  const int64_t tokens = p.batch * p.queryLen;
  SolveOptions firstOnly = options;
  firstOnly.topK = 1;
  return ruleOver(sizeRuleLengths(p.queryLen), p.queryLen, planned,
                  [&](int64_t length) -> Result<ScheduleResult> {
                    AttentionProblem at = p;
                    at.queryLen = at.keyLen = length;
                    at.batch = std::max<int64_t>(1, tokens / length);
                    Result<ScheduleResult> r = scheduleAttention(at, t, firstOnly);
                    if (!r)
                      return Result<ScheduleResult>::failure(
                          "planning at N = " + std::to_string(length) + ": " + r.error());
                    return r;
                  });
}

Result<SizeRule> flashgen::schedule::decodeSizeRule(const AttentionProblem &p,
                                                    const Target &t,
                                                    const SolveOptions &options,
                                                    ScheduleResult &planned) {
  if (planned.candidates.empty() ||
      planned.candidates.front().schedule.algorithm != Algorithm::FlashDecode)
    return SizeRule{};
  std::vector<int64_t> lengths;
  for (int64_t n : {p.queryLen, 4 * p.queryLen, 16 * p.queryLen})
    if (p.groupSize() * n <= kDecodeMaxPackedRows && n <= p.keyLen)
      lengths.push_back(n);
  SolveOptions firstOnly = options;
  firstOnly.topK = 1;
  firstOnly.algorithm = Algorithm::FlashDecode;
  return ruleOver(lengths, p.queryLen, planned, [&](int64_t n) -> Result<ScheduleResult> {
    AttentionProblem at = p;
    at.queryLen = n;
    Result<ScheduleResult> r = scheduleAttention(at, t, firstOnly);
    // No flash_decode schedule at this length: no rule (an empty plan).
    return r ? r : Result<ScheduleResult>(ScheduleResult{});
  });
}
