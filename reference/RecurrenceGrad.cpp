//===- RecurrenceGrad.cpp - reverse mode through the step recurrence ------===//
//
// One (batch, head) pair at a time: the forward steps of Recurrence.cpp
// (the same stepGate) with every state kept, then the steps backwards. Per
// step t, with qs = scale q_t, h = C_t^T qs and, for the mLSTM kinds,
// den = max(|qs.n_t|, floor_t) + eps, o_t = h / den:
//
//   dh = do / den,  dden = -(do . h) / den^2  (do = dh without a normaliser)
//   dqs += C_t dh + dqn n_t,  dC_t += qs dh^T,  dn_t += dqn qs
//   C_t = diag(a) C_{t-1} + w k v^T, n_t = a n_{t-1} + w k:
//     da_d = sum_e dC_t[d,e] C_{t-1}[d,e] + dn_t[d] n_{t-1}[d]
//     dw = k^T dC_t v + k . dn_t,  dk = w (dC_t v + dn_t),  dv = w dC_t^T k
//     dC_{t-1} = diag(a) dC_t,  dn_{t-1} = a dn_t
//
// and the gate kinds' chains from (a, w) to their operands (StepGate.h).
//
//===----------------------------------------------------------------------===//

#include "reference/RecurrenceGrad.h"

#include "reference/ReferenceError.h"
#include "reference/StepGate.h"

#include <cmath>
#include <vector>

namespace flashgen::reference {

namespace {

void requireShape(const Tensor<double> &t, const Shape &want, const char *name) {
  if (!t.empty() && t.shape() != want)
    throw ReferenceError(std::string("linear_attention gradient: ") + name +
                         " has shape " + shapeToString(t.shape()) + " but " +
                         shapeToString(want) + " was expected");
}

} // namespace

LinearShape linearGradShape(const LinearProblem &problem,
                            const LinearInputs<double> &inputs,
                            const Tensor<double> &dout,
                            const RecurrentState<double> *dFinal) {
  const LinearShape shape = linearShape(problem, inputs);
  const Shape o{shape.batch, shape.heads, shape.steps, shape.valueDim};
  if (dout.shape() != o)
    throw ReferenceError("linear_attention gradient: dout has shape " +
                         shapeToString(dout.shape()) + " but o's " +
                         shapeToString(o) + " was expected");
  if (dFinal) {
    const RecurrentState<double> zero = zeroState<double>(problem.gate, shape);
    requireShape(dFinal->c, zero.c.shape(), "the final state's gradient c");
    requireShape(dFinal->n, zero.n.shape(), "the final state's gradient n");
    requireShape(dFinal->m, zero.m.shape(), "the final state's gradient m");
  }
  return shape;
}

LinearGradResult zeroLinearGrad(const LinearProblem &problem,
                                const LinearInputs<double> &inputs,
                                const LinearShape &shape) {
  LinearGradResult g;
  g.dq = Tensor<double>(inputs.q.shape());
  g.dk = Tensor<double>(inputs.k.shape());
  g.dv = Tensor<double>(inputs.v.shape());
  if (!inputs.logDecay.empty())
    g.dLogDecay = Tensor<double>(inputs.logDecay.shape());
  if (!inputs.inputGate.empty())
    g.dInputGate = Tensor<double>(inputs.inputGate.shape());
  if (!inputs.forgetGate.empty())
    g.dForgetGate = Tensor<double>(inputs.forgetGate.shape());
  g.dInitial = zeroState<double>(problem.gate, shape);
  return g;
}

LinearGradResult referenceRecurrenceGrad(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs,
                                         const Tensor<double> &dout,
                                         const RecurrentState<double> *dFinal) {
  const LinearShape shape = linearGradShape(problem, inputs, dout, dFinal);
  const GateKind gate = problem.gate;
  const int64_t B = shape.batch, H = shape.heads, T = shape.steps,
                dk = shape.keyDim, dv = shape.valueDim;
  const RecurrentState<double> zero = zeroState<double>(gate, shape);
  const RecurrentState<double> &initial =
      shape.hasInitialState ? inputs.initial : zero;
  const bool normalized = gateHasNormalizer(gate), stabilized = gateHasStabilizer(gate);
  const double scale = effectiveLinearScale(problem, dk);
  const double eps = problem.normalizerEps;

  LinearGradResult g = zeroLinearGrad(problem, inputs, shape);

  const int64_t cSize = dk * dv;
  // Every state of one (b, h): index t is the state before step t.
  std::vector<double> c((T + 1) * cSize), n(normalized ? (T + 1) * dk : 0),
      m(T + 1, 0.0), a(T * dk), w(T);
  std::vector<double> dC(cSize), dn(dk), dqs(dk), dh(dv);
  for (int64_t bh = 0; bh < B * H; ++bh) {
    std::copy(initial.c.data() + bh * cSize, initial.c.data() + (bh + 1) * cSize,
              c.begin());
    if (normalized)
      std::copy(initial.n.data() + bh * dk, initial.n.data() + (bh + 1) * dk, n.begin());
    m[0] = stabilized ? initial.m.data()[bh] : 0.0;
    // Forward, as Recurrence.cpp.
    for (int64_t t = 0; t < T; ++t) {
      const int64_t row = bh * T + t;
      double mNow = m[t];
      w[t] = stepGate(gate, inputs, row, dk, stabilized ? &mNow : nullptr, &a[t * dk]);
      m[t + 1] = mNow;
      const double *k = inputs.k.data() + row * dk, *v = inputs.v.data() + row * dv;
      for (int64_t d = 0; d < dk; ++d) {
        for (int64_t e = 0; e < dv; ++e)
          c[(t + 1) * cSize + d * dv + e] =
              a[t * dk + d] * c[t * cSize + d * dv + e] + w[t] * k[d] * v[e];
        if (normalized)
          n[(t + 1) * dk + d] = a[t * dk + d] * n[t * dk + d] + w[t] * k[d];
      }
    }

    // Backward from the final state's gradient.
    std::fill(dC.begin(), dC.end(), 0.0);
    std::fill(dn.begin(), dn.end(), 0.0);
    double dm = 0.0;
    if (dFinal) {
      if (!dFinal->c.empty())
        std::copy(dFinal->c.data() + bh * cSize, dFinal->c.data() + (bh + 1) * cSize,
                  dC.begin());
      if (normalized && !dFinal->n.empty())
        std::copy(dFinal->n.data() + bh * dk, dFinal->n.data() + (bh + 1) * dk, dn.begin());
      if (stabilized && !dFinal->m.empty())
        dm = dFinal->m.data()[bh];
    }
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t row = bh * T + t;
      const double *q = inputs.q.data() + row * dk, *k = inputs.k.data() + row * dk,
                   *v = inputs.v.data() + row * dv, *dO = dout.data() + row * dv;
      const double *cNow = &c[(t + 1) * cSize], *cPrev = &c[t * cSize];
      // o_t and its normaliser.
      std::vector<double> h(dv, 0.0);
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e)
          h[e] += scale * q[d] * cNow[d * dv + e];
      std::fill(dqs.begin(), dqs.end(), 0.0);
      double dqn = 0.0;
      if (normalized) {
        double qn = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          qn += scale * q[d] * n[(t + 1) * dk + d];
        const double floor = stabilized ? std::exp(-m[t + 1]) : 1.0;
        const double den = std::max(std::fabs(qn), floor) + eps;
        double dDen = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          dh[e] = dO[e] / den;
          dDen -= dO[e] * h[e] / (den * den);
        }
        if (!(std::fabs(qn) < floor)) // std::max's pick
          dqn = qn >= 0 ? dDen : -dDen;
        else if (stabilized)
          dm -= dDen * floor; // d exp(-m) / dm
        for (int64_t d = 0; d < dk; ++d) {
          dqs[d] += dqn * n[(t + 1) * dk + d];
          dn[d] += dqn * scale * q[d];
        }
      } else {
        std::copy(dO, dO + dv, dh.begin());
      }
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e) {
          dqs[d] += cNow[d * dv + e] * dh[e];
          dC[d * dv + e] += scale * q[d] * dh[e];
        }
      double *gq = g.dq.data() + row * dk, *gk = g.dk.data() + row * dk,
             *gv = g.dv.data() + row * dv;
      for (int64_t d = 0; d < dk; ++d)
        gq[d] = scale * dqs[d];

      // Through C_t = diag(a) C_{t-1} + w k v^T (and n_t).
      std::vector<double> da(dk, 0.0);
      double dw = 0.0;
      for (int64_t d = 0; d < dk; ++d) {
        double dcv = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          const double g_ = dC[d * dv + e];
          da[d] += g_ * cPrev[d * dv + e];
          dcv += g_ * v[e];
          gv[e] += w[t] * g_ * k[d];
        }
        if (normalized) {
          da[d] += dn[d] * n[t * dk + d];
          dcv += dn[d];
        }
        dw += k[d] * dcv;
        gk[d] = w[t] * dcv;
      }
      for (int64_t d = 0; d < dk; ++d) {
        for (int64_t e = 0; e < dv; ++e)
          dC[d * dv + e] *= a[t * dk + d];
        dn[d] *= a[t * dk + d];
      }

      // The gate kinds' chains (StepGate.h).
      switch (gate) {
      case GateKind::None:
        break;
      case GateKind::Decay: {
        double s = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          s += da[d] * a[t * dk + d];
        g.dLogDecay.data()[row] = s;
        break;
      }
      case GateKind::Vector:
        for (int64_t d = 0; d < dk; ++d)
          g.dLogDecay.data()[row * dk + d] = da[d] * a[t * dk + d];
        break;
      case GateKind::MlstmSig: {
        const double f = sigmoid(inputs.forgetGate.data()[row]),
                     i = sigmoid(inputs.inputGate.data()[row]);
        double s = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          s += da[d];
        g.dForgetGate.data()[row] = s * f * (1.0 - f);
        g.dInputGate.data()[row] = dw * i * (1.0 - i);
        break;
      }
      case GateKind::MlstmExp: {
        // log a = lf + m_{t-1} - m_t, log w = i - m_t,
        // m_t = max(lf + m_{t-1}, i), lf = log sigmoid(f).
        const double fPre = inputs.forgetGate.data()[row],
                     iPre = inputs.inputGate.data()[row];
        const double lf = logSigmoid(fPre);
        double dLogA = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          dLogA += da[d] * a[t * dk + d];
        const double dLogW = dw * w[t];
        double dlf = dLogA, dmPrev = dLogA, di = dLogW;
        const double dmNow = dm - dLogA - dLogW;
        if (!(lf + m[t] < iPre)) { // std::max's pick
          dlf += dmNow;
          dmPrev += dmNow;
        } else {
          di += dmNow;
        }
        g.dForgetGate.data()[row] = dlf * sigmoid(-fPre); // d log sigmoid(f) / df
        g.dInputGate.data()[row] = di;
        dm = dmPrev;
        break;
      }
      }
    }
    std::copy(dC.begin(), dC.end(), g.dInitial.c.data() + bh * cSize);
    if (normalized)
      std::copy(dn.begin(), dn.end(), g.dInitial.n.data() + bh * dk);
    if (stabilized)
      g.dInitial.m.data()[bh] = dm;
  }
  return g;
}

} // namespace flashgen::reference
