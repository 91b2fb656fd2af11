//===- ChunkwiseGrad.cpp - the recurrences' backward, chunk by chunk ------===//
//
// ChunkwiseGrad.h says the form. Per (batch, head): the values augmented
// with a column of ones where the gate kind has a normaliser (its n is that
// column of the state), the boundary states forward, the rows' h and q.n
// from the chunk formula, their gradients from dout, then the chunks
// backwards.
//
//===----------------------------------------------------------------------===//

#include "reference/ChunkwiseGrad.h"

#include "reference/GateMath.h"
#include "reference/ReferenceError.h"
#include "reference/StepGate.h"

#include <cmath>
#include <vector>

namespace flashgen::reference {

LinearGradResult chunkwiseRecurrenceGrad(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs,
                                         const Tensor<double> &dout,
                                         const RecurrentState<double> *dFinal,
                                         int64_t chunkSize) {
  const GateKind gate = problem.gate;
  if (chunkSize < 1)
    throw ReferenceError("chunkwise gradient: chunk size " +
                         std::to_string(chunkSize) + " must be >= 1");
  const LinearShape shape = linearGradShape(problem, inputs, dout, dFinal);
  const int64_t BH = shape.batch * shape.heads, T = shape.steps,
                dk = shape.keyDim, dv = shape.valueDim;
  const bool normalized = gateHasNormalizer(gate), stabilized = gateHasStabilizer(gate);
  const int64_t dw = dv + (normalized ? 1 : 0); // augmented value width
  const double scale = effectiveLinearScale(problem, dk), eps = problem.normalizerEps;
  const int64_t chunks = (T + chunkSize - 1) / chunkSize;
  const RecurrentState<double> zero = zeroState<double>(gate, shape);
  const RecurrentState<double> &initial = shape.hasInitialState ? inputs.initial : zero;
  LinearGradResult g = zeroLinearGrad(problem, inputs, shape);

  std::vector<double> logA(T * dk), w(T), vAug(T * dw), hAug(T * dw), dhAug(T * dw);
  // mlstm_exp runs unstabilised (ChunkwiseGrad.h): its stabiliser m_t and
  // the gradient reaching each m_t (through eps exp(m_t) and the stored
  // states' exp(-m) scale).
  std::vector<double> m(T + 1), dm(T + 1);
  std::vector<double> states((chunks + 1) * dk * dw);
  for (int64_t bh = 0; bh < BH; ++bh) {
    auto S = [&](int64_t c) { return &states[c * dk * dw]; };
    // Gates and augmented values.
    std::vector<double> decay(dk);
    m[0] = stabilized ? initial.m.data()[bh] : 0.0;
    std::fill(dm.begin(), dm.end(), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t row = bh * T + t;
      if (stabilized) {
        // a = sigmoid(f), w = exp(i); m_t as the definition's max chain.
        const double lf = logSigmoid(inputs.forgetGate.data()[row]),
                     i = inputs.inputGate.data()[row];
        std::fill(decay.begin(), decay.end(), std::exp(lf));
        w[t] = std::exp(i);
        m[t + 1] = std::max(lf + m[t], i);
      } else {
        w[t] = stepGate<double>(gate, inputs, row, dk, nullptr, decay.data());
      }
      for (int64_t d = 0; d < dk; ++d)
        logA[t * dk + d] = std::log(decay[d]);
      for (int64_t e = 0; e < dv; ++e)
        vAug[t * dw + e] = inputs.v.data()[row * dv + e];
      if (normalized)
        vAug[t * dw + dv] = 1.0;
    }
    // 1. Boundary states, forward.
    // mlstm_exp's stored initial state is exp(-m_0) times the unstabilised.
    const double initialScale = stabilized ? std::exp(m[0]) : 1.0;
    for (int64_t d = 0; d < dk; ++d) {
      for (int64_t e = 0; e < dv; ++e)
        S(0)[d * dw + e] = initialScale * initial.c.data()[(bh * dk + d) * dv + e];
      if (normalized)
        S(0)[d * dw + dv] = initialScale * initial.n.data()[bh * dk + d];
    }
    for (int64_t c = 0; c < chunks; ++c) {
      std::copy(S(c), S(c) + dk * dw, S(c + 1));
      for (int64_t t = c * chunkSize; t < std::min(T, (c + 1) * chunkSize); ++t) {
        const double *k = inputs.k.data() + (bh * T + t) * dk;
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t e = 0; e < dw; ++e)
            S(c + 1)[d * dw + e] = std::exp(logA[t * dk + d]) * S(c + 1)[d * dw + e] +
                                   w[t] * k[d] * vAug[t * dw + e];
      }
    }
    // The chunk's hatted rows: q^_t = s q_t e^{B_t}, k^_j = w_j k_j e^{-B_j}.
    auto hatted = [&](int64_t c, std::vector<double> &qh, std::vector<double> &kh,
                      std::vector<double> &cum) {
      const int64_t t0 = c * chunkSize, L = std::min(T, t0 + chunkSize) - t0;
      qh.assign(L * dk, 0.0);
      kh.assign(L * dk, 0.0);
      cum.assign(L * dk, 0.0);
      for (int64_t l = 0; l < L; ++l) {
        const int64_t row = bh * T + t0 + l;
        for (int64_t d = 0; d < dk; ++d) {
          cum[l * dk + d] = (l ? cum[(l - 1) * dk + d] : 0.0) + logA[(t0 + l) * dk + d];
          qh[l * dk + d] = scale * inputs.q.data()[row * dk + d] * std::exp(cum[l * dk + d]);
          kh[l * dk + d] = w[t0 + l] * inputs.k.data()[row * dk + d] * std::exp(-cum[l * dk + d]);
        }
      }
      return L;
    };
    // 2. Rows: h' = S0^T q^_t + sum_{j<=t} (q^_t . k^_j) v'_j, then dh'.
    std::vector<double> qh, kh, cum;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * chunkSize, L = hatted(c, qh, kh, cum);
      for (int64_t l = 0; l < L; ++l) {
        double *h = &hAug[(t0 + l) * dw];
        std::fill(h, h + dw, 0.0);
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t e = 0; e < dw; ++e)
            h[e] += qh[l * dk + d] * S(c)[d * dw + e];
        for (int64_t j = 0; j <= l; ++j) {
          double score = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            score += qh[l * dk + d] * kh[j * dk + d];
          for (int64_t e = 0; e < dw; ++e)
            h[e] += score * vAug[(t0 + j) * dw + e];
        }
        const double *dO = dout.data() + (bh * T + t0 + l) * dv;
        double *dh = &dhAug[(t0 + l) * dw];
        if (!normalized) {
          std::copy(dO, dO + dv, dh);
          continue;
        }
        // Unstabilised, mlstm_exp's max(|q.n|, exp(-m)) + eps is
        // exp(-m) (max(|q.n~|, 1) + eps exp(m)).
        const double epsTerm = stabilized ? eps * std::exp(m[t0 + l + 1]) : eps;
        const double qn = h[dv], den = std::max(std::fabs(qn), 1.0) + epsTerm;
        double dDen = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          dh[e] = dO[e] / den;
          dDen -= dO[e] * h[e] / (den * den);
        }
        dh[dv] = std::fabs(qn) < 1.0 ? 0.0 : (qn >= 0 ? dDen : -dDen);
        if (stabilized)
          dm[t0 + l + 1] += dDen * epsTerm;
      }
    }
    // 3. Chunks backwards: dS_end of the last is the final state's gradient.
    std::vector<double> dEnd(dk * dw, 0.0), dS0(dk * dw), dqh, dkh, dB;
    if (dFinal) {
      for (int64_t d = 0; d < dk; ++d) {
        for (int64_t e = 0; e < dv && !dFinal->c.empty(); ++e)
          dEnd[d * dw + e] = dFinal->c.data()[(bh * dk + d) * dv + e];
        if (normalized && !dFinal->n.empty())
          dEnd[d * dw + dv] = dFinal->n.data()[bh * dk + d];
      }
      if (stabilized) {
        // The stored final state is exp(-m_T) times the unstabilised one.
        const double scaleT = std::exp(-m[T]);
        for (int64_t x = 0; x < dk * dw; ++x) {
          dm[T] -= dEnd[x] * scaleT * S(chunks)[x];
          dEnd[x] *= scaleT;
        }
        if (!dFinal->m.empty())
          dm[T] += dFinal->m.data()[bh];
      }
    }
    for (int64_t c = chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * chunkSize, L = hatted(c, qh, kh, cum);
      std::vector<double> dEndScaled(dk * dw);
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dw; ++e)
          dEndScaled[d * dw + e] = std::exp(cum[(L - 1) * dk + d]) * dEnd[d * dw + e];
      dqh.assign(L * dk, 0.0);
      dkh.assign(L * dk, 0.0);
      dB.assign(L * dk, 0.0);
      dS0 = dEndScaled;
      for (int64_t l = 0; l < L; ++l) {
        const double *dh = &dhAug[(t0 + l) * dw];
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t e = 0; e < dw; ++e) {
            dqh[l * dk + d] += S(c)[d * dw + e] * dh[e];
            dS0[d * dw + e] += qh[l * dk + d] * dh[e];
          }
        for (int64_t j = 0; j <= l; ++j) {
          double dhv = 0.0, score = 0.0;
          for (int64_t e = 0; e < dw; ++e)
            dhv += dh[e] * vAug[(t0 + j) * dw + e];
          for (int64_t d = 0; d < dk; ++d) {
            dqh[l * dk + d] += dhv * kh[j * dk + d];
            dkh[j * dk + d] += dhv * qh[l * dk + d];
            score += qh[l * dk + d] * kh[j * dk + d];
          }
          double *gv = g.dv.data() + (bh * T + t0 + j) * dv;
          for (int64_t e = 0; e < dv; ++e)
            gv[e] += score * dh[e];
        }
      }
      for (int64_t j = 0; j < L; ++j) {
        double *gv = g.dv.data() + (bh * T + t0 + j) * dv;
        for (int64_t d = 0; d < dk; ++d) {
          double dEndV = 0.0;
          for (int64_t e = 0; e < dw; ++e)
            dEndV += dEndScaled[d * dw + e] * vAug[(t0 + j) * dw + e];
          dkh[j * dk + d] += dEndV;
          for (int64_t e = 0; e < dv; ++e)
            gv[e] += dEndScaled[d * dw + e] * kh[j * dk + d];
        }
      }
      // Back through the hats, and the log decays' cumulative sums.
      double dwSum = 0.0;
      for (int64_t l = 0; l < L; ++l) {
        const int64_t row = bh * T + t0 + l;
        dwSum = 0.0;
        for (int64_t d = 0; d < dk; ++d) {
          const double eB = std::exp(cum[l * dk + d]);
          g.dq.data()[row * dk + d] = scale * dqh[l * dk + d] * eB;
          g.dk.data()[row * dk + d] = w[t0 + l] * dkh[l * dk + d] / eB;
          dwSum += dkh[l * dk + d] * inputs.k.data()[row * dk + d] / eB;
          dB[l * dk + d] = dqh[l * dk + d] * qh[l * dk + d] - dkh[l * dk + d] * kh[l * dk + d];
        }
        if (gate == GateKind::MlstmSig) {
          const double i = sigmoid(inputs.inputGate.data()[row]);
          g.dInputGate.data()[row] = dwSum * i * (1.0 - i);
        } else if (stabilized) {
          g.dInputGate.data()[row] = dwSum * w[t0 + l]; // w = exp(i)
        }
      }
      for (int64_t d = 0; d < dk; ++d) {
        double sEnd = 0.0;
        for (int64_t e = 0; e < dw; ++e)
          sEnd += dEnd[d * dw + e] * S(c + 1)[d * dw + e];
        dB[(L - 1) * dk + d] += sEnd;
      }
      std::vector<double> dLogA(dk, 0.0);
      for (int64_t l = L - 1; l >= 0; --l) {
        const int64_t row = bh * T + t0 + l;
        double sum = 0.0;
        for (int64_t d = 0; d < dk; ++d) {
          dLogA[d] += dB[l * dk + d];
          sum += dLogA[d];
        }
        switch (gate) {
        case GateKind::Decay:
          g.dLogDecay.data()[row] = sum;
          break;
        case GateKind::Vector:
          for (int64_t d = 0; d < dk; ++d)
            g.dLogDecay.data()[row * dk + d] = dLogA[d];
          break;
        case GateKind::MlstmSig:
        case GateKind::MlstmExp: // a = sigmoid(f) for both
          g.dForgetGate.data()[row] = sum * (1.0 - sigmoid(inputs.forgetGate.data()[row]));
          break;
        default:
          break;
        }
      }
      dEnd = dS0;
    }
    if (stabilized) {
      // The initial state's exp(m_0) scale, then the max chain backwards:
      // m_t = max(lf_t + m_{t-1}, i_t) (the first on a tie, as std::max).
      for (int64_t x = 0; x < dk * dw; ++x)
        dm[0] += dEnd[x] * S(0)[x];
      for (int64_t t = T; t >= 1; --t) {
        const int64_t row = bh * T + t - 1;
        const double f = inputs.forgetGate.data()[row], i = inputs.inputGate.data()[row];
        if (!(logSigmoid(f) + m[t - 1] < i)) {
          g.dForgetGate.data()[row] += dm[t] * (1.0 - sigmoid(f));
          dm[t - 1] += dm[t];
        } else {
          g.dInputGate.data()[row] += dm[t];
        }
      }
      g.dInitial.m.data()[bh] = dm[0];
    }
    for (int64_t d = 0; d < dk; ++d) {
      for (int64_t e = 0; e < dv; ++e)
        g.dInitial.c.data()[(bh * dk + d) * dv + e] = initialScale * dEnd[d * dw + e];
      if (normalized)
        g.dInitial.n.data()[bh * dk + d] = initialScale * dEnd[d * dw + dv];
    }
  }
  return g;
}

} // namespace flashgen::reference
