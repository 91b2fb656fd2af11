//===- Z3Search.cpp - a schedule space as a Z3 problem --------------------===//

#include "schedule/Z3Search.h"

#include <z3++.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

using namespace flashgen::schedule;

namespace {

class Z3Searcher {
public:
  Z3Searcher(const SearchSpace &s, const SearchOptions &o)
      : space(s), options(o), solver(ctx), guards(ctx) {}

  Result<SearchOutcome> run();

private:
  const SearchSpace &space;
  const SearchOptions &options;
  z3::context ctx;
  z3::solver solver;
  /// pick[d][i]: dimension d takes its i-th value.
  std::vector<std::vector<z3::expr>> pick;
  /// One guard per constraint, assumed true in every check.
  z3::expr_vector guards;
  /// levelLit[j], j >= 1: "objective >= level j" (index 0 unused).
  std::vector<z3::expr> levelLit;
  std::vector<size_t> rankOf;                   ///< per linear point
  std::vector<std::vector<size_t>> levelPoints; ///< points of each level
  std::vector<ObjectiveValue> objective;        ///< per linear point
  /// Tie literals of a level, made when the level is first reached.
  std::map<size_t, std::vector<z3::expr>> tieLits;
  std::map<size_t, std::vector<size_t>> tieRankOf; ///< level -> rank by point
  size_t checks = 0;

  void encodeChoices();
  void encodeConstraints();
  void encodeObjective();
  z3::expr_vector notChosen(size_t linear);
  std::vector<size_t> modelIndex();
  z3::check_result check(const z3::expr_vector &assumptions);
  /// A fresh vector holding the guards (z3::expr_vector copies share
  /// storage, so the guards vector itself must not grow).
  z3::expr_vector guardsPlus(std::initializer_list<z3::expr> extra);
  const std::vector<z3::expr> &tieLiterals(size_t level);
};

void Z3Searcher::encodeChoices() {
  pick.resize(space.dims.size());
  for (size_t d = 0; d < space.dims.size(); ++d) {
    z3::expr_vector choices(ctx);
    for (size_t i = 0; i < space.dims[d].values.size(); ++i) {
      // Named by index: two choices may share a value.
      std::string name = space.dims[d].name + "#" + std::to_string(i) + "=" +
                         std::to_string(space.dims[d].values[i]);
      pick[d].push_back(ctx.bool_const(name.c_str()));
      choices.push_back(pick[d].back());
    }
    solver.add(z3::mk_or(choices));
    for (size_t i = 0; i < pick[d].size(); ++i)
      for (size_t j = i + 1; j < pick[d].size(); ++j)
        solver.add(!pick[d][i] || !pick[d][j]);
  }
}

void Z3Searcher::encodeConstraints() {
  Point p(space.dims.size());
  for (size_t i = 0; i < space.dims.size(); ++i)
    p[i] = space.dims[i].values.front();
  for (size_t ci = 0; ci < space.constraints.size(); ++ci) {
    const SpaceConstraint &c = space.constraints[ci];
    z3::expr guard = ctx.bool_const(("guard" + std::to_string(ci)).c_str());
    guards.push_back(guard);
    // Tabulate the constraint over its own dimensions; each sub-point over
    // the limit is excluded while the guard holds.
    std::vector<size_t> index(c.dims.size(), 0);
    while (true) {
      for (size_t j = 0; j < c.dims.size(); ++j)
        p[c.dims[j]] = space.dims[c.dims[j]].values[index[j]];
      if (c.value(p) > c.limit) {
        z3::expr_vector clause(ctx);
        clause.push_back(!guard);
        for (size_t j = 0; j < c.dims.size(); ++j)
          clause.push_back(!pick[c.dims[j]][index[j]]);
        solver.add(z3::mk_or(clause));
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
  }
}

z3::expr_vector Z3Searcher::notChosen(size_t linear) {
  std::vector<size_t> index = space.indexOf(linear);
  z3::expr_vector lits(ctx);
  for (size_t d = 0; d < index.size(); ++d)
    lits.push_back(!pick[d][index[d]]);
  return lits;
}

void Z3Searcher::encodeObjective() {
  size_t n = space.size();
  objective.resize(n);
  std::vector<int64_t> key(n);
  for (size_t linear = 0; linear < n; ++linear) {
    objective[linear] = space.objective(space.point(space.indexOf(linear)));
    key[linear] = objective[linear].defined
                      ? objective[linear].primary
                      : std::numeric_limits<int64_t>::max();
  }
  std::vector<int64_t> levels = key;
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  levelPoints.assign(levels.size(), {});
  rankOf.resize(n);
  for (size_t linear = 0; linear < n; ++linear) {
    rankOf[linear] =
        std::lower_bound(levels.begin(), levels.end(), key[linear]) -
        levels.begin();
    levelPoints[rankOf[linear]].push_back(linear);
  }
  levelLit.clear();
  levelLit.push_back(ctx.bool_val(true)); // "objective >= the smallest level"
  for (size_t j = 1; j < levels.size(); ++j) {
    levelLit.push_back(ctx.bool_const(("level" + std::to_string(j)).c_str()));
    if (j >= 2)
      solver.add(z3::implies(levelLit[j], levelLit[j - 1]));
  }
  for (size_t linear = 0; linear < n; ++linear) {
    if (rankOf[linear] == 0)
      continue;
    z3::expr_vector clause = notChosen(linear);
    clause.push_back(levelLit[rankOf[linear]]);
    solver.add(z3::mk_or(clause));
  }
}

const std::vector<z3::expr> &Z3Searcher::tieLiterals(size_t level) {
  auto it = tieLits.find(level);
  if (it != tieLits.end())
    return it->second;
  // Order the level's points by (secondary, index) and encode that order
  // like the levels.
  std::vector<size_t> points = levelPoints[level];
  std::sort(points.begin(), points.end(), [&](size_t a, size_t b) {
    if (objective[a].secondary != objective[b].secondary)
      return objective[a].secondary < objective[b].secondary;
    return a < b;
  });
  std::vector<size_t> &rank = tieRankOf[level];
  rank.assign(space.size(), 0);
  std::vector<z3::expr> lits;
  lits.push_back(ctx.bool_val(true));
  std::string prefix = "tie" + std::to_string(level) + "_";
  for (size_t j = 1; j < points.size(); ++j) {
    lits.push_back(ctx.bool_const((prefix + std::to_string(j)).c_str()));
    if (j >= 2)
      solver.add(z3::implies(lits[j], lits[j - 1]));
  }
  for (size_t j = 0; j < points.size(); ++j) {
    rank[points[j]] = j;
    if (j == 0)
      continue;
    z3::expr_vector clause = notChosen(points[j]);
    clause.push_back(lits[j]);
    solver.add(z3::mk_or(clause));
  }
  return tieLits.emplace(level, std::move(lits)).first->second;
}

std::vector<size_t> Z3Searcher::modelIndex() {
  z3::model m = solver.get_model();
  std::vector<size_t> index(space.dims.size(), 0);
  for (size_t d = 0; d < pick.size(); ++d)
    for (size_t i = 0; i < pick[d].size(); ++i)
      if (m.eval(pick[d][i], true).is_true())
        index[d] = i;
  return index;
}

z3::check_result Z3Searcher::check(const z3::expr_vector &assumptions) {
  ++checks;
  return solver.check(assumptions);
}

z3::expr_vector Z3Searcher::guardsPlus(std::initializer_list<z3::expr> extra) {
  z3::expr_vector v(ctx);
  for (unsigned i = 0; i < guards.size(); ++i)
    v.push_back(guards[i]);
  for (const z3::expr &e : extra)
    v.push_back(e);
  return v;
}

Result<SearchOutcome> Z3Searcher::run() {
  auto start = std::chrono::steady_clock::now();
  SearchOutcome out;
  out.engine = "z3";
  out.points = space.size();

  z3::params params(ctx);
  params.set("timeout", options.z3TimeoutMs);
  solver.set(params);
  encodeChoices();
  encodeConstraints();

  auto finish = [&]() {
    out.solverChecks = checks;
    out.seconds = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    return Result<SearchOutcome>(std::move(out));
  };
  auto timedOut = [&]() {
    return Result<SearchOutcome>::failure(
        "z3 gave up after " + std::to_string(options.z3TimeoutMs) +
        " ms on one check (" + solver.reason_unknown() + ")");
  };

  z3::check_result first = check(guards);
  if (first == z3::unknown)
    return timedOut();
  if (first == z3::unsat) {
    z3::expr_vector core = solver.unsat_core();
    for (unsigned i = 0; i < core.size(); ++i) {
      std::string name = core[i].to_string();
      for (unsigned ci = 0; ci < guards.size(); ++ci)
        if (guards[ci].to_string() == name)
          out.conflict.push_back(ci);
    }
    std::sort(out.conflict.begin(), out.conflict.end());
    // Deletion filter: drop members whose removal keeps the rest unsat, so
    // the message names only resources that really conflict.
    for (size_t i = 0; i < out.conflict.size();) {
      z3::expr_vector rest(ctx);
      for (size_t j = 0; j < out.conflict.size(); ++j)
        if (j != i)
          rest.push_back(guards[static_cast<unsigned>(out.conflict[j])]);
      z3::check_result r = check(rest);
      if (r == z3::unknown)
        return timedOut();
      if (r == z3::unsat)
        out.conflict.erase(out.conflict.begin() + i);
      else
        ++i;
    }
    return finish();
  }

  encodeObjective();
  const size_t levels = levelPoints.size();
  std::map<size_t, size_t> tieFloor; // per level: no better tie rank remains
  size_t lo = 0;
  for (unsigned k = 0; k < options.topK; ++k) {
    z3::check_result r = check(guards);
    if (r == z3::unknown)
      return timedOut();
    if (r == z3::unsat)
      break; // fewer feasible points than topK
    size_t best = space.linearIndex(modelIndex());
    size_t hi = rankOf[best];
    // Smallest level r with a model under !g_{r+1}.
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      z3::expr_vector assumptions = guardsPlus({});
      if (mid + 1 < levels)
        assumptions.push_back(!levelLit[mid + 1]);
      r = check(assumptions);
      if (r == z3::unknown)
        return timedOut();
      if (r == z3::sat) {
        best = space.linearIndex(modelIndex());
        hi = rankOf[best];
      } else {
        lo = mid + 1;
      }
    }
    const size_t level = hi;
    if (levelPoints[level].size() > 1) {
      const std::vector<z3::expr> &ties = tieLiterals(level);
      const std::vector<size_t> &tieRank = tieRankOf[level];
      size_t tlo = tieFloor[level], thi = tieRank[best];
      while (tlo < thi) {
        size_t mid = (tlo + thi) / 2;
        z3::expr_vector assumptions = guardsPlus({});
        if (level + 1 < levels)
          assumptions.push_back(!levelLit[level + 1]);
        if (mid + 1 < ties.size())
          assumptions.push_back(!ties[mid + 1]);
        r = check(assumptions);
        if (r == z3::unknown)
          return timedOut();
        if (r == z3::sat) {
          best = space.linearIndex(modelIndex());
          thi = tieRank[best];
        } else {
          tlo = mid + 1;
        }
      }
      tieFloor[level] = thi;
    }
    RankedPoint found;
    found.linear = best;
    found.point = space.point(space.indexOf(best));
    found.objective = objective[best];
    out.ranked.push_back(found);
    // Block it; the next best is no better.
    solver.add(z3::mk_or(notChosen(best)));
    lo = level;
  }
  return finish();
}

} // namespace

Result<SearchOutcome>
flashgen::schedule::searchWithZ3(const SearchSpace &space,
                                 const SearchOptions &options) {
  try {
    Z3Searcher searcher(space, options);
    return searcher.run();
  } catch (const z3::exception &e) {
    return Result<SearchOutcome>::failure(std::string("z3 error: ") + e.msg());
  }
}
