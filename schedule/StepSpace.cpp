//===- StepSpace.cpp - the schedule space of a recurrent step kernel ------===//

#include "schedule/StepSpace.h"

#include "schedule/Checker.h"
#include "schedule/StepCost.h"
#include "schedule/Units.h"

using namespace flashgen::schedule;

StepShape flashgen::schedule::stepShapeOf(const LinearProblem &p,
                                          const Schedule &s) {
  StepShape shape;
  shape.keyDim = p.keyDim;
  shape.tileDv = s.tileDv;
  shape.warps = s.warps;
  shape.vectorGate = p.gate == GateKind::Vector;
  shape.normalizer =
      p.gate == GateKind::MlstmExp || p.gate == GateKind::MlstmSig;
  shape.delta = p.isDelta();
  shape.outputMod = p.hasOutputMod;
  return shape;
}

std::string flashgen::schedule::stepPrecondition(const LinearProblem &p,
                                                 const Target &) {
  if (p.elementBytes != 2)
    return "the step kernels read 16-bit q, k, v (bf16, f16); this op has " +
           std::to_string(p.elementBytes) + "-byte elements";
  if (p.gate != GateKind::None && p.gateElementBytes != 4)
    return "the step kernels read f32 gates; this op's have " +
           std::to_string(p.gateElementBytes) + "-byte elements";
  if (p.valueDim % 8 != 0)
    return "Dv = " + std::to_string(p.valueDim) +
           " must be a multiple of 8 (value tiles of 8 to 128 columns)";
  return "";
}

Schedule flashgen::schedule::defaultStepSchedule(const LinearProblem &p) {
  Schedule s;
  s.algorithm = Algorithm::RecurrentStep;
  s.warps = 4;
  s.tileDv = 64;
  while (s.tileDv > 8 && (p.valueDim % s.tileDv != 0 ||
                          !stepLayoutViolation(stepShapeOf(p, s)).empty()))
    s.tileDv /= 2;
  s.smemBytes = stepSmemPlan(stepShapeOf(p, s)).total;
  return s;
}

Result<ScheduleSpace> flashgen::schedule::stepSpace(const LinearProblem &p,
                                                    const Target &t) {
  if (std::string why = validate(p); !why.empty())
    return Result<ScheduleSpace>::failure(why);
  if (std::string why = stepPrecondition(p, t); !why.empty())
    return Result<ScheduleSpace>::failure(why);
  ScheduleSpace out;
  out.algorithm = Algorithm::RecurrentStep;
  SearchSpace &s = out.space;
  std::vector<int64_t> tileDv;
  for (int64_t c = 128; c >= 8; c /= 2)
    if (p.valueDim % c == 0)
      tileDv.push_back(c);
  // No 8-warp CTAs: on the H200 (schedule/calibration/h200-step.tsv) they
  // took 1.2-1.6x as long as 1 to 4 warps on the same slice at every
  // width of 32 columns and more, in every spec and batch measured.
  s.dims = {{"tile_dv", tileDv, {}}, {"warps", {4, 2, 1}, {}}};
  enum : size_t { kTileDv, kWarps };

  out.toSchedule = [p](const Point &x) {
    Schedule sch;
    sch.algorithm = Algorithm::RecurrentStep;
    sch.tileDv = x[kTileDv];
    sch.warps = x[kWarps];
    sch.smemBytes = stepSmemPlan(stepShapeOf(p, sch)).total;
    return sch;
  };
  auto toSchedule = out.toSchedule;
  std::string dk = std::to_string(p.keyDim);
  s.constraints.push_back(flagRule(
      "state layout", {kTileDv, kWarps},
      [p, toSchedule](const Point &x) {
        return !stepLayoutViolation(stepShapeOf(p, toSchedule(x))).empty();
      },
      "the warps' rows must split Dk = " + dk +
          " with at most " + std::to_string(stepMaxStatePerThread(p.hasOutputMod)) +
          " state values per thread"));

  s.constraints.push_back(sharedMemoryRule(
      t, {kTileDv, kWarps}, [toSchedule](const Point &x) { return toSchedule(x).smemBytes; }));
  s.constraints.push_back(registersRule(t, {kTileDv, kWarps}, [p, toSchedule](const Point &x) {
    return stepRegisterEstimate(stepShapeOf(p, toSchedule(x)));
  }));

  s.objective = [p, t, toSchedule](const Point &x) {
    Evaluation ev = evaluateStep(p, t, toSchedule(x));
    return objectiveOf(ev.seconds, ev.globalBytes);
  };
  return out;
}
