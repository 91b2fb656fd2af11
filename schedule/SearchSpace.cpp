//===- SearchSpace.cpp - a finite schedule space and its objective --------===//

#include "schedule/SearchSpace.h"

#include "schedule/Units.h"

#include <limits>
#include <sstream>

using namespace flashgen::schedule;

SpaceConstraint flashgen::schedule::flagRule(std::string resource, std::vector<size_t> dims,
                         std::function<bool(const Point &)> broken,
                         std::string rule) {
  SpaceConstraint c;
  c.resource = std::move(resource);
  c.dims = std::move(dims);
  c.value = [broken = std::move(broken)](const Point &x) -> int64_t {
    return broken(x) ? 1 : 0;
  };
  c.limit = 0;
  c.unit = ValueUnit::Flag;
  c.rule = std::move(rule);
  return c;
}

SpaceConstraint flashgen::schedule::sharedMemoryRule(
    const Target &t, std::vector<size_t> dims,
    std::function<int64_t(const Point &)> bytes) {
  SpaceConstraint c;
  c.resource = "shared memory";
  c.dims = std::move(dims);
  c.value = std::move(bytes);
  c.limit = t.smemPerCTA;
  c.unit = ValueUnit::Bytes;
  c.limitText = t.name + " has " + formatBytes(t.smemPerCTA) + " per CTA";
  return c;
}

SpaceConstraint flashgen::schedule::registersRule(
    const Target &t, std::vector<size_t> dims,
    std::function<int64_t(const Point &)> registers) {
  SpaceConstraint c;
  c.resource = "registers per thread";
  c.dims = std::move(dims);
  c.value = std::move(registers);
  c.limit = t.maxRegistersPerThread;
  c.limitText = t.name + " allows " + std::to_string(t.maxRegistersPerThread);
  return c;
}

size_t SearchSpace::size() const {
  size_t n = 1;
  for (const SpaceDim &d : dims)
    n *= d.values.size();
  return n;
}

Point SearchSpace::point(const std::vector<size_t> &index) const {
  Point p(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    p[i] = dims[i].values[index[i]];
  return p;
}

size_t SearchSpace::linearIndex(const std::vector<size_t> &index) const {
  size_t linear = 0, stride = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    linear += index[i] * stride;
    stride *= dims[i].values.size();
  }
  return linear;
}

std::vector<size_t> SearchSpace::indexOf(size_t linear) const {
  std::vector<size_t> index(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    index[i] = linear % dims[i].values.size();
    linear /= dims[i].values.size();
  }
  return index;
}

bool SearchSpace::feasible(const Point &point) const {
  for (const SpaceConstraint &c : constraints)
    if (c.value(point) > c.limit)
      return false;
  return true;
}

std::string SearchSpace::describe(const Point &point,
                                  const std::vector<size_t> &which) const {
  std::string text;
  for (size_t d : which) {
    if (!text.empty())
      text += ", ";
    std::string value = std::to_string(point[d]);
    const SpaceDim &dim = dims[d];
    if (!dim.labels.empty())
      for (size_t i = 0; i < dim.values.size(); ++i)
        if (dim.values[i] == point[d])
          value = dim.labels[i];
    text += dim.name + "=" + value;
  }
  return text;
}

bool flashgen::schedule::rankedBefore(const RankedPoint &a,
                                      const RankedPoint &b) {
  if (a.objective.defined != b.objective.defined)
    return a.objective.defined;
  if (a.objective.primary != b.objective.primary)
    return a.objective.primary < b.objective.primary;
  if (a.objective.secondary != b.objective.secondary)
    return a.objective.secondary < b.objective.secondary;
  return a.linear < b.linear;
}

namespace {

std::string formatValue(ValueUnit unit, int64_t v) {
  return unit == ValueUnit::Bytes ? formatBytes(v) : std::to_string(v);
}

/// The smallest value of `c` over its own dimensions, and where (the other
/// dimensions at their first value).
std::pair<int64_t, Point> minimumOf(const SearchSpace &space,
                                    const SpaceConstraint &c) {
  Point p(space.dims.size());
  for (size_t i = 0; i < space.dims.size(); ++i)
    p[i] = space.dims[i].values.front();
  std::vector<size_t> index(c.dims.size(), 0);
  int64_t best = std::numeric_limits<int64_t>::max();
  Point where = p;
  while (true) {
    for (size_t j = 0; j < c.dims.size(); ++j)
      p[c.dims[j]] = space.dims[c.dims[j]].values[index[j]];
    int64_t v = c.value(p);
    if (v < best) {
      best = v;
      where = p;
    }
    size_t j = 0;
    for (; j < c.dims.size(); ++j) {
      if (++index[j] < space.dims[c.dims[j]].values.size())
        break;
      index[j] = 0;
    }
    if (j == c.dims.size())
      break;
  }
  return {best, where};
}

} // namespace

std::string flashgen::schedule::explainConflict(
    const SearchSpace &space, const std::vector<size_t> &conflict) {
  std::ostringstream os;
  bool alone = false;
  for (size_t ci : conflict) {
    const SpaceConstraint &c = space.constraints[ci];
    auto [least, where] = minimumOf(space, c);
    if (least <= c.limit)
      continue;
    alone = true;
    if (os.tellp() > 0)
      os << "; ";
    if (c.unit == ValueUnit::Flag) {
      os << c.rule << ", and no choice of " << space.describe(where, c.dims)
         << " satisfies it";
      continue;
    }
    os << c.resource << ": needs at least " << formatValue(c.unit, least)
       << " (" << space.describe(where, c.dims) << "), " << c.limitText;
  }
  if (alone)
    return os.str();
  // Each holds somewhere, not all at once: the best each can do while the
  // others hold.
  os << "no schedule meets ";
  for (size_t i = 0; i < conflict.size(); ++i) {
    const SpaceConstraint &c = space.constraints[conflict[i]];
    os << (i ? (i + 1 == conflict.size() ? " and " : ", ") : "") << c.resource;
  }
  os << " at once";
  std::vector<size_t> allDims;
  for (size_t d = 0; d < space.dims.size(); ++d)
    allDims.push_back(d);
  for (size_t ci : conflict) {
    const SpaceConstraint &c = space.constraints[ci];
    bool found = false;
    int64_t least = 0;
    Point where;
    for (size_t linear = 0; linear < space.size(); ++linear) {
      Point p = space.point(space.indexOf(linear));
      bool othersHold = true;
      for (size_t other : conflict)
        if (other != ci &&
            space.constraints[other].value(p) > space.constraints[other].limit) {
          othersHold = false;
          break;
        }
      if (!othersHold)
        continue;
      int64_t v = c.value(p);
      if (!found || v < least) {
        found = true;
        least = v;
        where = p;
      }
    }
    if (!found)
      continue;
    os << "; with the others met, ";
    if (c.unit == ValueUnit::Flag)
      os << c.resource << " fails: " << c.rule << " (e.g. "
         << space.describe(where, allDims) << ")";
    else
      os << c.resource << " needs at least " << formatValue(c.unit, least)
         << " (" << space.describe(where, allDims) << "), " << c.limitText;
  }
  return os.str();
}
