//===- DeltaRule.cpp - the delta rule, step by step and chunkwise --------===//
//
// Both forms work on one (batch, head) pair at a time. The step form is the
// definition of docs/semantics.md §7.1, free of any rewriting; the chunkwise
// form is §7.3's, in the order a chunk kernel computes it: the chunk's
// triangular system for U and W, the values corrected by the start state,
// the outputs and the next state.
//
//===----------------------------------------------------------------------===//

#include "reference/DeltaRule.h"

#include "reference/ReferenceError.h"
#include "reference/Varlen.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace flashgen::reference {

namespace {

std::optional<std::string> expectShape(const char *what, const Shape &actual,
                                       const Shape &expected) {
  if (actual == expected)
    return std::nullopt;
  return std::string("delta_rule: ") + what + " has shape " +
         shapeToString(actual) + ", expected " + shapeToString(expected);
}

/// q~_t and k_t of one step as the recurrence uses them (§7.1): normalised
/// if asked, q scaled.
template <typename T>
void prepareStep(const DeltaProblem &problem, T scale, const T *q, const T *k,
                 int64_t dk, T *qOut, T *kOut) {
  T qNorm = T(1), kNorm = T(1);
  if (problem.l2NormQK) {
    T qq = T(0), kk = T(0);
    for (int64_t d = 0; d < dk; ++d) {
      qq += q[d] * q[d];
      kk += k[d] * k[d];
    }
    qNorm = std::sqrt(qq + static_cast<T>(kDeltaL2NormEps));
    kNorm = std::sqrt(kk + static_cast<T>(kDeltaL2NormEps));
  }
  for (int64_t d = 0; d < dk; ++d) {
    qOut[d] = scale * (q[d] / qNorm);
    kOut[d] = k[d] / kNorm;
  }
}

struct DeltaShape {
  int64_t batch, heads, steps, keyDim, valueDim;
  bool hasInitial;
};

template <typename T>
DeltaShape deltaShape(const DeltaProblem &problem, const DeltaInputs<T> &in) {
  if (auto error = validateDelta(problem, in.q.shape(), in.k.shape(),
                                 in.v.shape(), in.beta.shape(),
                                 in.logDecay.shape(), in.initial.shape()))
    throw ReferenceError(*error);
  return {in.q.dim(0), in.q.dim(1), in.q.dim(2), in.q.dim(3), in.v.dim(3),
          !in.initial.empty()};
}

} // namespace

double deltaScale(const DeltaProblem &problem, int64_t dk) {
  return problem.scale ? *problem.scale : 1.0 / std::sqrt(double(dk));
}

std::optional<std::string>
validateDelta(const DeltaProblem &problem, const Shape &q, const Shape &k,
              const Shape &v, const Shape &beta, const Shape &logDecay,
              const Shape &initial) {
  if (q.size() != 4)
    return "delta_rule: q has shape " + shapeToString(q) +
           ", expected [B, H, T, Dk]";
  if (q[3] < 1)
    return "delta_rule: q has shape " + shapeToString(q) +
           ", Dk must be at least 1";
  if (auto e = expectShape("k", k, q))
    return e;
  if (v.size() != 4 || v[0] != q[0] || v[1] != q[1] || v[2] != q[2] ||
      v[3] < 1)
    return "delta_rule: v has shape " + shapeToString(v) + ", expected [" +
           std::to_string(q[0]) + ", " + std::to_string(q[1]) + ", " +
           std::to_string(q[2]) + ", Dv >= 1]";
  const Shape perStep{q[0], q[1], q[2]};
  if (auto e = expectShape("beta", beta, perStep))
    return e;
  if (problem.gated) {
    if (auto e = expectShape("the log-decay g", logDecay, perStep))
      return e;
  } else if (!logDecay.empty()) {
    return "delta_rule: a log-decay g was given to an ungated delta rule";
  }
  if (!initial.empty())
    if (auto e = expectShape("the initial state", initial,
                             Shape{q[0], q[1], q[3], v[3]}))
      return e;
  if (problem.scale && !std::isfinite(*problem.scale))
    return "delta_rule: the scale must be finite";
  return std::nullopt;
}

DeltaResult<double> referenceDeltaRule(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs) {
  const DeltaShape shape = deltaShape(problem, inputs);
  const int64_t steps = shape.steps, dk = shape.keyDim, dv = shape.valueDim;
  const double scale = deltaScale(problem, dk);
  DeltaResult<double> result;
  result.out = Tensor<double>({shape.batch, shape.heads, steps, dv});
  result.finalState = shape.hasInitial
                          ? inputs.initial
                          : Tensor<double>({shape.batch, shape.heads, dk, dv});
  std::vector<double> q(dk), k(dk), kS(dv);
  for (int64_t bh = 0; bh < shape.batch * shape.heads; ++bh) {
    double *s = result.finalState.data() + bh * dk * dv; // S [Dk, Dv]
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = bh * steps + t;
      prepareStep(problem, scale, inputs.q.data() + row * dk,
                  inputs.k.data() + row * dk, dk, q.data(), k.data());
      const double *v = inputs.v.data() + row * dv;
      const double beta = inputs.beta[row];
      const double alpha = problem.gated ? std::exp(inputs.logDecay[row]) : 1.0;
      // S <- alpha S;  S <- S - beta k (k^T S) + beta k v^T.
      for (int64_t i = 0; i < dk * dv; ++i)
        s[i] *= alpha;
      std::fill(kS.begin(), kS.end(), 0.0);
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e)
          kS[e] += k[d] * s[d * dv + e];
      for (int64_t d = 0; d < dk; ++d)
        for (int64_t e = 0; e < dv; ++e)
          s[d * dv + e] += beta * k[d] * (v[e] - kS[e]);
      double *o = result.out.data() + row * dv;
      for (int64_t e = 0; e < dv; ++e) {
        double sum = 0.0;
        for (int64_t d = 0; d < dk; ++d)
          sum += q[d] * s[d * dv + e];
        o[e] = sum;
      }
    }
  }
  return result;
}

template <typename T>
DeltaResult<T> chunkwiseDeltaRule(const DeltaProblem &problem,
                                  const DeltaInputs<T> &inputs, int64_t chunk) {
  if (chunk < 1)
    throw ReferenceError("delta_rule: chunk size " + std::to_string(chunk) +
                         " must be at least 1");
  const DeltaShape shape = deltaShape(problem, inputs);
  const int64_t steps = shape.steps, dk = shape.keyDim, dv = shape.valueDim;
  const T scale = static_cast<T>(deltaScale(problem, dk));
  DeltaResult<T> result;
  result.out = Tensor<T>({shape.batch, shape.heads, steps, dv});
  result.finalState = shape.hasInitial
                          ? inputs.initial
                          : Tensor<T>({shape.batch, shape.heads, dk, dv});
  const int64_t c = std::min(chunk, std::max<int64_t>(steps, 1));
  // One chunk's rows: q~, k (prepared), gamma (cumulative log-decay), and
  // the solved U~ [c, Dv] and W [c, Dk].
  std::vector<T> q(c * dk), k(c * dk), gamma(c), u(c * dv), w(c * dk),
      next(dk * dv);
  for (int64_t bh = 0; bh < shape.batch * shape.heads; ++bh) {
    T *s = result.finalState.data() + bh * dk * dv;
    for (int64_t t0 = 0; t0 < steps; t0 += c) {
      const int64_t len = std::min(c, steps - t0);
      T cumulative = T(0);
      for (int64_t r = 0; r < len; ++r) {
        const int64_t row = bh * steps + t0 + r;
        prepareStep(problem, scale, inputs.q.data() + row * dk,
                    inputs.k.data() + row * dk, dk, &q[r * dk], &k[r * dk]);
        if (problem.gated)
          cumulative += inputs.logDecay[row];
        gamma[r] = cumulative;
      }
      // (I + A) [U | W] = diag(beta) [V | diag(Gamma) K], A strictly lower
      // with A_rs = beta_r exp(gamma_r - gamma_s) k_r . k_s: forward
      // substitution, row r from the rows before it.
      for (int64_t r = 0; r < len; ++r) {
        const int64_t row = bh * steps + t0 + r;
        const T beta = inputs.beta[row];
        const T *v = inputs.v.data() + row * dv;
        const T gammaR = std::exp(gamma[r]);
        for (int64_t e = 0; e < dv; ++e)
          u[r * dv + e] = beta * v[e];
        for (int64_t d = 0; d < dk; ++d)
          w[r * dk + d] = beta * gammaR * k[r * dk + d];
        for (int64_t sIdx = 0; sIdx < r; ++sIdx) {
          T kk = T(0);
          for (int64_t d = 0; d < dk; ++d)
            kk += k[r * dk + d] * k[sIdx * dk + d];
          const T a = beta * std::exp(gamma[r] - gamma[sIdx]) * kk;
          for (int64_t e = 0; e < dv; ++e)
            u[r * dv + e] -= a * u[sIdx * dv + e];
          for (int64_t d = 0; d < dk; ++d)
            w[r * dk + d] -= a * w[sIdx * dk + d];
        }
      }
      // U~ = U - W S: the values each step writes, given the start state.
      for (int64_t r = 0; r < len; ++r)
        for (int64_t e = 0; e < dv; ++e) {
          T ws = T(0);
          for (int64_t d = 0; d < dk; ++d)
            ws += w[r * dk + d] * s[d * dv + e];
          u[r * dv + e] -= ws;
        }
      // O_r = Gamma_r S^T q~_r + sum_{s <= r} exp(gamma_r - gamma_s)
      // (q~_r . k_s) U~_s.
      for (int64_t r = 0; r < len; ++r) {
        T *o = result.out.data() + (bh * steps + t0 + r) * dv;
        const T gammaR = std::exp(gamma[r]);
        for (int64_t e = 0; e < dv; ++e) {
          T sum = T(0);
          for (int64_t d = 0; d < dk; ++d)
            sum += q[r * dk + d] * s[d * dv + e];
          o[e] = gammaR * sum;
        }
        for (int64_t sIdx = 0; sIdx <= r; ++sIdx) {
          T qk = T(0);
          for (int64_t d = 0; d < dk; ++d)
            qk += q[r * dk + d] * k[sIdx * dk + d];
          const T weight = std::exp(gamma[r] - gamma[sIdx]) * qk;
          for (int64_t e = 0; e < dv; ++e)
            o[e] += weight * u[sIdx * dv + e];
        }
      }
      // S' = Gamma_last S + sum_s exp(gamma_last - gamma_s) k_s U~_s^T.
      const T last = gamma[len - 1];
      const T gammaLast = std::exp(last);
      for (int64_t i = 0; i < dk * dv; ++i)
        next[i] = gammaLast * s[i];
      for (int64_t sIdx = 0; sIdx < len; ++sIdx) {
        const T weight = std::exp(last - gamma[sIdx]);
        for (int64_t d = 0; d < dk; ++d) {
          const T kd = weight * k[sIdx * dk + d];
          for (int64_t e = 0; e < dv; ++e)
            next[d * dv + e] += kd * u[sIdx * dv + e];
        }
      }
      std::copy(next.begin(), next.end(), s);
    }
  }
  return result;
}

template DeltaResult<float>
chunkwiseDeltaRule<float>(const DeltaProblem &, const DeltaInputs<float> &,
                          int64_t);
template DeltaResult<double>
chunkwiseDeltaRule<double>(const DeltaProblem &, const DeltaInputs<double> &,
                           int64_t);

DeltaInputs<double> sequenceDeltaInputs(const DeltaInputs<double> &padded, int64_t b,
                                        int64_t length) {
  DeltaInputs<double> one;
  one.q = sequenceRows(padded.q, b, length);
  one.k = sequenceRows(padded.k, b, length);
  one.v = sequenceRows(padded.v, b, length);
  one.beta = sequenceRows(padded.beta, b, length);
  if (!padded.logDecay.empty())
    one.logDecay = sequenceRows(padded.logDecay, b, length);
  if (!padded.initial.empty())
    one.initial = sequenceEntry(padded.initial, b);
  return one;
}

} // namespace flashgen::reference
