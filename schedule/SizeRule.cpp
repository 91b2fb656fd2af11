//===- SizeRule.cpp - first choices of one plan at other query lengths ----===//

#include "schedule/SizeRule.h"

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

Result<SizeRule> flashgen::schedule::attentionSizeRule(const AttentionProblem &p,
                                                       const Target &t,
                                                       const SolveOptions &options,
                                                       ScheduleResult &planned) {
  SizeRule rule;
  if (planned.candidates.empty())
    return rule;
  std::vector<int64_t> lengths = sizeRuleLengths(p.queryLen);
  const int64_t tokens = p.batch * p.queryLen;
  SolveOptions firstOnly = options;
  firstOnly.topK = 1;
  std::vector<int64_t> picks;
  for (int64_t length : lengths) {
    if (length == p.queryLen) {
      picks.push_back(0);
      continue;
    }
    AttentionProblem at = p;
    at.queryLen = at.keyLen = length;
    at.batch = std::max<int64_t>(1, tokens / length);
    Result<ScheduleResult> r = scheduleAttention(at, t, firstOnly);
    if (!r)
      return Result<SizeRule>::failure("planning at N = " + std::to_string(length) +
                                       ": " + r.error());
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
