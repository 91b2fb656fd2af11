//===- Calibration.h - the cost model against measured times ----*- C++ -*-===//
//
// Measured kernel times of scheduler candidates, as a table kept in the
// repository (schedule/calibration/*.tsv, one row per candidate and shape,
// written by bench/attention/bench.py on the device), and what the cost
// model makes of them: per shape, how well the model's order of the
// candidates agrees with the measured order (Spearman's rank correlation)
// and what its first choice loses against the fastest. `flashgen calibrate`
// fits a target's WarpgroupModel to such a table; a unit test holds the
// committed constants to the committed tables.
//
// Table format: tab-separated, a header line naming the columns, `#`
// comments. Columns: batch heads kv_heads n m d dv causal score_sfu
// score_alu algorithm tile_q tile_kv stages warps inner_q inner_kv ms
// (score_sfu / score_alu: the score_mod's SFU and FP32 ops per score, 0 0
// without one), then, optional and in any order, persistent (0 without),
// tile_d and tile_dv (the whole head dims without: the small-cache
// kernels' tables need them).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_CALIBRATION_H
#define FLASHGEN_SCHEDULE_CALIBRATION_H

#include "schedule/Problem.h"
#include "schedule/Result.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"

#include <string>
#include <string_view>
#include <vector>

namespace flashgen::schedule {

struct Measurement {
  AttentionProblem problem;
  Schedule schedule;
  double milliseconds = 0;
  /// The problem as text: rows with the same shape are one ranking.
  std::string shape;
};

/// Parses a table; errors name the line and the column.
Result<std::vector<Measurement>> parseMeasurements(std::string_view text);

/// One shape of a table, judged.
struct ShapeAgreement {
  std::string shape;
  size_t candidates = 0;
  /// Spearman's rho between modeled and measured times (ties share ranks).
  double spearman = 0;
  /// measured(the model's fastest) / measured(the fastest) - 1.
  double firstChoiceLoss = 0;
};

/// One shape's candidates judged: modeled and measured times, in the same
/// order (at least two).
ShapeAgreement judgeOrder(std::string shape, const std::vector<double> &modeled,
                          const std::vector<double> &measured);

/// Every shape with at least three candidates the model can time on `t`.
std::vector<ShapeAgreement> rankAgreement(const Target &t,
                                          const std::vector<Measurement> &rows);

/// The mean Spearman rho and mean first-choice loss of `shapes`.
struct AgreementSummary {
  double meanSpearman = 0;
  double meanFirstChoiceLoss = 0;
  /// Shapes whose first choice is within 5% of the fastest.
  size_t within5Percent = 0;
  size_t shapes = 0;
};
AgreementSummary summarize(const std::vector<ShapeAgreement> &shapes);

/// The WarpgroupModel constants of `t` that best order `rows`: a grid search
/// that minimizes the mean first-choice loss less 0.05 x the mean Spearman
/// rho (Calibration.cpp, fitScore).
WarpgroupModel fitWarpgroupModel(const Target &t,
                                 const std::vector<Measurement> &rows);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_CALIBRATION_H
