//===- Recurrence.cpp - step-by-step definition of linear_attention ------===//
//
// One (batch, head) pair at a time, one step at a time. Kept free of any
// chunking or algebraic rewriting so that, in float64, it can serve as the
// definition the faster forms are measured against.
//
//===----------------------------------------------------------------------===//

#include "reference/Recurrence.h"

#include "reference/StepGate.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace flashgen::reference {

template <typename T>
LinearResult<T> stepwiseRecurrence(const LinearProblem &problem,
                                   const LinearInputs<T> &inputs) {
  if (problem.featureMap)
    return stepwiseRecurrence(withoutFeatureMap(problem), mapFeatures(problem, inputs));
  const LinearShape shape = linearShape(problem, inputs);
  const GateKind gate = problem.gate;
  const int64_t steps = shape.steps, dk = shape.keyDim, dv = shape.valueDim;
  const T scale = static_cast<T>(effectiveLinearScale(problem, dk));
  const T eps = static_cast<T>(problem.normalizerEps);

  LinearResult<T> result;
  result.out = Tensor<T>({shape.batch, shape.heads, steps, dv});
  result.finalState =
      shape.hasInitialState ? inputs.initial : zeroState<T>(gate, shape);
  if (gateHasNormalizer(gate))
    result.rowNorm = Tensor<T>({shape.batch, shape.heads, steps, 2});

  std::vector<T> decay(dk), qScaled(dk);
  for (int64_t bh = 0; bh < shape.batch * shape.heads; ++bh) {
    // The state is updated in place inside the result's final-state tensors.
    T *c = result.finalState.c.data() + bh * dk * dv;
    T *n = gateHasNormalizer(gate) ? result.finalState.n.data() + bh * dk
                                   : nullptr;
    T *m = gateHasStabilizer(gate) ? result.finalState.m.data() + bh : nullptr;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = bh * steps + t;
      const T *qRow = inputs.q.data() + row * dk;
      const T *kRow = inputs.k.data() + row * dk;
      const T *vRow = inputs.v.data() + row * dv;
      for (int64_t d = 0; d < dk; ++d)
        qScaled[d] = scale * qRow[d];

      // Per-key-dim decay of the old state and weight of the new outer
      // product for this step.
      const T inputWeight = stepGate(gate, inputs, row, dk, m, decay.data());

      for (int64_t d = 0; d < dk; ++d) {
        const T kWeighted = inputWeight * kRow[d];
        for (int64_t e = 0; e < dv; ++e)
          c[d * dv + e] = decay[d] * c[d * dv + e] + kWeighted * vRow[e];
        if (n)
          n[d] = decay[d] * n[d] + kWeighted;
      }

      T *oRow = result.out.data() + row * dv;
      for (int64_t e = 0; e < dv; ++e) {
        T sum = T(0);
        for (int64_t d = 0; d < dk; ++d)
          sum += qScaled[d] * c[d * dv + e];
        oRow[e] = sum;
      }
      if (n) {
        T qn = T(0);
        for (int64_t d = 0; d < dk; ++d)
          qn += qScaled[d] * n[d];
        // mlstm_exp's lower bound exp(-m) is 1 in unstabilised units (the
        // state is stored scaled by exp(-m)); mlstm_sig has no stabiliser.
        const T floor = m ? std::exp(-*m) : T(1);
        const T denominator = std::max(std::fabs(qn), floor) + eps;
        result.rowNorm[2 * row] = qn;
        result.rowNorm[2 * row + 1] = floor;
        for (int64_t e = 0; e < dv; ++e)
          oRow[e] /= denominator;
      }
    }
  }
  applyOutputMod(problem, result.out);
  return result;
}

LinearResult<double> referenceRecurrence(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs) {
  return stepwiseRecurrence<double>(problem, inputs);
}

template LinearResult<float>
stepwiseRecurrence<float>(const LinearProblem &, const LinearInputs<float> &);
template LinearResult<double>
stepwiseRecurrence<double>(const LinearProblem &, const LinearInputs<double> &);

} // namespace flashgen::reference
