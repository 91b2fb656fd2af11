//===- ErrorScale.cpp - rounding-error scale of each output element ------===//
//
// Both scales are the op itself evaluated with every term replaced by its
// magnitude: for attention the softmax weights (already >= 0) times |v|;
// for the recurrences a second state built from |k| |v|^T with the same
// non-negative gate weights, run beside the real one because the
// normaliser D_t comes from the real state.
//
//===----------------------------------------------------------------------===//

#include "reference/ErrorScale.h"

#include "reference/StepGate.h"

#include <cmath>
#include <limits>
#include <vector>

namespace flashgen::reference {

Tensor<double> attentionErrorScale(const AttentionProblem &problem,
                                   const Tensor<double> &q,
                                   const Tensor<double> &k,
                                   const Tensor<double> &v) {
  // softmax(s) . |v| is attention with |v| as the values.
  Tensor<double> absV = v;
  for (double &value : absV.values())
    value = std::fabs(value);
  return referenceAttention(problem, q, k, absV).out;
}

Tensor<double> linearErrorScale(const LinearProblem &problem,
                                const LinearInputs<double> &inputs) {
  // The recurrence reads the mapped q and k (LinearProblem.h).
  if (problem.featureMap)
    return linearErrorScale(withoutFeatureMap(problem), mapFeatures(problem, inputs));
  const LinearShape shape = linearShape(problem, inputs);
  const GateKind gate = problem.gate;
  const int64_t steps = shape.steps, dk = shape.keyDim, dv = shape.valueDim;
  const double scale = effectiveLinearScale(problem, dk);

  Tensor<double> result({shape.batch, shape.heads, steps, dv});
  std::vector<double> c(dk * dv), n(dk), absC(dk * dv), absN(dk);
  std::vector<double> decay(dk), qScaled(dk), num(dv), absNum(dv);
  for (int64_t bh = 0; bh < shape.batch * shape.heads; ++bh) {
    double m = 0.0;
    std::fill(c.begin(), c.end(), 0.0);
    std::fill(n.begin(), n.end(), 0.0);
    std::fill(absC.begin(), absC.end(), 0.0);
    std::fill(absN.begin(), absN.end(), 0.0);
    if (shape.hasInitialState) {
      for (int64_t i = 0; i < dk * dv; ++i) {
        c[i] = inputs.initial.c.data()[bh * dk * dv + i];
        absC[i] = std::fabs(c[i]);
      }
      if (gateHasNormalizer(gate))
        for (int64_t d = 0; d < dk; ++d) {
          n[d] = inputs.initial.n.data()[bh * dk + d];
          absN[d] = std::fabs(n[d]);
        }
      if (gateHasStabilizer(gate))
        m = inputs.initial.m.data()[bh];
    }
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = bh * steps + t;
      const double *qRow = inputs.q.data() + row * dk;
      const double *kRow = inputs.k.data() + row * dk;
      const double *vRow = inputs.v.data() + row * dv;
      const double inputWeight =
          stepGate(gate, inputs, row, dk, &m, decay.data());
      for (int64_t d = 0; d < dk; ++d) {
        qScaled[d] = scale * qRow[d];
        const double kWeighted = inputWeight * kRow[d];
        for (int64_t e = 0; e < dv; ++e) {
          c[d * dv + e] = decay[d] * c[d * dv + e] + kWeighted * vRow[e];
          absC[d * dv + e] =
              decay[d] * absC[d * dv + e] + std::fabs(kWeighted * vRow[e]);
        }
        n[d] = decay[d] * n[d] + kWeighted;
        absN[d] = decay[d] * absN[d] + std::fabs(kWeighted);
      }
      double qn = 0.0, absQn = 0.0;
      for (int64_t d = 0; d < dk; ++d) {
        qn += qScaled[d] * n[d];
        absQn += std::fabs(qScaled[d]) * absN[d];
      }
      for (int64_t e = 0; e < dv; ++e) {
        num[e] = absNum[e] = 0.0;
        for (int64_t d = 0; d < dk; ++d) {
          num[e] += qScaled[d] * c[d * dv + e];
          absNum[e] += std::fabs(qScaled[d]) * absC[d * dv + e];
        }
      }
      double *out = result.data() + row * dv;
      if (!gateHasNormalizer(gate)) {
        for (int64_t e = 0; e < dv; ++e)
          out[e] = absNum[e];
        continue;
      }
      const double floor = gateHasStabilizer(gate) ? std::exp(-m) : 1.0;
      const double denominator =
          std::max(std::fabs(qn), floor) + problem.normalizerEps;
      // d(num/D) = d num / D - (num/D) dD / D, each bounded by its terms.
      for (int64_t e = 0; e < dv; ++e)
        out[e] =
            (absNum[e] + std::fabs(num[e] / denominator) * absQn) / denominator;
    }
  }
  return result;
}

template <typename T>
double scaledError(const Tensor<T> &actual, const Tensor<double> &expected,
                   const Tensor<double> &scale) {
  const double inf = std::numeric_limits<double>::infinity();
  if (actual.shape() != expected.shape() || scale.shape() != expected.shape())
    return inf;
  double worst = 0.0;
  for (int64_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    if (std::isnan(a))
      return inf;
    const double difference = std::fabs(a - expected[i]);
    if (difference == 0.0)
      continue;
    if (scale[i] == 0.0)
      return inf;
    worst = std::max(worst, difference / scale[i]);
  }
  return worst;
}

template double scaledError<float>(const Tensor<float> &,
                                   const Tensor<double> &,
                                   const Tensor<double> &);
template double scaledError<double>(const Tensor<double> &,
                                    const Tensor<double> &,
                                    const Tensor<double> &);

} // namespace flashgen::reference
