//===- Calibration.cpp - the cost model against measured times ------------===//

#include "schedule/Calibration.h"

#include "schedule/AttentionCost.h"
#include "schedule/AttentionSpace.h"
#include "schedule/Checker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

using namespace flashgen::schedule;

namespace {

const char *const kColumns[] = {
    "batch", "heads",  "kv_heads",  "n",       "m",       "d",
    "dv",    "causal", "score_sfu", "score_alu", "algorithm", "tile_q",
    "tile_kv", "stages", "warps",   "inner_q", "inner_kv", "ms"};
constexpr size_t kColumnCount = sizeof(kColumns) / sizeof(kColumns[0]);

std::vector<std::string> splitTabs(const std::string &line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream is(line);
  while (std::getline(is, field, '\t'))
    fields.push_back(field);
  return fields;
}

bool parseInt(const std::string &s, int64_t &out) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size() || v < 0)
      return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

/// Ranks 1..n, ties sharing their mean rank.
std::vector<double> ranks(const std::vector<double> &v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
      ++j;
    double mean = (i + j) / 2.0 + 1;
    for (size_t k = i; k <= j; ++k)
      r[order[k]] = mean;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double> &a, const std::vector<double> &b) {
  double n = a.size(), ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

/// What the fit minimizes: the time the first choice loses against the
/// fastest candidate (what a user of the default schedule pays), with the
/// rank agreement of the whole order as the tie-breaker that keeps the
/// autotuner's candidate list sensible: 0.1 of rho is worth 0.5% of time.
double fitScore(const AgreementSummary &s) {
  return s.meanFirstChoiceLoss - 0.05 * s.meanSpearman;
}

} // namespace

Result<std::vector<Measurement>>
flashgen::schedule::parseMeasurements(std::string_view text) {
  std::vector<Measurement> rows;
  std::istringstream is{std::string(text)};
  std::string line;
  size_t lineNo = 0;
  bool header = false;
  // Columns after 'ms', named by the header: where each sits, or 0.
  size_t persistentAt = 0, tileDAt = 0, tileDvAt = 0, columns = kColumnCount;
  auto fail = [&](const std::string &why) {
    return Result<std::vector<Measurement>>::failure(
        "line " + std::to_string(lineNo) + ": " + why);
  };
  while (std::getline(is, line)) {
    ++lineNo;
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<std::string> f = splitTabs(line);
    if (!header) {
      for (size_t i = 0; i < kColumnCount; ++i)
        if (i >= f.size() || f[i] != kColumns[i])
          return fail(std::string("the header must name the columns ") +
                      "batch heads kv_heads n m d dv causal score_sfu "
                      "score_alu algorithm tile_q tile_kv stages warps "
                      "inner_q inner_kv ms; column " + std::to_string(i + 1) +
                      " should be '" + kColumns[i] + "'");
      // Older tables end at 'ms' (before the persistent grid) or at
      // 'persistent' (before the small-cache kernels' tile_d / tile_dv).
      for (size_t i = kColumnCount; i < f.size(); ++i) {
        size_t *at = f[i] == "persistent" ? &persistentAt
                     : f[i] == "tile_d"   ? &tileDAt
                     : f[i] == "tile_dv"  ? &tileDvAt
                                          : nullptr;
        if (!at || *at)
          return fail("the header's column '" + f[i] +
                      "' after 'ms' is unknown or repeated (only 'persistent', "
                      "'tile_d' and 'tile_dv' may follow, once each)");
        *at = i;
      }
      columns = f.size();
      header = true;
      continue;
    }
    if (f.size() != columns)
      return fail("expected " + std::to_string(columns) +
                  " tab-separated fields, found " + std::to_string(f.size()));
    int64_t v[kColumnCount] = {};
    for (size_t i = 0; i < kColumnCount; ++i) {
      if (i == 10 || i == 17)
        continue;
      if (!parseInt(f[i], v[i]))
        return fail(std::string("column '") + kColumns[i] +
                    "' is not a non-negative integer: '" + f[i] + "'");
    }
    // An optional column's value, or `fallback` where the table has none.
    auto optional = [&](size_t at, int64_t fallback, int64_t &out) {
      out = fallback;
      return at == 0 || parseInt(f[at], out);
    };
    Measurement m;
    AttentionProblem &p = m.problem;
    p.batch = v[0];
    p.queryHeads = v[1];
    p.keyHeads = v[2];
    p.queryLen = v[3];
    p.keyLen = v[4];
    p.headDim = v[5];
    p.valueDim = v[6];
    p.mask = v[7] ? MaskKind::Causal : MaskKind::None;
    p.hasScoreMod = v[8] + v[9] > 0;
    p.scoreModSfuOps = v[8];
    p.scoreModAluOps = v[9];
    std::optional<Algorithm> a = parseAlgorithm(f[10]);
    if (!a || !isAttentionAlgorithm(*a))
      return fail("column 'algorithm': '" + f[10] +
                  "' is not an attention kernel family");
    Schedule &s = m.schedule;
    s.algorithm = *a;
    s.tileQ = v[11];
    s.tileKv = v[12];
    s.stages = v[13];
    s.warps = v[14];
    s.innerQ = v[15];
    s.innerKv = v[16];
    if (!optional(persistentAt, 0, s.persistent))
      return fail("column 'persistent' is not a non-negative integer: '" +
                  f[persistentAt] + "'");
    // Without the columns: the whole head dims (flash2: padded), what
    // every family but the small-cache ones takes.
    if (!optional(tileDAt,
                  *a == Algorithm::Flash2 ? paddedTileColumns(p.headDim) : p.headDim,
                  s.tileD))
      return fail("column 'tile_d' is not a non-negative integer: '" + f[tileDAt] + "'");
    if (!optional(tileDvAt,
                  *a == Algorithm::Flash2 ? paddedTileColumns(p.valueDim) : p.valueDim,
                  s.tileDv))
      return fail("column 'tile_dv' is not a non-negative integer: '" + f[tileDvAt] + "'");
    s.smemBytes = attentionSmemBytes(p, s);
    char *end = nullptr;
    m.milliseconds = std::strtod(f[17].c_str(), &end);
    if (end == f[17].c_str() || *end != '\0' || !(m.milliseconds > 0))
      return fail("column 'ms' is not a positive number: '" + f[17] + "'");
    m.shape = describe(p);
    rows.push_back(std::move(m));
  }
  if (!header)
    return Result<std::vector<Measurement>>::failure("no header line");
  return rows;
}

std::vector<ShapeAgreement>
flashgen::schedule::rankAgreement(const Target &t,
                                  const std::vector<Measurement> &rows) {
  std::map<std::string, std::vector<const Measurement *>> byShape;
  std::vector<std::string> order;
  for (const Measurement &m : rows) {
    if (!byShape.count(m.shape))
      order.push_back(m.shape);
    byShape[m.shape].push_back(&m);
  }
  std::vector<ShapeAgreement> out;
  for (const std::string &shape : order) {
    std::vector<double> modeled, measured;
    for (const Measurement *m : byShape[shape]) {
      // A candidate the target cannot run, or one the search space never
      // offers, is no evidence for the model's ranking.
      if (!checkAttentionSchedule(m->problem, t, m->schedule).empty() ||
          (m->schedule.persistent && !persistentGridAvailable(m->problem)))
        continue;
      Evaluation e = evaluateAttention(m->problem, t, m->schedule);
      if (!std::isfinite(e.seconds))
        continue;
      modeled.push_back(e.seconds);
      measured.push_back(m->milliseconds);
    }
    // Below 4 candidates a rank correlation takes a handful of coarse
    // values (one swap of 3 is rho 0.5): too little to judge an order.
    if (modeled.size() < 4)
      continue;
    out.push_back(judgeOrder(shape, modeled, measured));
  }
  return out;
}

ShapeAgreement flashgen::schedule::judgeOrder(std::string shape,
                                              const std::vector<double> &modeled,
                                              const std::vector<double> &measured) {
  ShapeAgreement a;
  a.shape = std::move(shape);
  a.candidates = modeled.size();
  a.spearman = pearson(ranks(modeled), ranks(measured));
  size_t first = std::min_element(modeled.begin(), modeled.end()) - modeled.begin();
  double best = *std::min_element(measured.begin(), measured.end());
  a.firstChoiceLoss = measured[first] / best - 1;
  return a;
}

AgreementSummary
flashgen::schedule::summarize(const std::vector<ShapeAgreement> &shapes) {
  AgreementSummary s;
  s.shapes = shapes.size();
  for (const ShapeAgreement &a : shapes) {
    s.meanSpearman += a.spearman / shapes.size();
    s.meanFirstChoiceLoss += a.firstChoiceLoss / shapes.size();
    s.within5Percent += a.firstChoiceLoss <= 0.05 ? 1 : 0;
  }
  return s;
}

WarpgroupModel
flashgen::schedule::fitWarpgroupModel(const Target &t,
                                      const std::vector<Measurement> &rows) {
  Target trial = t;
  WarpgroupModel best = t.warpgroup;
  AgreementSummary bestSummary = summarize(rankAgreement(t, rows));
  for (double eff : {0.70, 0.75, 0.80, 0.85, 0.90, 0.95})
    for (double tile : {0.0, 50.0, 100.0, 200.0, 400.0})
      for (double chain : {0.0, 150.0, 300.0, 600.0, 1200.0})
        for (double self : {0.0, 250.0, 500.0, 1000.0, 2000.0})
          for (double stage : {0.0, 60.0, 120.0, 240.0, 480.0, 960.0}) {
            trial.warpgroup = {eff, tile, chain, self, stage,
                               best.ctaCycles};
            AgreementSummary s = summarize(rankAgreement(trial, rows));
            if (fitScore(s) < fitScore(bestSummary) - 1e-12) {
              bestSummary = s;
              best = trial.warpgroup;
            }
          }
  // The CTA start cost on its own, the others fixed: it orders grids of
  // different CTA counts (tile_q, persistent) and little else.
  trial.warpgroup = best;
  for (double cta : {0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0}) {
    trial.warpgroup.ctaCycles = cta;
    AgreementSummary s = summarize(rankAgreement(trial, rows));
    if (fitScore(s) < fitScore(bestSummary) - 1e-12) {
      bestSummary = s;
      best = trial.warpgroup;
    }
  }
  return best;
}
