//===- TuneCommand.h - The flashgen-tune command ----------------*- C++ -*-===//
//
// flashgen-tune BUNDLE... [--kernel NAME]... --dim NAME=VALUE... [options]
//
// Tunes ahead of time: times every variant of each kernel on the GPU at the
// given sizes, prints a table per kernel (candidate, schedule, median ms,
// speedup over variant 0, rank by time against rank in the manifest), writes
// the tuning file that launches with autotuning then reuse, and ends with a
// summary over all kernels. Both the flashgen-tune tool and the compiler's
// `flashgen tune` call runTune.
//
// Exit status: 0 all tuned; 1 some kernel failed to tune; 2 usage, bundle or
// size error (found before any GPU work); 3 no GPU or no CUDA driver.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_TUNECOMMAND_H
#define FLASHGEN_AUTOTUNE_TUNECOMMAND_H

#include "flashgen/autotune.h"

#include <cstdio>
#include <string>
#include <vector>

namespace flashgen {

/// As main(): argv[0] is the program or subcommand name and is ignored.
int runTune(int argc, char **argv);

/// The same with the arguments after the name, printing to `out` (tables,
/// JSON) and `err` (errors). Progress lines go to the runtime log
/// (flashgen::setLogCallback, else stderr).
int runTune(const std::vector<std::string> &args, FILE *out, FILE *err);

/// The table printed for one kernel: a line per candidate (median, p20-p80,
/// speedup over v0, rank by time, rank in the manifest, schedule, or why it
/// was dropped), then the winner.
std::string formatTuneTable(const TuneReport &report, int reps,
                            double tolerance);

/// What the last line says over all kernels of a run.
struct TuneSummary {
  int tuned = 0;
  int failed = 0;
  int variant0Won = 0; ///< the scheduler's first choice was already fastest
  int rankMatched = 0; ///< the time order was the manifest order
  double geomeanSpeedup = 1.0; ///< of the tuned variant over variant 0
  double maxSpeedup = 1.0;
  std::string maxWhere; ///< "kernel [bucket]" of the largest speedup

  std::string text() const;
};
TuneSummary summarizeTuning(const std::vector<TuneReport> &reports, int failed);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_TUNECOMMAND_H
