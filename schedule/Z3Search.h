//===- Z3Search.h - a schedule space as a Z3 problem ------------*- C++ -*-===//
//
// Encodes a SearchSpace for Z3 and finds its best points:
//
//  - each dimension is a one-hot choice among its values (Booleans, exactly
//    one true);
//  - each resource constraint is tabulated over the dimensions it reads;
//    every sub-point whose value exceeds the limit becomes a clause
//    "!guard or not this sub-point", so the guards (assumed in every check)
//    make an infeasible space yield an unsat core naming the resources that
//    conflict. (Integer terms compared with the limit inside Z3 were tried
//    first: identical answers, 2-5x slower);
//  - the objective is the cost model's value of the chosen point, in an
//    order encoding: for the sorted distinct values L_0 < L_1 < ..., a
//    literal g_j stands for "objective >= L_j" (g_j implies g_{j-1}), and
//    every point implies g_rank(point). "objective <= L_r" is then the
//    assumption !g_{r+1}, and the minimum is found by a binary search over
//    r with incremental checks under assumptions; ties are broken the same
//    way over (secondary, index) within the optimal level.
//
// The objective Z3 minimises is exactly the cost model's (the levels are
// its values); z3::optimize was tried on the same tables and took seconds
// to tens of seconds per solution (its MaxSAT and OptSMT engines propagate
// poorly through an unstructured table), the binary search takes tens of
// milliseconds. The K best points come from blocking each one found and
// searching again from its level.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_Z3SEARCH_H
#define FLASHGEN_SCHEDULE_Z3SEARCH_H

#include "schedule/Result.h"
#include "schedule/SearchSpace.h"

namespace flashgen::schedule {

/// The best `options.topK` points in rankedBefore order, or the unsat core
/// of the constraints (`conflict`) when none is feasible. Fails (never
/// throws) when Z3 reports an error or a check times out.
Result<SearchOutcome> searchWithZ3(const SearchSpace &space,
                                   const SearchOptions &options);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_Z3SEARCH_H
