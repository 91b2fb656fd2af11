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

#include <algorithm>
#include <cmath>
#include <string>
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

/// The operands checked and the gradients allocated (zero), for both forms.
DeltaGradResult gradientsFor(const DeltaProblem &problem, const DeltaInputs<double> &inputs,
                             const Tensor<double> &dout, const Tensor<double> *dFinal) {
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
  DeltaGradResult g;
  g.dq = Tensor<double>(inputs.q.shape());
  g.dk = Tensor<double>(inputs.k.shape());
  g.dv = Tensor<double>(inputs.v.shape());
  g.dbeta = Tensor<double>(inputs.beta.shape());
  if (problem.gated)
    g.dLogDecay = Tensor<double>(inputs.logDecay.shape());
  g.dInitial = Tensor<double>(stateShape);
  return g;
}

} // namespace

DeltaGradResult referenceDeltaRuleGrad(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs,
                                       const Tensor<double> &dout,
                                       const Tensor<double> *dFinal) {
  DeltaGradResult g = gradientsFor(problem, inputs, dout, dFinal);
  const int64_t batch = inputs.q.dim(0), heads = inputs.q.dim(1), steps = inputs.q.dim(2),
                dk = inputs.q.dim(3), dv = inputs.v.dim(3);
  const double scale = deltaScale(problem, dk);
  const bool l2 = problem.l2NormQK;

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

DeltaGradResult chunkwiseDeltaRuleGrad(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs,
                                       const Tensor<double> &dout, const Tensor<double> *dFinal,
                                       int64_t chunk) {
  if (chunk < 1)
    throw ReferenceError("delta_rule gradient: chunk size " + std::to_string(chunk) +
                         " must be at least 1");
  DeltaGradResult g = gradientsFor(problem, inputs, dout, dFinal);
  const int64_t batch = inputs.q.dim(0), heads = inputs.q.dim(1), steps = inputs.q.dim(2),
                dk = inputs.q.dim(3), dv = inputs.v.dim(3);
  const double scale = deltaScale(problem, dk);
  const bool l2 = problem.l2NormQK;
  const int64_t S = dk * dv, c = std::min(chunk, std::max<int64_t>(steps, 1));
  const int64_t chunks = (steps + c - 1) / c;
  // Per step: q~, k^, their norms, the chunk-local cumulative log-decay
  // gamma, U and W of the chunk's WY factors and U~ = U - W S; per chunk:
  // A (c x c, strictly lower), the state before it and the gradient of
  // the state after it.
  std::vector<double> q(steps * dk), k(steps * dk), qNorm(steps), kNorm(steps), gamma(steps),
      u(steps * dv), w(steps * dk), ut(steps * dv), dut(steps * dv), a(chunks * c * c),
      before(chunks * S), after(chunks * S), state(S), grad(S), next(S);
  // One chunk's row gradients: dq~, dk^, dW, and the WY system's
  // right-hand-side gradients dB_U = (I + A)^-T dU~, dB_W = (I + A)^-T dW.
  std::vector<double> dq(c * dk), dkh(c * dk), dw(c * dk), dbu(c * dv), dbw(c * dk),
      dgamma(c), dbeta(c);
  for (int64_t bh = 0; bh < batch * heads; ++bh) {
    const int64_t row0 = bh * steps;
    auto chunkRows = [&](int64_t i) { return std::min(c, steps - i * c); };
    // delta_prepare's work, every chunk apart: the prepared rows, gamma,
    // A_rs = beta_r exp(gamma_r - gamma_s) k^_r . k^_s (s < r), and
    // (I + A) [U | W] = diag(beta) [V | diag(Gamma) K].
    for (int64_t i = 0; i < chunks; ++i) {
      const int64_t t0 = i * c, len = chunkRows(i);
      double cumulative = 0.0;
      for (int64_t r = 0; r < len; ++r) {
        const int64_t t = t0 + r, row = row0 + t;
        qNorm[t] = normalized(l2, scale, inputs.q.data() + row * dk, dk, &q[t * dk]);
        kNorm[t] = normalized(l2, 1.0, inputs.k.data() + row * dk, dk, &k[t * dk]);
        if (problem.gated)
          cumulative += inputs.logDecay[row];
        gamma[t] = cumulative;
      }
      double *ai = &a[i * c * c];
      for (int64_t r = 0; r < len; ++r) {
        const int64_t t = t0 + r;
        const double beta = inputs.beta[row0 + t], gammaR = std::exp(gamma[t]);
        for (int64_t e = 0; e < dv; ++e)
          u[t * dv + e] = beta * inputs.v[(row0 + t) * dv + e];
        for (int64_t d = 0; d < dk; ++d)
          w[t * dk + d] = beta * gammaR * k[t * dk + d];
        for (int64_t s2 = 0; s2 < r; ++s2) {
          double kk = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            kk += k[t * dk + d] * k[(t0 + s2) * dk + d];
          const double arc = beta * std::exp(gamma[t] - gamma[t0 + s2]) * kk;
          ai[r * c + s2] = arc;
          for (int64_t e = 0; e < dv; ++e)
            u[t * dv + e] -= arc * u[(t0 + s2) * dv + e];
          for (int64_t d = 0; d < dk; ++d)
            w[t * dk + d] -= arc * w[(t0 + s2) * dk + d];
        }
      }
    }
    // The state pass, chunks in order: S before each chunk, U~ = U - W S,
    // S' = Gamma_last S + sum_s exp(gamma_last - gamma_s) k^_s U~_s^T.
    if (!inputs.initial.empty())
      std::copy(inputs.initial.data() + bh * S, inputs.initial.data() + (bh + 1) * S,
                state.begin());
    else
      std::fill(state.begin(), state.end(), 0.0);
    for (int64_t i = 0; i < chunks; ++i) {
      const int64_t t0 = i * c, len = chunkRows(i), last = t0 + len - 1;
      std::copy(state.begin(), state.end(), before.begin() + i * S);
      for (int64_t t = t0; t <= last; ++t)
        for (int64_t e = 0; e < dv; ++e) {
          double ws = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            ws += w[t * dk + d] * state[d * dv + e];
          ut[t * dv + e] = u[t * dv + e] - ws;
        }
      const double gammaLast = std::exp(gamma[last]);
      for (int64_t x = 0; x < S; ++x)
        next[x] = gammaLast * state[x];
      for (int64_t t = t0; t <= last; ++t) {
        const double weight = std::exp(gamma[last] - gamma[t]);
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t e = 0; e < dv; ++e)
            next[d * dv + e] += weight * k[t * dk + d] * ut[t * dv + e];
      }
      std::swap(state, next);
    }
    // The state-gradient pass, last chunk first, G the gradient in the
    // state after the chunk: dU~ = (tril(Q~ K^T) (.) D)^T dO + diag(w) K G
    // (w_s = exp(gamma_last - gamma_s)), then the gradient in the state
    // before it, Gamma_last G + Q~^T diag(Gamma) dO - W^T dU~ (U~ = U - W S
    // reads S: unlike the gated recurrence's, this pass needs the chunk's
    // products, not just its rows).
    if (dFinal)
      std::copy(dFinal->data() + bh * S, dFinal->data() + (bh + 1) * S, grad.begin());
    else
      std::fill(grad.begin(), grad.end(), 0.0);
    for (int64_t i = chunks - 1; i >= 0; --i) {
      const int64_t t0 = i * c, len = chunkRows(i), last = t0 + len - 1;
      std::copy(grad.begin(), grad.end(), after.begin() + i * S);
      for (int64_t s2 = t0; s2 <= last; ++s2) {
        const double ws = std::exp(gamma[last] - gamma[s2]);
        for (int64_t e = 0; e < dv; ++e) {
          double kg = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            kg += k[s2 * dk + d] * grad[d * dv + e];
          dut[s2 * dv + e] = ws * kg;
        }
        for (int64_t r = s2; r <= last; ++r) {
          double qk = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            qk += q[r * dk + d] * k[s2 * dk + d];
          const double p = std::exp(gamma[r] - gamma[s2]) * qk;
          for (int64_t e = 0; e < dv; ++e)
            dut[s2 * dv + e] += p * dout[(row0 + r) * dv + e];
        }
      }
      const double gammaLast = std::exp(gamma[last]);
      for (int64_t x = 0; x < S; ++x)
        next[x] = gammaLast * grad[x];
      for (int64_t t = t0; t <= last; ++t) {
        const double gammaT = std::exp(gamma[t]);
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t e = 0; e < dv; ++e)
            next[d * dv + e] += gammaT * q[t * dk + d] * dout[(row0 + t) * dv + e] -
                                w[t * dk + d] * dut[t * dv + e];
      }
      std::swap(grad, next);
    }
    std::copy(grad.begin(), grad.end(), g.dInitial.data() + bh * S);
    // The chunk kernels, every chunk apart, from S (before), G (after) and
    // dU~. E_rs = D_rs (q~_r . k^_s)(dO_r . U~_s) for s <= r.
    for (int64_t i = 0; i < chunks; ++i) {
      const int64_t t0 = i * c, len = chunkRows(i), last = t0 + len - 1;
      const double *sb = &before[i * S], *ga = &after[i * S], *ai = &a[i * c * c];
      std::fill(dq.begin(), dq.end(), 0.0);
      std::fill(dkh.begin(), dkh.end(), 0.0);
      std::fill(dgamma.begin(), dgamma.end(), 0.0);
      std::fill(dbeta.begin(), dbeta.end(), 0.0);
      const double gammaLast = std::exp(gamma[last]);
      for (int64_t r = 0; r < len; ++r) {
        const int64_t t = t0 + r;
        const double *dO = dout.data() + (row0 + t) * dv;
        // dq~_r = Gamma_r S dO_r + ...; gamma_r's term from o's state part.
        const double gammaR = std::exp(gamma[t]);
        for (int64_t d = 0; d < dk; ++d) {
          double sdo = 0.0;
          for (int64_t e = 0; e < dv; ++e)
            sdo += sb[d * dv + e] * dO[e];
          dq[r * dk + d] = gammaR * sdo;
          dgamma[r] += gammaR * q[t * dk + d] * sdo;
        }
        for (int64_t s2 = 0; s2 <= r; ++s2) {
          const int64_t ts = t0 + s2;
          double du = 0.0, qk = 0.0;
          for (int64_t e = 0; e < dv; ++e)
            du += dO[e] * ut[ts * dv + e];
          for (int64_t d = 0; d < dk; ++d)
            qk += q[t * dk + d] * k[ts * dk + d];
          const double decay = std::exp(gamma[t] - gamma[ts]);
          for (int64_t d = 0; d < dk; ++d) {
            dq[r * dk + d] += decay * du * k[ts * dk + d];
            dkh[s2 * dk + d] += decay * du * q[t * dk + d];
          }
          const double e = decay * qk * du;
          dgamma[r] += e;
          dgamma[s2] -= e;
        }
      }
      // S' = Gamma_last S + sum_s w_s k^_s U~_s^T: dk^_s += w_s G U~_s,
      // gamma_last gains Gamma_last <G, S> + sum_s w_s k^_s . G U~_s and
      // gamma_s loses w_s k^_s . G U~_s.
      double gs = 0.0;
      for (int64_t x = 0; x < S; ++x)
        gs += ga[x] * sb[x];
      dgamma[len - 1] += gammaLast * gs;
      for (int64_t s2 = 0; s2 < len; ++s2) {
        const int64_t ts = t0 + s2;
        const double ws = std::exp(gamma[last] - gamma[ts]);
        double kgu = 0.0;
        for (int64_t d = 0; d < dk; ++d) {
          double gu = 0.0;
          for (int64_t e = 0; e < dv; ++e)
            gu += ga[d * dv + e] * ut[ts * dv + e];
          dkh[s2 * dk + d] += ws * gu;
          kgu += k[ts * dk + d] * gu;
        }
        dgamma[len - 1] += ws * kgu;
        dgamma[s2] -= ws * kgu;
      }
      // U~ = U - W S: dU = dU~, dW = -dU~ S^T.
      for (int64_t r = 0; r < len; ++r)
        for (int64_t d = 0; d < dk; ++d) {
          double x = 0.0;
          for (int64_t e = 0; e < dv; ++e)
            x += dut[(t0 + r) * dv + e] * sb[d * dv + e];
          dw[r * dk + d] = -x;
        }
      // The WY system (I + A) X = B, X = U or W: dB = (I + A)^-T dX, by
      // back substitution (row r from the rows after it), and dA_rs =
      // -(dB_U,r . U_s + dB_W,r . W_s) for s < r.
      for (int64_t r = len - 1; r >= 0; --r) {
        for (int64_t e = 0; e < dv; ++e)
          dbu[r * dv + e] = dut[(t0 + r) * dv + e];
        for (int64_t d = 0; d < dk; ++d)
          dbw[r * dk + d] = dw[r * dk + d];
        for (int64_t r2 = r + 1; r2 < len; ++r2) {
          const double arr = ai[r2 * c + r];
          for (int64_t e = 0; e < dv; ++e)
            dbu[r * dv + e] -= arr * dbu[r2 * dv + e];
          for (int64_t d = 0; d < dk; ++d)
            dbw[r * dk + d] -= arr * dbw[r2 * dk + d];
        }
      }
      for (int64_t r = 0; r < len; ++r) {
        const int64_t t = t0 + r, row = row0 + t;
        const double beta = inputs.beta[row], gammaR = std::exp(gamma[t]);
        // B_U = diag(beta) V, B_W = diag(beta Gamma) K.
        double vb = 0.0, kb = 0.0;
        for (int64_t e = 0; e < dv; ++e) {
          g.dv[row * dv + e] = beta * dbu[r * dv + e];
          vb += inputs.v[row * dv + e] * dbu[r * dv + e];
        }
        for (int64_t d = 0; d < dk; ++d) {
          dkh[r * dk + d] += beta * gammaR * dbw[r * dk + d];
          kb += k[t * dk + d] * dbw[r * dk + d];
        }
        dbeta[r] += vb + gammaR * kb;
        dgamma[r] += beta * gammaR * kb;
        // A_rs = beta_r exp(gamma_r - gamma_s) k^_r . k^_s.
        for (int64_t s2 = 0; s2 < r; ++s2) {
          const int64_t ts = t0 + s2;
          double da = 0.0, kk = 0.0;
          for (int64_t e = 0; e < dv; ++e)
            da -= dbu[r * dv + e] * u[ts * dv + e];
          for (int64_t d = 0; d < dk; ++d) {
            da -= dbw[r * dk + d] * w[ts * dk + d];
            kk += k[t * dk + d] * k[ts * dk + d];
          }
          const double decay = std::exp(gamma[t] - gamma[ts]);
          dbeta[r] += da * decay * kk;
          const double f = da * beta * decay * kk;
          dgamma[r] += f;
          dgamma[s2] -= f;
          for (int64_t d = 0; d < dk; ++d) {
            dkh[r * dk + d] += da * beta * decay * k[ts * dk + d];
            dkh[s2 * dk + d] += da * beta * decay * k[t * dk + d];
          }
        }
      }
      // gamma_r = g_t0 + ... + g_t: the log-decays' gradient is the
      // reverse cumulative sum of gamma's over the chunk.
      double suffix = 0.0;
      for (int64_t r = len - 1; r >= 0; --r) {
        const int64_t row = row0 + t0 + r;
        suffix += dgamma[r];
        if (problem.gated)
          g.dLogDecay[row] = suffix;
        g.dbeta[row] = dbeta[r];
        unnormalizedGrad(l2, scale, inputs.q.data() + row * dk, qNorm[t0 + r], &dq[r * dk], dk,
                         g.dq.data() + row * dk);
        unnormalizedGrad(l2, 1.0, inputs.k.data() + row * dk, kNorm[t0 + r], &dkh[r * dk], dk,
                         g.dk.data() + row * dk);
      }
    }
  }
  return g;
}

} // namespace flashgen::reference
