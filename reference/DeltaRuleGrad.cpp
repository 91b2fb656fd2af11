//===- DeltaRuleGrad.cpp - gradients of flash.delta_rule ------------------===//
//
// Per (batch, head), the states S_0..S_T forward (S_t = alpha_t S_{t-1} +
// beta_t k_t u_t^T with u_t = v_t - (alpha_t S_{t-1})^T k_t, §7.1), then
// backwards with G the gradient of the loss in S_t:
//
//   G      += q~_t do_t^T                      (o_t = S_t^T q~_t)
//   dq~_t   = S_t do_t
//   du      = beta_t G^T k_t     dv_t = du     dbeta_t = k_t^T G u_t
//   dk_t    = beta_t G u_t - S' du              (S' = alpha_t S_{t-1})
//   dS'     = G - k_t du^T
//   dg_t    = alpha_t <dS', S_{t-1}>            (gated)
//   G       = alpha_t dS'                      (the gradient in S_{t-1})
//
// and through the l2 normalisation of q and k where the op asks for it
// (x^ = x / r, r = sqrt(x.x + eps): dx = dx^ / r - x (x . dx^) / r^3).
//
//===----------------------------------------------------------------------===//

#include "reference/DeltaRuleGrad.h"

#include "reference/ReferenceError.h"

#include <cmath>
#include <vector>

namespace flashgen::reference {

namespace {

/// x / r (times `scale`) with r = sqrt(x.x + eps) where the op normalises,
/// else 1; returns r.
double normalized(bool l2, double scale, const double *x, int64_t n, double *out) {
  double r = 1.0;
  if (l2) {
    double xx = 0.0;
    for (int64_t d = 0; d < n; ++d)
      xx += x[d] * x[d];
    r = std::sqrt(xx + kDeltaL2NormEps);
  }
  for (int64_t d = 0; d < n; ++d)
    out[d] = scale * x[d] / r;
  return r;
}

/// The gradient in x of out = scale x / r given dout (r as `normalized`
/// returned; l2 false: r = 1 and no normalisation).
void unnormalizedGrad(bool l2, double scale, const double *x, double r, const double *dout,
                      int64_t n, double *dx) {
  double xd = 0.0;
  if (l2)
    for (int64_t d = 0; d < n; ++d)
      xd += x[d] * dout[d];
  for (int64_t d = 0; d < n; ++d)
    dx[d] = scale * (dout[d] / r - (l2 ? x[d] * xd / (r * r * r) : 0.0));
}

} // namespace

DeltaGradResult referenceDeltaRuleGrad(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs,
                                       const Tensor<double> &dout,
                                       const Tensor<double> *dFinal) {
  if (auto error = validateDelta(problem, inputs.q.shape(), inputs.k.shape(),
                                 inputs.v.shape(), inputs.beta.shape(),
                                 inputs.logDecay.shape(), inputs.initial.shape()))
    throw ReferenceError(*error);
  const int64_t batch = inputs.q.dim(0), heads = inputs.q.dim(1), steps = inputs.q.dim(2),
                dk = inputs.q.dim(3), dv = inputs.v.dim(3);
  const Shape outShape = {batch, heads, steps, dv}, stateShape = {batch, heads, dk, dv};
  if (dout.shape() != outShape)
    throw ReferenceError("delta_rule gradient: dout has shape " + shapeToString(dout.shape()) +
                         ", expected o's " + shapeToString(outShape));
  if (dFinal && dFinal->shape() != stateShape)
    throw ReferenceError("delta_rule gradient: the final state's gradient has shape " +
                         shapeToString(dFinal->shape()) + ", expected " +
                         shapeToString(stateShape));
  const double scale = deltaScale(problem, dk);
  const bool l2 = problem.l2NormQK;
  DeltaGradResult g;
  g.dq = Tensor<double>(inputs.q.shape());
  g.dk = Tensor<double>(inputs.k.shape());
  g.dv = Tensor<double>(inputs.v.shape());
  g.dbeta = Tensor<double>(inputs.beta.shape());
  if (problem.gated)
    g.dLogDecay = Tensor<double>(inputs.logDecay.shape());
  g.dInitial = Tensor<double>(stateShape);

  const int64_t S = dk * dv;
  // Per step: S_t (t = 0..T), q~_t, k^_t, their norms, u_t.
  std::vector<double> states((steps + 1) * S), q(steps * dk), k(steps * dk), u(steps * dv),
      qNorm(steps), kNorm(steps), grad(S), prime(S), dS(S), du(dv), a(dk), b(dk);
  for (int64_t bh = 0; bh < batch * heads; ++bh) {
    if (!inputs.initial.empty())
      std::copy(inputs.initial.data() + bh * S, inputs.initial.data() + (bh + 1) * S,
                states.begin());
    else
      std::fill(states.begin(), states.begin() + S, 0.0);
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = bh * steps + t;
      qNorm[t] = normalized(l2, scale, inputs.q.data() + row * dk, dk, &q[t * dk]);
      kNorm[t] = normalized(l2, 1.0, inputs.k.data() + row * dk, dk, &k[t * dk]);
      const double alpha = problem.gated ? std::exp(inputs.logDecay[row]) : 1.0;
      const double beta = inputs.beta[row];
      const double *prev = &states[t * S];
      double *next = &states[(t + 1) * S];
      for (int64_t e = 0; e < dv; ++e) {
        double kS = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          kS += k[t * dk + d] * alpha * prev[d * dv + e];
        u[t * dv + e] = inputs.v[row * dv + e] - kS;
      }
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e)
          next[d * dv + e] = alpha * prev[d * dv + e] + beta * k[t * dk + d] * u[t * dv + e];
    }

    if (dFinal)
      std::copy(dFinal->data() + bh * S, dFinal->data() + (bh + 1) * S, grad.begin());
    else
      std::fill(grad.begin(), grad.end(), 0.0);
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t row = bh * steps + t;
      const double alpha = problem.gated ? std::exp(inputs.logDecay[row]) : 1.0;
      const double beta = inputs.beta[row];
      const double *prev = &states[t * S], *cur = &states[(t + 1) * S];
      const double *dO = dout.data() + row * dv, *kt = &k[t * dk], *ut = &u[t * dv];
      // o_t = S_t^T q~_t.
      for (int64_t d = 0; d < dk; ++d) {
        double sum = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          grad[d * dv + e] += q[t * dk + d] * dO[e];
          sum += cur[d * dv + e] * dO[e];
        }
        a[d] = sum; // dq~_t
      }
      unnormalizedGrad(l2, scale, inputs.q.data() + row * dk, qNorm[t], a.data(), dk,
                       g.dq.data() + row * dk);
      // S_t = S' + beta k u^T, u = v - S'^T k.
      double dbeta = 0.0;
      for (int64_t e = 0; e < dv; ++e) {
        double gk = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          gk += grad[d * dv + e] * kt[d];
        du[e] = beta * gk;
        dbeta += gk * ut[e];
        g.dv[row * dv + e] = du[e];
      }
      g.dbeta[row] = dbeta;
      for (int64_t d = 0; d < dk; ++d) {
        double gu = 0.0, sdu = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          prime[d * dv + e] = alpha * prev[d * dv + e];
          gu += grad[d * dv + e] * ut[e];
          sdu += prime[d * dv + e] * du[e];
        }
        b[d] = beta * gu - sdu; // dk^_t
      }
      unnormalizedGrad(l2, 1.0, inputs.k.data() + row * dk, kNorm[t], b.data(), dk,
                       g.dk.data() + row * dk);
      double dalpha = 0.0;
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e) {
          dS[d * dv + e] = grad[d * dv + e] - kt[d] * du[e];
          dalpha += dS[d * dv + e] * prev[d * dv + e];
        }
      if (problem.gated)
        g.dLogDecay[row] = alpha * dalpha;
      for (int64_t i = 0; i < S; ++i)
        grad[i] = alpha * dS[i];
    }
    std::copy(grad.begin(), grad.end(), g.dInitial.data() + bh * S);
  }
  return g;
}

} // namespace flashgen::reference
