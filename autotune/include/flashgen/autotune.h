//===- autotune.h - flashgen autotuner C++ API ------------------*- C++ -*-===//
//
// A bundle's kernel lists the scheduler's ranked candidates as variants
// (docs/bundle-format.md §1.4); variant 0 is the first choice. The autotuner
// times them on the GPU for one shape bucket (each symbol rounded up to a
// power of two), on buffers it allocates itself, drops candidates that fail
// to compile or launch or whose outputs disagree with variant 0's, and keeps
// the fastest in a tuning file that later launches and later processes reuse
// (docs/autotune.md).
//
//   flashgen::TuneOptions opts;            // reps, warm-up, tolerance, ...
//   flashgen::TuneReport report;
//   st = flashgen::tune(*kernel, args, 4, nullptr, 0, opts, report);
//   flashgen::setAutotune(*kernel, true);  // or FLASHGEN_AUTOTUNE=1: the
//                                          // first launch of a bucket tunes
//
// This library (libflashgen_autotune) is layered on the runtime, which
// knows nothing of it: autotuning on launch is the runtime's VariantChooser
// interface (flashgen/runtime.h), implemented here. Loading the library
// registers a VariantChooserFactory that gives each new kernel the tuning
// chooser when FLASHGEN_AUTOTUNE=1, so linking it is all a program (or the
// Python package, which loads it beside libflashgen_runtime) needs for the
// environment variable to work.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_H
#define FLASHGEN_AUTOTUNE_H

#include "flashgen/runtime.h"

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace flashgen {

struct TuneOptions {
  /// Timed runs per candidate; the report gives their median and the 20th
  /// and 80th percentiles.
  int reps = 50;
  /// Untimed runs first, for at least this long (and at least one run), so
  /// that clocks, caches and lazy loading settle.
  double warmupMs = 25.0;
  /// A candidate slower than this budget gets fewer timed runs (at least 5).
  double maxMsPerCandidate = 2000.0;
  /// At most this many copies of the inputs are rotated through, so repeated
  /// runs read from device memory, not from L2.
  int maxInputSets = 8;
  /// Relative L2 error allowed against variant 0's outputs. Negative: by
  /// dtype: 2e-2 for bf16/f16 outputs, and for f32/f64 outputs of kernels
  /// with bf16/f16 params; 2e-3 for other f32/f64 outputs; integers exact.
  double tolerance = -1.0;
  /// A candidate replaces variant 0 only when it is faster by more than this
  /// fraction and by more than variant 0's own run-to-run spread.
  double minImprovement = 0.01;
  /// One log line per candidate (flashgen::setLogCallback, else stderr).
  bool progress = true;
  /// Time the candidates even when the tuning file has the bucket.
  bool force = false;
  /// Record the result in the tuning file.
  bool writeFile = true;
  /// Seed of the random inputs.
  uint64_t seed = 0x5eedf1a5u;
};

/// One candidate's outcome.
struct TuneCandidate {
  int variant = 0;
  /// The manifest's schedule object, as "tile_q=128 tile_kv=64 ...".
  std::string schedule;
  /// Compiled, launched, agreed with variant 0 and was timed.
  bool ok = false;
  /// Why it was dropped (empty when ok).
  std::string problem;
  double medianMs = std::numeric_limits<double>::infinity();
  double p20Ms = std::numeric_limits<double>::infinity();
  double p80Ms = std::numeric_limits<double>::infinity();
  /// Largest relative L2 error over the outputs, against variant 0.
  double relError = 0.0;
  int reps = 0;
  /// 1 for the fastest ok candidate; 0 when dropped.
  int timeRank = 0;
};

struct TuneReport {
  std::string kernel;
  std::string bucket; ///< "B=2,N=8192": the sizes rounded up to powers of 2
  std::string sizes;  ///< "B=2,N=8000": the sizes that were timed
  std::string device; ///< "NVIDIA H100 80GB HBM3 (sm_90a, CC 9.0, driver 13.0)"
  int winner = 0;
  double winnerMs = std::numeric_limits<double>::infinity();
  double variant0Ms = std::numeric_limits<double>::infinity();
  /// variant0Ms / winnerMs (1 when variant 0 won).
  double speedup = 1.0;
  /// Variant 0 is timed again after the others; the relative difference of
  /// its two medians is the noise level a winner must beat.
  double variant0Spread = 0.0;
  /// The ok candidates ordered by time are in manifest order (the cost
  /// model's ranking held).
  bool modelRankMatched = true;
  /// The result came from the tuning file; nothing was timed.
  bool fromFile = false;
  int inputSets = 0;
  std::string tuningFile; ///< path read or written; empty if none
  std::vector<TuneCandidate> candidates;
  std::vector<std::string>
      notes; ///< e.g. non-finite values in variant 0's output
};

/// {"kernel","bucket","sizes","device","winner","winner_ms","variant0_ms",
/// "speedup","variant0_spread","model_rank_matched","from_file",
/// "input_sets","tuning_file","notes":[...],"candidates":[{"variant",
/// "schedule","ok","problem","median_ms","p20_ms","p80_ms","rel_error",
/// "reps","time_rank"}]}; infinite times are null.
std::string toJson(const TuneReport &report);

/// A problem given by sizes instead of tensors (flashgen-tune, or tuning
/// ahead of time at start-up).
struct TuneProblem {
  /// A value for every symbol of the kernel.
  std::map<std::string, int64_t> sizes;
  /// Scalars without a default must be given; others may be.
  std::map<std::string, ScalarArg> scalars;
  /// Optional params to pass as null (a different bucket from passing them).
  std::vector<std::string> omitOptional;
};

/// Times the variants for the shape bucket of these arguments now, on
/// buffers of the same sizes that the tuner allocates (the tensors' memory
/// is never touched), and records the winner: in the kernel while
/// autotuning, and with options.writeFile in the tuning file. Without
/// options.force a bucket the tuning file already has is reported from the
/// file, nothing timed. Fails with NoDevice without a GPU.
Status tune(Kernel &kernel, const TensorArg *tensors, size_t numTensors,
            const ScalarArg *scalars, size_t numScalars,
            const TuneOptions &options, TuneReport &report);
/// The same for sizes given by name (flashgen-tune).
Status tune(Kernel &kernel, const TuneProblem &problem,
            const TuneOptions &options, TuneReport &report);

/// Autotuning on launch, i.e. the kernel's VariantChooser is the tuner's.
/// While on, the first launch of each shape bucket uses the tuning file's
/// winner or, when it has none, times the variants right there
/// (synchronously, one progress line per candidate) and records the
/// winner; later launches of the bucket look the choice up in the kernel
/// without locks or allocation (Kernel::variantFor reads it). Off, the
/// kernel runs variant(). Starts as FLASHGEN_AUTOTUNE says (default off)
/// once this library is loaded; Kernel::selectVariant turns it off. Not to
/// be called concurrently with launches.
void setAutotune(Kernel &kernel, bool enabled);
bool isAutotuning(const Kernel &kernel);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_H
