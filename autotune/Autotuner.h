//===- Autotuner.h - Timing the scheduler's candidates ----------*- C++ -*-===//
//
// The tuning algorithm, apart from the GPU (DeviceRunner.h runs it on one;
// tests run it on fakes):
//  1. compile every candidate, on several CPU threads (NVRTC);
//  2. load them; run variant 0 once on the inputs: its outputs are the
//     reference; time it;
//  3. for each other candidate: run it once and compare its outputs with
//     the reference (OutputCompare.h), then time it. One that fails to
//     compile, load or launch, or disagrees, is dropped: scored +inf,
//     reported with the reason, never chosen;
//  4. time variant 0 again: the difference of its two medians is the noise
//     level;
//  5. the fastest candidate wins if it beats variant 0 by more than
//     max(minImprovement, noise); otherwise variant 0 stays.
// Variant 0 always survives: it is the reference, and if it cannot compile
// or run, tuning fails with that error (the kernel could not launch
// anyway). A fault that leaves the CUDA context unusable (an illegal
// address) stops tuning, naming the candidate.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_AUTOTUNER_H
#define FLASHGEN_AUTOTUNE_AUTOTUNER_H

#include "autotune/OutputCompare.h"
#include "flashgen/autotune.h"

#include <string>
#include <vector>

namespace flashgen {

/// What tuning needs from a device.
class CandidateRunner {
public:
  virtual ~CandidateRunner() = default;
  virtual int numCandidates() const = 0;
  /// CPU work. Called from several threads at once, for different
  /// candidates.
  virtual Status compile(int candidate) = 0;
  /// Loads what compile() made. One thread, after every compile() returned.
  virtual Status load(int candidate) = 0;
  /// Runs once on input set 0 with poisoned outputs; copies the outputs
  /// back, in param order.
  virtual Status run(int candidate, std::vector<HostTensor> &outputs) = 0;
  /// Warm-up (at least `warmupMs`, at least one run), then `reps` timed runs
  /// over the rotating inputs (fewer when they would exceed `maxMs`, but at
  /// least 5); one sample in ms per run.
  virtual Status time(int candidate, int reps, double warmupMs, double maxMs,
                      std::vector<double> &samplesMs) = 0;
  /// After a failure: whether further candidates can still run. False after
  /// a fault that poisons the context; `why` then says what.
  virtual bool usable(std::string &why) = 0;
};

/// What the report and the progress lines call things.
struct TuneSubject {
  std::string kernel;
  std::string bucket;
  std::vector<std::string> schedules; ///< formatted, one per candidate
  /// Some param is bf16/f16: the default tolerance of f32 outputs widens.
  bool lowPrecisionParams = false;
};

/// Runs the algorithm above; fills report.candidates, winner, the times,
/// speedup, variant0Spread, modelRankMatched and notes (the caller fills
/// the rest). Fails only when variant 0 fails or the context is lost.
Status runTuning(CandidateRunner &runner, const TuneSubject &subject,
                 const TuneOptions &options, TuneReport &report);

/// Quantile `q` in [0, 1] of `samples` (linear interpolation); +inf when
/// empty.
double quantile(std::vector<double> samples, double q);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_AUTOTUNER_H
