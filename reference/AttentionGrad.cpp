//===- AttentionGrad.cpp - float64 gradients of flash.attention -----------===//
//
// Row by row, as Attention.cpp: the row's scores are materialised again,
// the softmax weights come from the forward's lse, and every product is
// accumulated in float64. dk and dv are indexed by the kv head, so the query
// heads of a GQA group add into the same rows.
//
//===----------------------------------------------------------------------===//

#include "reference/AttentionGrad.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

namespace flashgen::reference {

AttentionGradResult referenceAttentionGrad(const AttentionProblem &problem,
                                           const ScoreModGrad &scoreGrad,
                                           const Tensor<double> &q,
                                           const Tensor<double> &k,
                                           const Tensor<double> &v,
                                           const Tensor<double> &dout) {
  AttentionResult forward = referenceAttention(problem, q, k, v);
  return attentionGradGivenForward(problem, scoreGrad, q, k, v, forward.out,
                                   forward.logSumExp, dout);
}

AttentionGradResult attentionGradGivenForward(
    const AttentionProblem &problem, const ScoreModGrad &scoreGrad,
    const Tensor<double> &q, const Tensor<double> &k, const Tensor<double> &v,
    const Tensor<double> &o, const Tensor<double> &lse,
    const Tensor<double> &dout) {
  const AttentionShape shape =
      attentionShape(problem, q.shape(), k.shape(), v.shape());
  const Shape outShape{shape.batch, shape.queryHeads, shape.queries,
                       shape.valueDim};
  const Shape lseShape{shape.batch, shape.queryHeads, shape.queries};
  for (const auto &[name, tensor, expected] :
       {std::tuple<const char *, const Tensor<double> &, const Shape &>{
            "do", dout, outShape},
        {"o", o, outShape},
        {"lse", lse, lseShape}})
    if (tensor.shape() != expected)
      throw ReferenceError(std::string("attention_grad: '") + name +
                           "' has shape " + shapeToString(tensor.shape()) +
                           ", expected " + shapeToString(expected));
  const double scale = effectiveAttentionScale(problem, shape.headDim);
  const int64_t groupSize = shape.queryHeads / shape.kvHeads;
  const int64_t n = shape.queries, m = shape.keys;
  const int64_t d = shape.headDim, dv = shape.valueDim;
  const double negInf = -std::numeric_limits<double>::infinity();

  AttentionGradResult result;
  result.forward = {o, lse};
  result.dq = Tensor<double>(q.shape());
  result.dk = Tensor<double>(k.shape());
  result.dv = Tensor<double>(v.shape());
  result.dqScale = Tensor<double>(q.shape());
  result.dkScale = Tensor<double>(k.shape());
  result.dvScale = Tensor<double>(v.shape());

  std::vector<double> weights(m), slopes(m);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.queryHeads; ++h) {
      const int64_t kvHead = h / groupSize;
      const int64_t qOff = (b * shape.queryHeads + h) * n;
      const int64_t kvOff = (b * shape.kvHeads + kvHead) * m;
      const double *qHead = q.data() + qOff * d;
      const double *kHead = k.data() + kvOff * d;
      const double *vHead = v.data() + kvOff * dv;
      const double *oHead = result.forward.out.data() + qOff * dv;
      const double *doHead = dout.data() + qOff * dv;
      double *dqHead = result.dq.data() + qOff * d;
      double *dkHead = result.dk.data() + kvOff * d;
      double *dvHead = result.dv.data() + kvOff * dv;
      double *dqScaleHead = result.dqScale.data() + qOff * d;
      double *dkScaleHead = result.dkScale.data() + kvOff * d;
      double *dvScaleHead = result.dvScale.data() + kvOff * dv;
      for (int64_t i = 0; i < n; ++i) {
        const double rowLse = lse.at({b, h, i});
        // No visible key: o_i = 0 whatever q, k, v are, so every
        // gradient of the row is 0.
        if (rowLse == negInf)
          continue;
        const double *qRow = qHead + i * d;
        const double *oRow = oHead + i * dv;
        const double *doRow = doHead + i * dv;
        double rowDot = 0.0, rowDotMagnitude = 0.0; // D_i and |D_i|
        for (int64_t e = 0; e < dv; ++e)
          rowDot += doRow[e] * oRow[e];
        rowDotMagnitude = std::fabs(rowDot);
        for (int64_t j = 0; j < m; ++j) {
          weights[j] = 0.0;
          if (!isKeyVisible(problem, shape, b, h, i, j))
            continue;
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c)
            dot += qRow[c] * kHead[j * d + c];
          const double raw = scale * dot;
          const double score =
              problem.scoreMod ? problem.scoreMod(raw, b, h, i, j) : raw;
          if (score == negInf)
            continue;
          weights[j] = std::exp(score - rowLse);
          slopes[j] = scoreGrad ? scoreGrad(raw, b, h, i, j) : 1.0;
        }
        for (int64_t j = 0; j < m; ++j) {
          const double p = weights[j];
          if (p == 0.0)
            continue;
          const double *vRow = vHead + j * dv;
          double dp = 0.0, dpMagnitude = 0.0;
          for (int64_t e = 0; e < dv; ++e) {
            dp += doRow[e] * vRow[e];
            dpMagnitude += std::fabs(doRow[e] * vRow[e]);
          }
          const double ds = p * (dp - rowDot) * slopes[j];
          const double dsMagnitude =
              p * (dpMagnitude + rowDotMagnitude) * std::fabs(slopes[j]);
          for (int64_t c = 0; c < d; ++c) {
            dqHead[i * d + c] += scale * ds * kHead[j * d + c];
            dkHead[j * d + c] += scale * ds * qRow[c];
            dqScaleHead[i * d + c] +=
                std::fabs(scale) * dsMagnitude * std::fabs(kHead[j * d + c]);
            dkScaleHead[j * d + c] +=
                std::fabs(scale) * dsMagnitude * std::fabs(qRow[c]);
          }
          for (int64_t e = 0; e < dv; ++e) {
            dvHead[j * dv + e] += p * doRow[e];
            dvScaleHead[j * dv + e] += p * std::fabs(doRow[e]);
          }
        }
      }
    }
  return result;
}

ScoreModGrad softcapScoreModGrad(double cap) {
  return [cap](double score, int64_t, int64_t, int64_t, int64_t) {
    const double t = std::tanh(score / cap);
    return 1.0 - t * t;
  };
}

} // namespace flashgen::reference
