//===- Progress.h - What a tuning run prints --------------------*- C++ -*-===//
//
// Tuning on first launch blocks the caller for as long as it takes to time
// every candidate, so it says what it is doing, one line per candidate:
//   tuning causal_gqa [B=2,N=8192]: candidate 2/4 (tile_q=128 tile_kv=64 ...)
//     0.412 ms, best 0.398 ms (v0)
// (one line; the runtime's log prefixes "flashgen: "), and one line at the
// end naming the winner.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_PROGRESS_H
#define FLASHGEN_AUTOTUNE_PROGRESS_H

#include "flashgen/autotune.h"
#include "runtime/Json.h"

#include <string>

namespace flashgen {

/// A manifest schedule object as "algorithm=flash2 tile_q=128 ...": every
/// member in manifest order, except zero numbers and false flags (fields a
/// schedule does not use, such as `chunk` for attention). "-" when empty.
std::string formatSchedule(const json::Value &schedule);

/// Milliseconds with three decimals, or two significant digits below 0.1.
std::string formatMs(double ms);

/// The line for candidate `index` (0-based) of `count`, after it was timed
/// or dropped; `bestMs`/`bestVariant` are the best so far (bestVariant < 0:
/// none yet).
std::string progressLine(const std::string &kernel, const std::string &bucket,
                         int index, int count, const TuneCandidate &candidate,
                         double bestMs, int bestVariant);

/// The last line: the winner and its speedup over variant 0.
std::string summaryLine(const TuneReport &report);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_PROGRESS_H
