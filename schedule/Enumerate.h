//===- Enumerate.h - brute-force search of a schedule space -----*- C++ -*-===//
//
// Visits every point: the reference the Z3 search is tested against, and
// the fallback when Z3 times out.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_ENUMERATE_H
#define FLASHGEN_SCHEDULE_ENUMERATE_H

#include "schedule/SearchSpace.h"

namespace flashgen::schedule {

/// The best `options.topK` feasible points in rankedBefore order; when none
/// is feasible, `conflict` is a deletion-minimal set of constraints that no
/// point satisfies together.
SearchOutcome searchByEnumeration(const SearchSpace &space,
                                  const SearchOptions &options);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_ENUMERATE_H
