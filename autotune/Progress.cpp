//===- Progress.cpp - What a tuning run prints ----------------------------===//

#include "autotune/Progress.h"

#include <cmath>
#include <cstdio>

namespace flashgen {

std::string formatSchedule(const json::Value &schedule) {
  std::string out;
  for (const auto &m : schedule.members()) {
    const json::Value &v = m.second;
    std::string text;
    if (v.isNumber()) {
      if (v.asDouble() == 0.0)
        continue;
      text = v.isInteger() ? std::to_string(v.asInt()) : v.dump();
    } else if (v.isBool()) {
      if (!v.asBool())
        continue;
      text = "true";
    } else if (v.isString()) {
      text = v.asString();
    } else {
      text = v.dump();
    }
    out += (out.empty() ? "" : " ") + m.first + "=" + text;
  }
  return out.empty() ? "-" : out;
}

std::string formatMs(double ms) {
  if (!std::isfinite(ms))
    return "inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), ms >= 0.1 ? "%.3f" : "%.2g", ms);
  return buf;
}

std::string progressLine(const std::string &kernel, const std::string &bucket,
                         int index, int count, const TuneCandidate &candidate,
                         double bestMs, int bestVariant) {
  std::string line = "tuning " + kernel + " [" + bucket + "]: candidate " +
                     std::to_string(index + 1) + "/" + std::to_string(count) +
                     " (" + candidate.schedule + ") ";
  if (candidate.ok)
    line += formatMs(candidate.medianMs) + " ms";
  else
    line += "dropped: " + candidate.problem;
  if (bestVariant >= 0)
    line += ", best " + formatMs(bestMs) + " ms (v" +
            std::to_string(bestVariant) + ")";
  return line;
}

std::string summaryLine(const TuneReport &report) {
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.2fx", report.speedup);
  std::string line = "tuned " + report.kernel + " [" + report.bucket + "]: ";
  if (report.winner == 0)
    line += "v0 (the scheduler's choice) kept, " + formatMs(report.variant0Ms) +
            " ms";
  else
    line += "v" + std::to_string(report.winner) + " " +
            formatMs(report.winnerMs) + " ms, " + ratio + " faster than v0 (" +
            formatMs(report.variant0Ms) + " ms)";
  int dropped = 0;
  for (const TuneCandidate &c : report.candidates)
    dropped += c.ok ? 0 : 1;
  if (dropped)
    line += "; " + std::to_string(dropped) + " of " +
            std::to_string(report.candidates.size()) + " candidates dropped";
  return line;
}

} // namespace flashgen
