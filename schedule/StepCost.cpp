//===- StepCost.cpp - cost model of the recurrent step kernels ------------===//

#include "schedule/StepCost.h"

#include "schedule/StepLayout.h"
#include "schedule/StepSpace.h"
#include "schedule/Units.h"

using namespace flashgen::schedule;

Evaluation flashgen::schedule::evaluateStep(const LinearProblem &p,
                                            const Target &t,
                                            const Schedule &s) {
  const StepShape shape = stepShapeOf(p, s);
  const int64_t e = p.elementBytes, T = p.length, Dk = p.keyDim,
                Dv = p.valueDim;
  const int64_t heads = p.batch * p.heads;
  const int64_t slices = ceilDiv(Dv, std::max<int64_t>(s.tileDv, 1));
  const int64_t state = p.stateBytes();
  const int64_t sliceBytes = Dk * s.tileDv * 4;
  // Per token: what every slice's CTA reads (q, k with what a feature map
  // reads beside them, gates, beta), and the
  // value and output rows each slice reads and writes once.
  const int64_t shared = 2 * Dk * (e + p.featureMapReadBytes) + p.gateBytesPerStep();
  const int64_t own = Dv * (2 * e + p.outputModReadBytes);
  const int64_t stateIn = p.hasInitialState ? state : 0;
  const int64_t stateOut = p.returnsFinalState ? state : 0;

  KernelCost k;
  k.name = "step";
  k.ctas = heads * slices;
  k.warps = s.warps;
  k.smemBytes = stepSmemPlan(shape).total;
  k.registersPerThread = stepRegisterEstimate(shape);
  k.pipelined = false;
  k.globalBytes = heads * (slices * T * shared + T * own + stateIn + stateOut);
  k.hbmBytes = heads * (T * (shared + own) + stateIn + stateOut);
  const double vectors = p.isDelta() ? 2.0 : 1.0;
  k.aluOps = static_cast<double>(heads) * T * Dk * Dv * (vectors + 1.0);
  if (p.gate == GateKind::Vector || p.gate == GateKind::MlstmExp ||
      p.gate == GateKind::MlstmSig || p.gate == GateKind::Decay)
    k.sfuOps = static_cast<double>(heads) * slices * T *
               (p.gate == GateKind::Vector ? Dk : 2);
  k.smemTraffic = static_cast<double>(k.ctas) * T *
                  (vectors * Dk * 4 + 32.0 * s.warps * 4 + Dk * 4);
  k.steps = static_cast<double>(k.ctas) * T * 3;
  k.chainSteps = static_cast<double>(T);
  k.chainStepCycles = kStepTokenCycles;
  // The slice's loads and stores: tile_dv f32 columns of each of the Dk
  // rows, part of a line below 32 columns.
  const double passes = (p.hasInitialState ? 1.0 : 0.0) + (p.returnsFinalState ? 1.0 : 0.0);
  k.linesTouched = static_cast<double>(k.ctas) * passes * f32RowLines(Dk, s.tileDv);
  k.bytesInFlightPerCta =
      static_cast<double>(p.hasInitialState ? sliceBytes : Dk * e * 2);

  Evaluation result;
  result.kernels.push_back(k);
  finishEvaluation(t, result);
  return result;
}
