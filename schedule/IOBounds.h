//===- IOBounds.h - lower bounds on the bytes an op must move ---*- C++ -*-===//
//
// For a memory level with capacity M (bytes), the least traffic any schedule
// of the op moves across it. Two levels (../shared/DESIGN.md §3):
//
//   on-chip  M = shared memory + registers one CTA can use; the traffic is
//            everything CTAs load from and store to global memory (hits in
//            L2 included). This is the bound `flash.io_lower_bound` records.
//   L2       M = the L2 cache; the traffic is what reaches HBM.
//
// Attention (Saha & Ye, "The I/O Complexity of Attention, or How Optimal is
// Flash Attention?", ICML 2024): Theta(N^2 d^2 / M) for M >= d^2 and
// Theta(N^2 d / sqrt(M)) for M < d^2, never below reading the inputs and
// writing the output. Recurrences: the inputs, gates and output once, plus
// the re-reads a state that does not fit on chip forces. IOBounds.cpp states
// the constants and proves them.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_IOBOUNDS_H
#define FLASHGEN_SCHEDULE_IOBOUNDS_H

#include "schedule/Problem.h"
#include "schedule/Target.h"

#include <cstdint>
#include <string>

namespace flashgen::schedule {

struct LevelBound {
  std::string level;          ///< "on-chip" or "L2"
  int64_t capacityBytes = 0;  ///< M
  /// Reading every input element that is used and writing every output
  /// element once.
  int64_t compulsoryBytes = 0;
  /// Attention: the segment-argument term (0 with a mask_mod). Recurrences:
  /// the re-reads of k a state split forces.
  int64_t extraBytes = 0;
  /// Attention: max(compulsory, extra). Recurrences: compulsory + extra.
  int64_t boundBytes = 0;
  /// Attention: M < d^2 in elements (Saha & Ye's small-cache regime).
  /// Recurrences: the f32 state C does not fit in M.
  bool smallCache = false;
};

struct IOBound {
  LevelBound onChip; ///< flash.io_lower_bound
  LevelBound l2;     ///< the HBM-traffic bound
  /// Attention: visible (query, key) pairs over all batches and heads.
  int64_t visiblePairs = 0;
  /// Recurrences: the fewest value slices a state split needs on chip.
  int64_t minValueSlices = 1;
};

IOBound attentionIOBound(const AttentionProblem &p, const Target &t);
/// Also the delta rule's (a LinearProblem with betaBytes set): its state's
/// value columns evolve as independently, so the same split argument holds.
IOBound linearIOBound(const LinearProblem &p, const Target &t);

/// The attention bound at one level of capacity `capacityBytes`.
LevelBound attentionLevelBound(const AttentionProblem &p, int64_t capacityBytes,
                               const std::string &level);
LevelBound linearLevelBound(const LinearProblem &p, int64_t capacityBytes,
                            const std::string &level);

/// The segment-argument term in elements: for `products` = pairs x d
/// scalar products q_ik k_jk and a cache of `m` elements,
/// max(0, floor(pairs d^2 / (4 (d sqrt(m) + m)) - m)).
int64_t attentionSegmentWords(long double pairs, int64_t d, int64_t m);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_IOBOUNDS_H
