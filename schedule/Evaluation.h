//===- Evaluation.h - what the cost model says about a schedule -*- C++ -*-===//
//
// The modeled resources, traffic and time of one schedule: one KernelCost
// per kernel launch (two for chunk_two_pass), and their totals.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_EVALUATION_H
#define FLASHGEN_SCHEDULE_EVALUATION_H

#include "schedule/Roofline.h"
#include "schedule/Target.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::schedule {

struct Evaluation {
  std::vector<KernelCost> kernels;
  int64_t smemBytes = 0;          ///< the largest kernel's
  int64_t registersPerThread = 0; ///< the largest kernel's
  int64_t ctasPerSM = 0;          ///< the smallest kernel's
  /// Bytes every kernel's CTAs load and store: the traffic the on-chip
  /// bound (flash.io_lower_bound) limits; recorded as flash.modeled_io.
  int64_t globalBytes = 0;
  /// Bytes HBM serves after the L2 reuse model (flash.modeled_hbm).
  int64_t hbmBytes = 0;
  double flops = 0;
  double seconds = 0;  ///< all kernels, one after the other
  /// What the scheduler ranks candidates by: `seconds`, or for a schedule
  /// that serves run-time batches its price over them (DecodeSplit.h's
  /// kDecodeBatchSpread).
  double rankSeconds = 0;
  std::string binding; ///< the binding resource of the longest kernel

  /// Whether at least one CTA of every kernel fits on an SM.
  bool fits() const { return ctasPerSM > 0; }
};

/// Times each kernel (estimateKernelTime) and fills the totals.
void finishEvaluation(const Target &t, Evaluation &e);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_EVALUATION_H
