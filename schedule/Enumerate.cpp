//===- Enumerate.cpp - brute-force search of a schedule space -------------===//

#include "schedule/Enumerate.h"

#include <algorithm>
#include <chrono>

using namespace flashgen::schedule;

namespace {

/// Each constraint's values over its own sub-domain, so a point's check is
/// a lookup.
struct ConstraintTables {
  std::vector<std::vector<int64_t>> values;
  std::vector<std::vector<size_t>> strides;

  explicit ConstraintTables(const SearchSpace &space) {
    Point p(space.dims.size());
    for (size_t i = 0; i < space.dims.size(); ++i)
      p[i] = space.dims[i].values.front();
    for (const SpaceConstraint &c : space.constraints) {
      std::vector<size_t> stride(c.dims.size());
      size_t n = 1;
      for (size_t j = 0; j < c.dims.size(); ++j) {
        stride[j] = n;
        n *= space.dims[c.dims[j]].values.size();
      }
      std::vector<int64_t> table(n);
      for (size_t sub = 0; sub < n; ++sub) {
        for (size_t j = 0; j < c.dims.size(); ++j) {
          size_t size = space.dims[c.dims[j]].values.size();
          p[c.dims[j]] = space.dims[c.dims[j]].values[(sub / stride[j]) % size];
        }
        table[sub] = c.value(p);
      }
      values.push_back(std::move(table));
      strides.push_back(std::move(stride));
    }
  }

  bool holds(const SearchSpace &space, size_t ci,
             const std::vector<size_t> &index) const {
    const SpaceConstraint &c = space.constraints[ci];
    size_t sub = 0;
    for (size_t j = 0; j < c.dims.size(); ++j)
      sub += index[c.dims[j]] * strides[ci][j];
    return values[ci][sub] <= c.limit;
  }
};

/// Whether some point satisfies every constraint in `active`.
bool anyFeasible(const SearchSpace &space, const ConstraintTables &tables,
                 const std::vector<size_t> &active) {
  size_t n = space.size();
  for (size_t linear = 0; linear < n; ++linear) {
    std::vector<size_t> index = space.indexOf(linear);
    bool ok = true;
    for (size_t ci : active)
      if (!tables.holds(space, ci, index)) {
        ok = false;
        break;
      }
    if (ok)
      return true;
  }
  return false;
}

} // namespace

SearchOutcome flashgen::schedule::searchByEnumeration(
    const SearchSpace &space, const SearchOptions &options) {
  auto start = std::chrono::steady_clock::now();
  SearchOutcome out;
  out.engine = "enumeration";
  out.points = space.size();
  ConstraintTables tables(space);

  std::vector<RankedPoint> feasible;
  std::vector<size_t> all(space.constraints.size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  for (size_t linear = 0; linear < out.points; ++linear) {
    std::vector<size_t> index = space.indexOf(linear);
    bool ok = true;
    for (size_t ci : all)
      if (!tables.holds(space, ci, index)) {
        ok = false;
        break;
      }
    if (!ok)
      continue;
    RankedPoint r;
    r.point = space.point(index);
    r.linear = linear;
    r.objective = space.objective(r.point);
    feasible.push_back(std::move(r));
  }
  size_t keep = std::min<size_t>(options.topK, feasible.size());
  std::partial_sort(feasible.begin(), feasible.begin() + keep, feasible.end(),
                    rankedBefore);
  feasible.resize(keep);
  out.ranked = std::move(feasible);

  if (out.ranked.empty() && !space.constraints.empty()) {
    // Deletion filter: drop every constraint whose removal keeps the rest
    // infeasible; what remains is a minimal conflict.
    std::vector<size_t> conflict = all;
    for (size_t i = 0; i < conflict.size();) {
      std::vector<size_t> without = conflict;
      without.erase(without.begin() + i);
      if (!anyFeasible(space, tables, without))
        conflict = std::move(without);
      else
        ++i;
    }
    out.conflict = std::move(conflict);
  }
  out.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  return out;
}
