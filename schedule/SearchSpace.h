//===- SearchSpace.h - a finite schedule space and its objective -*- C++ -*-===//
//
// What the solver sees: named dimensions with finite value lists (tile
// sizes, stages, warps, ...), resource constraints `value(point) <= limit`
// that each read a few dimensions, and an integer objective over whole
// points. Z3Search.cpp and Enumerate.cpp search the same space and must
// agree; the tests check that they do.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_SEARCHSPACE_H
#define FLASHGEN_SCHEDULE_SEARCHSPACE_H

#include "schedule/Target.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace flashgen::schedule {

struct SpaceDim {
  std::string name;            ///< "tile_q"
  std::vector<int64_t> values; ///< the choices, in preference order for ties
  /// How values print when they encode names ("chunk_fused"); empty: as
  /// numbers.
  std::vector<std::string> labels;
};

/// Values of every dimension, in SpaceSpace::dims order.
using Point = std::vector<int64_t>;

/// How a constraint's value prints in diagnostics.
enum class ValueUnit { Bytes, Count, Flag };

/// `value(point) <= limit`. `value` may read only the dimensions in `dims`:
/// the Z3 encoding tabulates it over their sub-domain.
struct SpaceConstraint {
  std::string resource;     ///< "shared memory", "registers per thread", ...
  std::vector<size_t> dims; ///< indices into SearchSpace::dims
  std::function<int64_t(const Point &)> value;
  int64_t limit = 0;
  ValueUnit unit = ValueUnit::Count;
  /// What the limit is, for messages: "sm_90 has 227 KiB per CTA".
  std::string limitText;
  /// For flags (value 1 = violated): the rule, "tile_q must be a multiple of
  /// 16 x warps".
  std::string rule;
};

/// A rule over `dims` that a point breaks where `broken` says so (a flag
/// constraint: value 1 when broken, limit 0), `rule` saying why.
SpaceConstraint flagRule(std::string resource, std::vector<size_t> dims,
                         std::function<bool(const Point &)> broken,
                         std::string rule);

/// Shared memory, `bytes(point)`, within the target's per-CTA limit.
SpaceConstraint sharedMemoryRule(const Target &t, std::vector<size_t> dims,
                                 std::function<int64_t(const Point &)> bytes);
/// Registers per thread, `registers(point)`, within the target's limit.
SpaceConstraint registersRule(const Target &t, std::vector<size_t> dims,
                              std::function<int64_t(const Point &)> registers);

/// The objective of a point: `primary` (modeled picoseconds; undefined when
/// the cost model cannot time the point) then `secondary` break ties, then
/// the point's index in the space (first dimension fastest).
struct ObjectiveValue {
  bool defined = false;
  int64_t primary = 0;
  int64_t secondary = 0;
};

struct SearchSpace {
  std::vector<SpaceDim> dims;
  std::vector<SpaceConstraint> constraints;
  std::function<ObjectiveValue(const Point &)> objective;

  /// Number of points (product of the dimension sizes).
  size_t size() const;
  /// The point with value indices `index`.
  Point point(const std::vector<size_t> &index) const;
  /// Linear index of a point's value indices (first dimension fastest).
  size_t linearIndex(const std::vector<size_t> &index) const;
  /// Value indices of a linear index.
  std::vector<size_t> indexOf(size_t linear) const;
  /// Whether `point` satisfies every constraint.
  bool feasible(const Point &point) const;
  /// "tile_q=16, tile_kv=16, stages=2" for the dimensions `dims` of `point`.
  std::string describe(const Point &point, const std::vector<size_t> &dims) const;
};

/// A point and its objective, as the engines return them, best first.
struct RankedPoint {
  Point point;
  size_t linear = 0;
  ObjectiveValue objective;
};

struct SearchOutcome {
  std::vector<RankedPoint> ranked; ///< empty when nothing is feasible
  /// When nothing is feasible: constraints that cannot hold together.
  std::vector<size_t> conflict;
  std::string engine;    ///< "z3" or "enumeration"
  std::string note;      ///< why the engine changed, if it did
  size_t points = 0;     ///< size of the space
  size_t solverChecks = 0;
  double seconds = 0;
};

struct SearchOptions {
  unsigned topK = 4;
  /// Per Z3 check; on a timeout the search falls back to enumeration.
  unsigned z3TimeoutMs = 10000;
};

/// The strict order both engines rank by: primary, secondary, linear index.
bool rankedBefore(const RankedPoint &a, const RankedPoint &b);

/// Plain text for an infeasible space. A constraint of `conflict` that no
/// point satisfies alone is reported with its smallest value and where
/// ("shared memory: needs at least 40 KiB (tile_q=16, tile_kv=16,
/// stages=2), sm_90 has 227 KiB per CTA"); when only their combination
/// fails, each is reported with its smallest value among the points that
/// meet the others.
std::string explainConflict(const SearchSpace &space,
                            const std::vector<size_t> &conflict);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_SEARCHSPACE_H
