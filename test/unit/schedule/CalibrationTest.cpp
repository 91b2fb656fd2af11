//===- CalibrationTest.cpp - the cost model against measured tables -------===//
//
// The measured candidate times kept in schedule/calibration/ hold the cost
// model to the hardware: per shape, the model's order of the candidates
// must agree with the measured order (Spearman's rho), and its first choice
// must be close to the fastest candidate measured.
//
// Threshold: with 10 candidates a shape's rho must reach 0.564 to reject
// "no relation" at p = 0.05 (one-sided; Zar, Biostatistical Analysis,
// table of critical values of r_s). We require the mean rho over the
// shapes of a table to clear 0.6, no shape to be clearly reversed (rho >
// -0.5: the 8 candidates of a shape are often within a few percent of each
// other, where repeated timings move by 1-2%, so one shape's order is partly
// noise), and the first choice within 5% of the fastest on at least 80% of
// the shapes (the target for the scheduler's first choice).
//
//===----------------------------------------------------------------------===//

#include "TestProblems.h"

#include "schedule/Calibration.h"
#include "schedule/Checker.h"
#include "schedule/AttentionCost.h"
#include "schedule/LinearCost.h"
#include "schedule/LinearGrad.h"
#include "schedule/Scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

using namespace flashgen::schedule;

namespace {

std::vector<Measurement> loadTable(const std::string &name) {
  std::string path = std::string(FLASHGEN_CALIBRATION_DIR) + "/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  Result<std::vector<Measurement>> rows = parseMeasurements(text.str());
  EXPECT_TRUE(rows.ok()) << path << ": " << (rows.ok() ? "" : rows.error());
  return rows.ok() ? *rows : std::vector<Measurement>{};
}

/// The data lines of a recurrence-gradient table (tab-separated, a header
/// line starting "gate", '#' comments).
std::vector<std::string> gradTableLines(const std::string &name) {
  std::string path = std::string(FLASHGEN_CALIBRATION_DIR) + "/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && line.rfind("gate\t", 0) != 0)
      lines.push_back(line);
  return lines;
}

void expectAgreement(const std::string &table, const std::string &targetName) {
  const Target &t = **lookupTarget(targetName);
  std::vector<ShapeAgreement> shapes = rankAgreement(t, loadTable(table));
  ASSERT_GE(shapes.size(), 4u) << table << " has too few shapes to judge";
  // A shape whose order the model reverses must at least keep its first
  // choice within 5% of the fastest (candidates a few percent apart, e.g.
  // ALiBi + causal at N = 8192 in the third H200 table, reorder between
  // runs; what a user pays is the first choice's loss).
  for (const ShapeAgreement &a : shapes)
    EXPECT_TRUE(a.spearman > -0.5 || a.firstChoiceLoss <= 0.05)
        << a.shape << ": the model reverses the order of its " << a.candidates
        << " candidates (rho " << a.spearman << ") and its first choice is "
        << a.firstChoiceLoss * 100 << "% slower than the fastest";
  AgreementSummary s = summarize(shapes);
  EXPECT_GE(s.meanSpearman, 0.6) << table << " on " << targetName;
  EXPECT_GE(s.within5Percent * 5, s.shapes * 4)
      << "first choice within 5% of the fastest on only " << s.within5Percent
      << " of " << s.shapes << " shapes of " << table;
}

} // namespace

TEST(Calibration, ModelOrdersTheH100Table) {
  expectAgreement("h100-attention.tsv", "sm_90");
}

TEST(Calibration, ModelOrdersTheH200Tables) {
  // The runs of the kernels the compiler now emits (TMA copies in the
  // producer warpgroup): the seventh was fitted, the eighth timed the top 8
  // of the committed model afterwards and was not, nor was the ninth (the
  // first with claimed persistent rounds under causal masks). The first six
  // measured the cp.async producer (now the fallback) and bind the model no
  // longer (schedule/Target.cpp says how they fare).
  for (const char *table :
       {"h200-attention-7.tsv", "h200-attention-8.tsv", "h200-attention-9.tsv",
        "h200-attention-10.tsv"}) {
    SCOPED_TRACE(table);
    expectAgreement(table, "h200");
  }
}

TEST(Calibration, ModelOrdersTheDeltaTable) {
  // schedule/calibration/h200-delta.tsv: the delta rule's two kernels
  // (prepare + fused) of 10-11 schedules per shape, timed per launch. The
  // chains (LinearCost.cpp: deltaChunkStepCycles, deltaPrepareCycles) are
  // what orders them: without them the model ranked 32-row chunks with one
  // stage first at T = 16384, measured 1.4x the fastest (the first table).
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/h200-delta.tsv");
  ASSERT_TRUE(in.good());
  const Target &t = **lookupTarget("h200");
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> shapes;
  std::string line;
  size_t rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("rule", 0) == 0)
      continue;
    std::istringstream fields(line);
    std::string rule;
    LinearProblem p;
    Schedule s;
    double prepareMs = 0, fusedMs = 0;
    fields >> rule >> p.batch >> p.heads >> p.length >> p.keyDim >> p.valueDim >> s.chunk >>
        s.innerQ >> s.innerKv >> s.tileDv >> s.stages >> s.warps >> prepareMs >> fusedMs;
    ASSERT_FALSE(fields.fail()) << line;
    p.betaBytes = 2;
    p.l2normQk = true;  // the benchmark specs' l2norm_qk
    p.gate = rule == "gated_delta" ? GateKind::Decay : GateKind::None;
    s.algorithm = Algorithm::ChunkFused;
    Evaluation e = evaluateLinear(p, t, s);
    ASSERT_TRUE(std::isfinite(e.seconds)) << line;
    std::string shape = rule + " B=" + std::to_string(p.batch) + " T=" + std::to_string(p.length);
    shapes[shape].first.push_back(e.seconds);
    shapes[shape].second.push_back(prepareMs + fusedMs);
    ++rows;
  }
  ASSERT_GE(rows, 32u);
  std::vector<ShapeAgreement> judged;
  for (const auto &[shape, times] : shapes) {
    judged.push_back(judgeOrder(shape, times.first, times.second));
    std::printf("[delta calibration] %s: rho %.2f, first choice %.1f%% slower than the fastest\n",
                shape.c_str(), judged.back().spearman, judged.back().firstChoiceLoss * 100);
  }
  AgreementSummary s = summarize(judged);
  EXPECT_GE(s.meanSpearman, 0.6);
  EXPECT_GE(s.within5Percent * 4, s.shapes * 3) << "first choice within 5% on " << s.within5Percent
                                                << " of " << s.shapes << " shapes";
}

/// One row of a chunkwise forward table (schedule/calibration/h100-linear*.tsv):
/// the problem, the schedule and the measured ms; `shape` names the table's
/// shape (gate, Dk, T) the row is ranked within.
struct ChunkwiseRow {
  std::string line, shape;
  LinearProblem p;
  Schedule s;
  double ms = 0;
};

/// The rows of a chunkwise forward table, each checked to parse.
std::vector<ChunkwiseRow> readChunkwiseTable(const std::string &file) {
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/" + file);
  EXPECT_TRUE(in.good()) << file;
  std::vector<ChunkwiseRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("gate", 0) == 0)
      continue;
    std::istringstream fields(line);
    std::string gate, algorithm;
    ChunkwiseRow r;
    r.line = line;
    LinearProblem &p = r.p;
    Schedule &s = r.s;
    fields >> gate >> p.batch >> p.heads >> p.length >> p.keyDim >> p.valueDim >> algorithm >>
        s.chunk >> s.innerQ >> s.innerKv >> s.tileDv >> s.stages >> s.warps >> r.ms;
    EXPECT_FALSE(fields.fail()) << line;
    std::optional<GateKind> kind = parseGateKind(gate);
    std::optional<Algorithm> a = parseAlgorithm(algorithm);
    EXPECT_TRUE(kind && a) << line;
    if (fields.fail() || !kind || !a)
      continue;
    p.gate = *kind;
    s.algorithm = *a;
    s.smemBytes = linearScheduleSmemBytes(p, s);
    r.shape = gate + " Dk=" + std::to_string(p.keyDim) + " T=" + std::to_string(p.length);
    rows.push_back(r);
  }
  return rows;
}

TEST(Calibration, ModelOrdersTheGatedRecurrenceTable) {
  // schedule/calibration/h100-linear.tsv: 16 to 23 chunkwise schedules
  // (both forms) of decay, mlstm_sig and mlstm_exp at 8 heads 256/512 and
  // 16 heads 128/128, timed on an H100. Each linear_fused CTA runs its
  // chunks in order (LinearCost.cpp's gatedChunkStepCycles); ranked by
  // throughput alone, the model picked, for mlstm_exp at T = 16384, a
  // schedule measured 1.46x the fastest and put the two-pass form, measured
  // 1.3-2.3x the fastest everywhere, first on three shapes. The bounds:
  // the chain orders every shape's table with a Spearman correlation of
  // 0.62 to 0.95 (mean 0.83), and its first choice among the rows is the
  // fastest on the four decay and mlstm_sig shapes and 5.0% and 8.2% slower
  // on mlstm_exp's (its second pass over the scores, one cost per score).
  const Target &t = **lookupTarget("sm_90");
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> shapes;
  std::vector<ChunkwiseRow> rows = readChunkwiseTable("h100-linear.tsv");
  ASSERT_EQ(rows.size(), 117u);
  size_t ruledOut = 0;
  for (const ChunkwiseRow &r : rows) {
    ASSERT_TRUE(r.s.algorithm == Algorithm::ChunkFused || r.s.algorithm == Algorithm::ChunkTwoPass)
        << r.line;
    Evaluation e = evaluateLinear(r.p, t, r.s);
    if (!std::isfinite(e.seconds)) {
      // Its register estimate rules it out (the two-pass outputs kernel of
      // mlstm_exp at tile_dv = 64), though NVRTC fitted it: the model is
      // conservative there, and such a row takes no part in the order.
      ++ruledOut;
      continue;
    }
    shapes[r.shape].first.push_back(e.seconds);
    shapes[r.shape].second.push_back(r.ms);
  }
  EXPECT_LE(ruledOut, 1u);
  std::vector<ShapeAgreement> judged;
  for (const auto &[shape, times] : shapes) {
    judged.push_back(judgeOrder(shape, times.first, times.second));
    std::printf("[gated calibration] %s: rho %.2f, first choice %.1f%% slower than the fastest\n",
                shape.c_str(), judged.back().spearman, judged.back().firstChoiceLoss * 100);
    EXPECT_LE(judged.back().firstChoiceLoss, 0.10) << shape;
  }
  AgreementSummary summary = summarize(judged);
  EXPECT_EQ(summary.shapes, 6u);
  EXPECT_GE(summary.meanSpearman, 0.75);
  EXPECT_GE(summary.within5Percent, 4u) << "first choice within 5% on " << summary.within5Percent
                                       << " of " << summary.shapes << " shapes";
}

TEST(Calibration, ModelOrdersTheScoredRecurrenceTable) {
  // schedule/calibration/h100-linear-scored.tsv: the four schedules the
  // compiler ranked first for decay and mlstm_sig at 8 heads 256/512 and
  // 16 heads 128/128 (T = 16384, 4096) once chunk_scored was in its space,
  // timed on an H100. Before the scored step's chain terms
  // (LinearCost.cpp's kScored*) the model put chunk_scored first on four of
  // the six shapes, measured up to 1.49x the fastest at 128/128 (mlstm_sig,
  // T = 4096), and under-estimated its mlstm_sig times by 1.6-2.1x. The
  // bounds: within 30% of each chunk_scored row (the chunk_fused rows are
  // h100-linear.tsv's to hold; log rms over all at most 15%), and a first
  // choice among the rows at most 5% slower than the fastest on every shape.
  const Target &t = **lookupTarget("sm_90");
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> shapes;
  std::vector<ChunkwiseRow> rows = readChunkwiseTable("h100-linear-scored.tsv");
  ASSERT_EQ(rows.size(), 24u);
  size_t scored = 0;
  double squares = 0;
  for (const ChunkwiseRow &r : rows) {
    ASSERT_TRUE(r.s.algorithm == Algorithm::ChunkScored || r.s.algorithm == Algorithm::ChunkFused)
        << r.line;
    scored += r.s.algorithm == Algorithm::ChunkScored;
    ASSERT_TRUE(checkLinearSchedule(r.p, t, r.s).empty()) << r.line;
    Evaluation e = evaluateLinear(r.p, t, r.s);
    ASSERT_TRUE(std::isfinite(e.seconds)) << r.line;
    const double logError = std::log(e.seconds * 1e3 / r.ms);
    if (r.s.algorithm == Algorithm::ChunkScored)
      EXPECT_LT(std::fabs(logError), std::log(1.3)) << r.line << ": modeled " << e.seconds * 1e3
                                                    << " ms";
    squares += logError * logError;
    shapes[r.shape].first.push_back(e.seconds);
    shapes[r.shape].second.push_back(r.ms);
  }
  EXPECT_EQ(scored, 16u);
  EXPECT_LE(std::sqrt(squares / rows.size()), 0.15);
  for (const auto &[shape, times] : shapes) {
    ShapeAgreement a = judgeOrder(shape, times.first, times.second);
    std::printf("[scored calibration] %s: rho %.2f, first choice %.1f%% slower than the fastest\n",
                shape.c_str(), a.spearman, a.firstChoiceLoss * 100);
    EXPECT_LE(a.firstChoiceLoss, 0.05) << shape;
  }
  EXPECT_EQ(shapes.size(), 6u);
}

/// Per length T: the model's seconds and the measured times of the rows of
/// a recurrence-gradient table (16 heads 128/128, B = 65536 / T, chunk_grad
/// with 4 warps). parse(fields, p, s) reads a row's own columns into the
/// problem (its length) and schedule and returns the measured time.
using LengthTimes = std::map<int64_t, std::pair<std::vector<double>, std::vector<double>>>;
template <class Parse>
LengthTimes readGradTable(const std::string &file, GateKind gate, size_t expectRows, Parse parse) {
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/" + file);
  EXPECT_TRUE(in.good()) << file;
  const Target &t = **lookupTarget("sm_90");
  LengthTimes shapes;
  std::string line;
  size_t rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("T\t", 0) == 0)
      continue;
    std::istringstream fields(line);
    LinearProblem p;
    Schedule s;
    s.algorithm = Algorithm::ChunkGrad;
    s.warps = 4;
    const double measured = parse(fields, p, s);
    EXPECT_FALSE(fields.fail()) << line;
    p.batch = 65536 / p.length;
    p.heads = 16;
    p.keyDim = p.valueDim = 128;
    p.gate = gate;
    s.innerQ = s.innerKv = s.chunk;
    Evaluation e = evaluateLinearGrad(p, t, s);
    EXPECT_TRUE(std::isfinite(e.seconds)) << line;
    shapes[p.length].first.push_back(e.seconds);
    shapes[p.length].second.push_back(measured);
    ++rows;
  }
  EXPECT_EQ(rows, expectRows) << file;
  return shapes;
}

TEST(Calibration, ModelOrdersTheRecurrenceGradientTable) {
  // schedule/calibration/h100-linear-grad.tsv: the three launches of five
  // chunk_grad schedules (chunk 32 and 64, column splits 1, 2, 4) at two
  // shapes, timed per launch on the H100. Before the chunk kernel's chain
  // (LinearGrad.cpp) the model ranked chunk 32 without a split first,
  // measured 1.39x the fastest.
  LengthTimes shapes = readGradTable(
      "h100-linear-grad.tsv", GateKind::Decay, 10, [](std::istream &f, LinearProblem &p, Schedule &s) {
        double statesUs = 0, gradStatesUs = 0, chunkUs = 0;
        f >> p.length >> s.chunk >> s.tileD >> statesUs >> gradStatesUs >> chunkUs;
        s.tileDv = 64;
        s.stages = 2;
        return statesUs + gradStatesUs + chunkUs;
      });
  for (const auto &[length, times] : shapes) {
    ShapeAgreement a = judgeOrder("T=" + std::to_string(length), times.first, times.second);
    std::printf("[linear-grad calibration] T=%lld: rho %.2f, first choice %.1f%% slower than the fastest\n",
                (long long)length, a.spearman, a.firstChoiceLoss * 100);
    EXPECT_GE(a.spearman, 0.8);
    EXPECT_LE(a.firstChoiceLoss, 0.05);
  }
}

TEST(Calibration, ModelPicksTheFastestVectorGradient) {
  // schedule/calibration/h100-linear-grad-vector.tsv: GLA's gradient, the
  // four schedules the compiler ranked, timed whole on the H100 at two
  // lengths. The first choice must be the measured fastest (within 5%);
  // the order of the other three (one chunk kernel, state passes within
  // 20% of each other) the model does not see (rho 0.0 and 0.3).
  LengthTimes shapes = readGradTable(
      "h100-linear-grad-vector.tsv", GateKind::Vector, 8,
      [](std::istream &f, LinearProblem &p, Schedule &s) {
        double totalUs = 0;
        f >> p.length >> s.tileDv >> s.stages >> totalUs;
        s.chunk = 64;
        s.tileD = 64;
        return totalUs;
      });
  for (const auto &[length, times] : shapes) {
    ShapeAgreement a = judgeOrder("T=" + std::to_string(length), times.first, times.second);
    std::printf("[linear-grad-vector calibration] T=%lld: rho %.2f, first choice %.1f%% slower than "
                "the fastest\n",
                (long long)length, a.spearman, a.firstChoiceLoss * 100);
    EXPECT_LE(a.firstChoiceLoss, 0.05);
  }
}

TEST(Calibration, ModelChargesTheValueSlicePasses) {
  // schedule/calibration/h100-linear-grad-slices.tsv: backward schedules
  // that differ only in the chunk kernel's value columns per pass. For each
  // such pair the model's extra time for the narrower slice (more passes,
  // each with its loads exposed and its barriers) is within a factor of two
  // of the measured one (before the fit, 1500 cycles a pass: 0.6x to 0.8x).
  const Target &t = **lookupTarget("sm_90");
  struct Row {
    std::string key;
    int64_t valueSlice;
    double modeled, measured;
  };
  std::vector<Row> rows;
  for (const std::string &line : gradTableLines("h100-linear-grad-slices.tsv")) {
    std::istringstream f(line);
    std::string gate;
    LinearProblem p;
    Schedule s;
    s.algorithm = Algorithm::ChunkGrad;
    s.warps = 4;
    double ms = 0;
    f >> gate >> p.heads >> p.keyDim >> p.valueDim >> p.length >> s.chunk >> s.tileD >> s.tileDv >>
        s.valueSlice >> s.stages >> ms;
    ASSERT_FALSE(f.fail()) << line;
    p.gate = gate == "decay" ? GateKind::Decay : GateKind::MlstmSig;
    p.batch = 65536 / p.length;
    s.innerQ = s.innerKv = s.chunk;
    s.smemBytes = linearGradSmemBytes(p, s);
    EXPECT_TRUE(checkLinearGradSchedule(p, t, s).empty()) << line;
    std::ostringstream key;
    key << gate << " " << p.heads << "x" << p.keyDim << "x" << p.valueDim << " T=" << p.length
        << " tile_dv=" << s.tileDv << " stages=" << s.stages;
    rows.push_back({key.str(), s.valueSlice, evaluateLinearGrad(p, t, s).seconds * 1e3, ms});
  }
  ASSERT_EQ(rows.size(), 16u);
  int pairs = 0;
  for (const Row &wide : rows)
    for (const Row &narrow : rows) {
      bool fewerColumns = narrow.valueSlice != 0 &&
                          (wide.valueSlice == 0 || narrow.valueSlice < wide.valueSlice);
      if (wide.key != narrow.key || !fewerColumns)
        continue;
      const double modeled = narrow.modeled - wide.modeled;
      const double measured = narrow.measured - wide.measured;
      std::printf("[slice calibration] %s value_slice %lld -> %lld: +%.3f ms measured, +%.3f "
                  "modeled\n",
                  wide.key.c_str(), (long long)wide.valueSlice, (long long)narrow.valueSlice,
                  measured, modeled);
      ASSERT_GT(measured, 0.0) << wide.key;
      EXPECT_GE(modeled, 0.5 * measured) << wide.key;
      EXPECT_LE(modeled, 2.0 * measured) << wide.key;
      ++pairs;
    }
  EXPECT_EQ(pairs, 8);
}

TEST(Calibration, ModelPricesThePersistentChunkRounds) {
  // schedule/calibration/h100-linear-grad-rounds.tsv: the chunk kernel one
  // chunk a CTA against persistent rounds. For each gate the model's time
  // ratio of the two (its grad_chunk kernel) is within 3.5% of the measured
  // one (measured 0.94, 0.98 and 1.00: the rows' load the rounds hide was
  // mostly hidden already; the model's chunk kernel is one for the three
  // gates), and the rounds are never modeled slower.
  const Target &t = **lookupTarget("sm_90");
  std::map<std::string, std::array<double, 2>> modeled, measured;
  for (const std::string &line : gradTableLines("h100-linear-grad-rounds.tsv")) {
    std::istringstream f(line);
    std::string gate;
    LinearProblem p;
    Schedule s;
    s.algorithm = Algorithm::ChunkGrad;
    s.warps = 4;
    s.stages = 2;
    s.tileDv = 64;
    double us = 0;
    f >> gate >> p.heads >> p.keyDim >> p.valueDim >> p.length >> s.chunk >> s.tileD >>
        s.persistent >> us;
    ASSERT_FALSE(f.fail()) << line;
    p.gate = gate == "decay"       ? GateKind::Decay
             : gate == "mlstm_sig" ? GateKind::MlstmSig
                                   : GateKind::MlstmExp;
    p.batch = 65536 / p.length;
    s.innerQ = s.innerKv = s.chunk;
    s.smemBytes = linearGradSmemBytes(p, s);
    EXPECT_TRUE(checkLinearGradSchedule(p, t, s).empty()) << line;
    Evaluation ev = evaluateLinearGrad(p, t, s);
    auto kernel = std::find_if(ev.kernels.begin(), ev.kernels.end(),
                               [](const KernelCost &k) { return k.name == "grad_chunk"; });
    ASSERT_NE(kernel, ev.kernels.end());
    modeled[gate][s.persistent] = kernel->seconds * 1e6;
    measured[gate][s.persistent] = us;
  }
  ASSERT_EQ(measured.size(), 3u);
  for (const auto &[gate, us] : measured) {
    const double m = modeled[gate][1] / modeled[gate][0], r = us[1] / us[0];
    std::printf("[rounds calibration] %s: rounds / one chunk a CTA %.3f measured, %.3f modeled "
                "(%.0f / %.0f us modeled)\n",
                gate.c_str(), r, m, modeled[gate][1], modeled[gate][0]);
    EXPECT_NEAR(m, r, 0.035) << gate;
    EXPECT_LE(m, 1.0) << gate;
  }
}

TEST(Calibration, ParsesAndRejectsTables) {
  const char *header = "batch\theads\tkv_heads\tn\tm\td\tdv\tcausal\tscore_sfu\t"
                       "score_alu\talgorithm\ttile_q\ttile_kv\tstages\twarps\t"
                       "inner_q\tinner_kv\tms\n";
  Result<std::vector<Measurement>> ok = parseMeasurements(
      std::string("# comment\n") + header +
      "2\t16\t16\t8192\t8192\t128\t128\t1\t0\t0\tflash3\t128\t128\t3\t12\t0\t0\t1.031\n");
  ASSERT_TRUE(ok.ok()) << ok.error();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].schedule.algorithm, Algorithm::Flash3);
  EXPECT_EQ((*ok)[0].problem.mask, MaskKind::Causal);
  EXPECT_DOUBLE_EQ((*ok)[0].milliseconds, 1.031);

  Result<std::vector<Measurement>> badAlgorithm = parseMeasurements(
      std::string(header) +
      "2\t16\t16\t8192\t8192\t128\t128\t1\t0\t0\tchunk_fused\t128\t128\t3\t12\t0\t0\t1\n");
  ASSERT_FALSE(badAlgorithm.ok());
  EXPECT_NE(badAlgorithm.error().find("line 2"), std::string::npos) << badAlgorithm.error();
  Result<std::vector<Measurement>> badTime = parseMeasurements(
      std::string(header) +
      "2\t16\t16\t8192\t8192\t128\t128\t1\t0\t0\tflash3\t128\t128\t3\t12\t0\t0\tnan\n");
  EXPECT_FALSE(badTime.ok());
  EXPECT_FALSE(parseMeasurements("tile_q\tms\n").ok());

  // The small-cache kernels' chunk widths, in columns after 'ms'; without
  // them a row takes the whole head dims.
  std::string wide = std::string(header).substr(0, std::string(header).size() - 1) +
                     "\ttile_dv\tpersistent\ttile_d\n";
  Result<std::vector<Measurement>> chunks = parseMeasurements(
      wide + "2\t8\t8\t8192\t8192\t512\t512\t0\t0\t0\tflash3_dsplit\t128\t64\t2\t8\t0\t0\t7.1\t256\t0\t128\n");
  ASSERT_TRUE(chunks.ok()) << chunks.error();
  EXPECT_EQ((*chunks)[0].schedule.tileD, 128);
  EXPECT_EQ((*chunks)[0].schedule.tileDv, 256);
  EXPECT_EQ((*ok)[0].schedule.tileD, 128);
  Result<std::vector<Measurement>> repeated =
      parseMeasurements(std::string(header).substr(0, std::string(header).size() - 1) +
                        "\ttile_d\ttile_d\n");
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.error().find("'tile_d'"), std::string::npos) << repeated.error();
}

TEST(Calibration, SpearmanSeesOrderNotScale) {
  // Four candidates of one shape whose measured order is the model's
  // reversed: rho = -1 and the first choice is the slowest.
  const Target &t = **lookupTarget("sm_90");
  std::string table = "batch\theads\tkv_heads\tn\tm\td\tdv\tcausal\tscore_sfu\t"
                      "score_alu\talgorithm\ttile_q\ttile_kv\tstages\twarps\t"
                      "inner_q\tinner_kv\tms\n";
  // flash2 with 16-key tiles, flash3 with one consumer warpgroup, with two
  // and without and with a producer: the model ranks them slowest to
  // fastest.
  table += "2\t16\t16\t8192\t8192\t128\t128\t0\t0\t0\tflash2\t64\t16\t2\t4\t0\t0\t1.0\n";
  table += "2\t16\t16\t8192\t8192\t128\t128\t0\t0\t0\tflash3\t64\t64\t2\t4\t0\t0\t1.5\n";
  table += "2\t16\t16\t8192\t8192\t128\t128\t0\t0\t0\tflash3\t128\t128\t2\t8\t0\t0\t2.0\n";
  table += "2\t16\t16\t8192\t8192\t128\t128\t0\t0\t0\tflash3\t128\t128\t3\t12\t0\t0\t3.0\n";
  Result<std::vector<Measurement>> rows = parseMeasurements(table);
  ASSERT_TRUE(rows.ok()) << rows.error();
  std::vector<ShapeAgreement> shapes = rankAgreement(t, *rows);
  ASSERT_EQ(shapes.size(), 1u);
  EXPECT_DOUBLE_EQ(shapes[0].spearman, -1.0);
  EXPECT_DOUBLE_EQ(shapes[0].firstChoiceLoss, 2.0);
}

TEST(Calibration, DecodeFirstChoiceIsAmongTheFastestMeasured) {
  // schedule/calibration/h200-decode.tsv: 12 flash_decode schedules of one
  // bundle (planned at B=8, N=1, M=32768) timed at 11 (batch, cache length)
  // shapes, cuDNN beside them. One bundle serves them all (the sizes are
  // launch arguments), so what a user gets is the scheduler's first choice
  // at the planned sizes, at every shape: it must be one of the measured
  // schedules, the fastest measured at the planned shape up to 1%, and
  // within 3% of the fastest at every shape. The whole-tile warps and
  // 32-row tiles the space now leaves out (AttentionSpace.cpp's "key warps
  // wanted" and "packed rows") measured 1.3-2.7% slower.
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/h200-decode.tsv");
  ASSERT_TRUE(in.good());
  const Target &t = **lookupTarget("h200");
  // Per shape: each schedule's measured time.
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::vector<std::pair<Schedule, double>>> shapes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("batch", 0) == 0)
      continue;
    std::istringstream fields(line);
    int64_t b = 0, n = 0, m = 0;
    Schedule s;
    double us = 0, cudnnUs = 0;
    fields >> b >> n >> m >> s.tileQ >> s.tileKv >> s.stages >> s.warps >> s.innerKv >> us >> cudnnUs;
    ASSERT_FALSE(fields.fail()) << line;
    s.algorithm = Algorithm::FlashDecode;
    s.tileD = s.tileDv = 128;
    s.smemBytes = attentionSmemBytes(test::decode(b, n, m), s);
    shapes[{b, n, m}].push_back({s, us});
  }
  ASSERT_GE(shapes.size(), 8u);
  SolveOptions options;
  options.topK = 1;
  Result<ScheduleResult> planned = scheduleAttention(test::decode(8, 1, 32768), t, options);
  ASSERT_TRUE(planned) << planned.error();
  Schedule first = planned->candidates.front().schedule;
  for (const auto &[shape, runs] : shapes) {
    auto [b, n, m] = shape;
    double fastest = runs.front().second, mine = -1;
    for (const auto &[s, us] : runs) {
      fastest = std::min(fastest, us);
      if (s == first)
        mine = us;
    }
    ASSERT_GT(mine, 0) << first.str() << " was not measured at B=" << b << " M=" << m;
    std::printf("[decode calibration] B=%lld N=%lld M=%lld: first choice %.1f us, fastest %.1f (%.1f%%)\n",
                static_cast<long long>(b), static_cast<long long>(n), static_cast<long long>(m), mine,
                fastest, (mine / fastest - 1) * 100);
    EXPECT_LE(mine, 1.03 * fastest) << first.str() << " at B=" << b << " M=" << m;
    if (b == 8 && n == 1 && m == 32768)
      EXPECT_LE(mine, 1.01 * fastest) << first.str() << " at the planned sizes";
  }
}

TEST(Calibration, BlockSparseFirstChoiceIsAmongTheFastestMeasured) {
  // schedule/calibration/h200-sparse.tsv: the block-sparse benchmark's
  // bundles (planned at B=1, N=M=65536; 32 query heads over 32 / G, d =
  // 128, 128 x 128 blocks), every ranked schedule timed on 10%-dense lists
  // at 64k and 16k tokens. The model ranks a block-sparse problem's tiles
  // as the dense one's (the lists' density is a launch value); what a user
  // gets is its first choice: one of the measured schedules, within 3% of
  // the fastest at every shape (it measured 0-2.8% behind).
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/h200-sparse.tsv");
  ASSERT_TRUE(in.good());
  const Target &t = **lookupTarget("h200");
  using Shape = std::tuple<std::string, int64_t, int64_t, int64_t>;
  std::map<Shape, std::vector<std::pair<Schedule, double>>> shapes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("pattern", 0) == 0)
      continue;
    std::istringstream fields(line);
    std::string pattern;
    int64_t group = 0, b = 0, n = 0;
    Schedule s;
    double us = 0, flexUs = 0;
    fields >> pattern >> group >> b >> n >> s.tileQ >> s.tileKv >> s.stages >> s.persistent >> us >> flexUs;
    ASSERT_FALSE(fields.fail()) << line;
    s.algorithm = Algorithm::Flash3;
    s.tileD = s.tileDv = 128;
    s.warps = 12;
    shapes[{pattern, group, b, n}].push_back({s, us});
  }
  ASSERT_GE(shapes.size(), 12u);
  for (const auto &[shape, runs] : shapes) {
    const auto &[pattern, group, b, n] = shape;
    AttentionProblem p = test::attention(
        65536, 128, pattern == "random" ? MaskKind::None : MaskKind::Causal, 1, 32);
    p.keyHeads = 32 / group;
    p.blockQ = p.blockKv = 128;
    SolveOptions options;
    options.topK = 1;
    Result<ScheduleResult> planned = scheduleAttention(p, t, options);
    ASSERT_TRUE(planned) << planned.error();
    const Schedule &first = planned->candidates.front().schedule;
    double fastest = runs.front().second, mine = -1;
    for (const auto &[s, us] : runs) {
      fastest = std::min(fastest, us);
      if (s.tileQ == first.tileQ && s.tileKv == first.tileKv && s.stages == first.stages &&
          s.persistent == first.persistent && s.warps == first.warps)
        mine = us;
    }
    ASSERT_GT(mine, 0) << first.str() << " was not measured (" << pattern << ", G=" << group << ")";
    std::printf("[sparse calibration] %s G=%lld B=%lld N=%lld: first choice %.0f us, fastest %.0f (%.1f%%)\n",
                pattern.c_str(), static_cast<long long>(group), static_cast<long long>(b),
                static_cast<long long>(n), mine, fastest, (mine / fastest - 1) * 100);
    EXPECT_LE(mine, 1.03 * fastest) << first.str() << " (" << pattern << ", G=" << group << ", N=" << n << ")";
  }
}

namespace {

/// One measured step or chunk schedule of schedule/calibration/h200-step.tsv.
struct StepRun {
  Schedule schedule;
  double us = 0;
};

/// The bench spec's problem (bench/linear/step-specs): 16 heads 128/128,
/// bf16 rows, f32 state in and out; gated DeltaNet with bf16 beta and
/// l2-normalised q and k.
LinearProblem stepSpecProblem(const std::string &spec, int64_t batch, int64_t t) {
  GateKind gate = spec == "mlstm_sig" ? GateKind::MlstmSig : GateKind::Decay;
  LinearProblem p = test::linear(t, 128, 128, gate, batch, 16);
  p.hasInitialState = p.returnsFinalState = true;
  if (spec == "gated_delta") {
    p.betaBytes = 2;
    p.l2normQk = true;
  }
  return p;
}

} // namespace

TEST(Calibration, StepFirstChoiceIsAmongTheFastestMeasured) {
  // schedule/calibration/h200-step.tsv: every recurrent_step schedule of
  // the space (tile_dv x warps) and the chunk forms ranked beside them,
  // timed for 1, 4 and 16 tokens of 64 sequences and one token of 256.
  // The first choice planned at each shape must be one of them, within 10%
  // of the fastest measured everywhere and within 5% on 80% of the shapes
  // (the first choice before this table, 8 columns on 2 warps, took
  // 2.2-2.7x as long as the fastest at one token, and the step kernel at
  // 16 tokens 1.4-1.5x as long as the chunk form), and the model must
  // order the step schedules as measured (mean Spearman rho >= 0.6:
  // 8-column slices and 8 warps slow, 32+ columns fast).
  std::ifstream in(std::string(FLASHGEN_CALIBRATION_DIR) + "/h200-step.tsv");
  ASSERT_TRUE(in.good());
  const Target &t = **lookupTarget("h200");
  std::map<std::tuple<std::string, int64_t, int64_t>, std::vector<StepRun>> shapes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("spec", 0) == 0)
      continue;
    std::istringstream fields(line);
    std::string spec, algorithm;
    int64_t batch = 0, heads = 0, length = 0, dk = 0, dv = 0;
    StepRun run;
    fields >> spec >> batch >> heads >> length >> dk >> dv >> algorithm >> run.schedule.tileDv >>
        run.schedule.warps >> run.schedule.chunk >> run.schedule.stages >> run.us;
    ASSERT_FALSE(fields.fail()) << line;
    std::optional<Algorithm> a = parseAlgorithm(algorithm);
    ASSERT_TRUE(a) << line;
    run.schedule.algorithm = *a;
    shapes[{spec, batch, length}].push_back(run);
  }
  ASSERT_EQ(shapes.size(), 12u);
  double rhoSum = 0;
  size_t within5 = 0;
  for (const auto &[shape, runs] : shapes) {
    const auto &[spec, batch, length] = shape;
    LinearProblem p = stepSpecProblem(spec, batch, length);
    SolveOptions options;
    options.topK = 1;
    Result<ScheduleResult> planned = scheduleLinear(p, t, options);
    ASSERT_TRUE(planned) << planned.error();
    const Schedule &first = planned->candidates.front().schedule;
    double fastest = runs.front().us, mine = -1;
    std::vector<double> measured, modeled;
    for (const StepRun &run : runs) {
      fastest = std::min(fastest, run.us);
      const Schedule &r = run.schedule;
      if (r.algorithm == first.algorithm && r.tileDv == first.tileDv && r.warps == first.warps &&
          r.chunk == first.chunk && r.stages == first.stages)
        mine = run.us;
      // The model's order is judged over the step family (the chunk forms
      // measured here are one schedule each).
      if (r.algorithm != Algorithm::RecurrentStep)
        continue;
      measured.push_back(run.us);
      Schedule s = run.schedule;
      s.smemBytes = linearScheduleSmemBytes(p, s);
      modeled.push_back(evaluateLinear(p, t, s).seconds);
      std::printf("[step calibration] %s B=%lld T=%lld %s: measured %.1f us, modeled %.1f us (%s)\n",
                  spec.c_str(), static_cast<long long>(batch), static_cast<long long>(length),
                  s.str().c_str(), run.us,
                  modeled.back() * 1e6, evaluateLinear(p, t, s).binding.c_str());
    }
    ASSERT_GT(mine, 0) << first.str() << " was not measured for " << spec << " B=" << batch
                       << " T=" << length;
    double rho = judgeOrder(spec, modeled, measured).spearman;
    rhoSum += rho;
    std::printf("[step calibration] %s B=%lld T=%lld: first choice %s %.1f us, fastest %.1f "
                "(%.1f%%), rho %.2f\n",
                spec.c_str(), static_cast<long long>(batch), static_cast<long long>(length),
                first.str().c_str(), mine, fastest,
                (mine / fastest - 1) * 100, rho);
    EXPECT_LE(mine, 1.10 * fastest) << first.str() << " for " << spec << " B=" << batch
                                    << " T=" << length;
    within5 += mine <= 1.05 * fastest;
  }
  // The file's convention (expectAgreement): the first choice within 5% of
  // the fastest on at least 80% of the shapes. At one token of 64
  // sequences the model ties 128-column and 32-column slices (both bound by
  // HBM); the 32-column ones measured 2.2-5.2% faster.
  EXPECT_GE(within5, (shapes.size() * 4 + 4) / 5);
  EXPECT_GE(rhoSum / static_cast<double>(shapes.size()), 0.6);
}

TEST(Calibration, ModelOrdersTheSmallCacheTable) {
  // schedule/calibration/h100-small-cache.tsv: flash3_dsplit's candidates at
  // d = 512 and MLA 576/512, with Q resident where it fits and streamed
  // where it does not; the step wait was fitted to it.
  expectAgreement("h100-small-cache.tsv", "sm_90");
  const Target &t = **lookupTarget("sm_90");
  for (const ShapeAgreement &a : rankAgreement(t, loadTable("h100-small-cache.tsv"))) {
    EXPECT_EQ(a.candidates, 8u) << a.shape << ": a candidate was skipped";
    EXPECT_LE(a.firstChoiceLoss, 0.05) << a.shape;
  }
}
