//===- Attention.cpp - float64 definition of flash.attention -------------===//
//
// Written for clarity, not speed: every score of a row is materialised, then
// the softmax is taken with the row maximum subtracted (so large scores do
// not overflow), in float64.
//
//===----------------------------------------------------------------------===//

#include "reference/Attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace flashgen::reference {

const char *maskKindName(MaskKind kind) {
  switch (kind) {
  case MaskKind::None:
    return "none";
  case MaskKind::Causal:
    return "causal";
  case MaskKind::SlidingWindow:
    return "sliding_window";
  }
  return "unknown";
}

std::optional<std::string> validateAttention(const AttentionProblem &problem,
                                             const Shape &q, const Shape &k,
                                             const Shape &v) {
  const std::string op = "attention: ";
  auto rankError = [&](const char *name, const Shape &shape,
                       const char *layout) {
    return op + "'" + name + "' must have rank 4 " + layout +
           " but has shape " + shapeToString(shape);
  };
  if (q.size() != 4)
    return rankError("q", q, "[B, Hq, N, D]");
  if (k.size() != 4)
    return rankError("k", k, "[B, Hkv, M, D]");
  if (v.size() != 4)
    return rankError("v", v, "[B, Hkv, M, Dv]");
  for (const auto &[name, shape] :
       {std::pair<const char *, const Shape &>{"q", q}, {"k", k}, {"v", v}})
    for (int64_t extent : shape)
      if (extent < 0)
        return op + "'" + name + "' has a negative dimension in shape " +
               shapeToString(shape);
  if (q[1] < 1 || k[1] < 1)
    return op + "head counts must be >= 1, got Hq = " + std::to_string(q[1]) +
           " and Hkv = " + std::to_string(k[1]);
  if (q[3] < 1)
    return op + "head dim D must be >= 1, got q shape " + shapeToString(q);
  if (v[3] < 1)
    return op + "value dim Dv must be >= 1, got v shape " + shapeToString(v);
  if (k[0] != q[0] || v[0] != q[0])
    return op + "batch sizes differ: q " + shapeToString(q) + ", k " +
           shapeToString(k) + ", v " + shapeToString(v);
  if (k[3] != q[3])
    return op + "'k' has head dim " + std::to_string(k[3]) +
           " but 'q' has head dim " + std::to_string(q[3]);
  if (v[1] != k[1] || v[2] != k[2])
    return op + "'v' has shape " + shapeToString(v) + " but [" +
           std::to_string(k[0]) + ", " + std::to_string(k[1]) + ", " +
           std::to_string(k[2]) + ", Dv] was expected from 'k' " +
           shapeToString(k);
  if (q[1] % k[1] != 0)
    return op + "query heads (" + std::to_string(q[1]) +
           ") must be a multiple of kv heads (" + std::to_string(k[1]) + ")";
  if (problem.mask == MaskKind::SlidingWindow && problem.window < 1)
    return op + "sliding_window needs a window >= 1, got " +
           std::to_string(problem.window);
  if (problem.mask != MaskKind::SlidingWindow && problem.window != 0)
    return op + "a window (" + std::to_string(problem.window) +
           ") is only meaningful with mask kind sliding_window, not " +
           maskKindName(problem.mask);
  if (problem.scale && !std::isfinite(*problem.scale))
    return op + "scale must be finite, got " + std::to_string(*problem.scale);
  if (problem.blockMask)
    return validateBlockMask(*problem.blockMask, q[0], q[1], q[2], k[2]);
  return std::nullopt;
}

AttentionShape attentionShape(const AttentionProblem &problem, const Shape &q,
                              const Shape &k, const Shape &v) {
  if (auto error = validateAttention(problem, q, k, v))
    throw ReferenceError(*error);
  AttentionShape shape;
  shape.batch = q[0];
  shape.queryHeads = q[1];
  shape.kvHeads = k[1];
  shape.queries = q[2];
  shape.keys = k[2];
  shape.headDim = q[3];
  shape.valueDim = v[3];
  return shape;
}

double effectiveAttentionScale(const AttentionProblem &problem,
                               int64_t headDim) {
  return problem.scale ? *problem.scale
                       : 1.0 / std::sqrt(static_cast<double>(headDim));
}

bool maskKindAllows(MaskKind kind, int64_t window, int64_t queries,
                    int64_t keys, int64_t query, int64_t key) {
  // Bottom-right alignment: the last query row sees the last key, so query
  // i stands at key position i + (M - N).
  const int64_t diagonal = query + (keys - queries);
  switch (kind) {
  case MaskKind::None:
    return true;
  case MaskKind::Causal:
    return key <= diagonal;
  case MaskKind::SlidingWindow:
    return key <= diagonal && diagonal - key < window;
  }
  return false;
}

bool isKeyVisible(const AttentionProblem &problem, const AttentionShape &shape,
                  int64_t batch, int64_t head, int64_t query, int64_t key) {
  if (key < 0 || key >= shape.keys)
    return false;
  if (!maskKindAllows(problem.mask, problem.window, shape.queries, shape.keys,
                      query, key))
    return false;
  if (problem.blockMask) {
    switch (blockListing(*problem.blockMask, batch, head, query, key)) {
    case BlockListing::None:
      return false;
    case BlockListing::Full:
      // FlexAttention's full blocks: mask_mod keeps all of them, so it is
      // not evaluated (kernels skip it there).
      return true;
    case BlockListing::Partial:
      break;
    }
  }
  return !problem.maskMod || problem.maskMod(batch, head, query, key);
}

AttentionResult referenceAttention(const AttentionProblem &problem,
                                   const Tensor<double> &q,
                                   const Tensor<double> &k,
                                   const Tensor<double> &v) {
  const AttentionShape shape =
      attentionShape(problem, q.shape(), k.shape(), v.shape());
  const double scale = effectiveAttentionScale(problem, shape.headDim);
  const int64_t groupSize = shape.queryHeads / shape.kvHeads;
  const int64_t n = shape.queries, m = shape.keys;
  const int64_t d = shape.headDim, dv = shape.valueDim;
  const double negInf = -std::numeric_limits<double>::infinity();

  AttentionResult result;
  result.out = Tensor<double>({shape.batch, shape.queryHeads, n, dv});
  result.logSumExp =
      Tensor<double>::full({shape.batch, shape.queryHeads, n}, negInf);

  auto lengthOf = [&](const std::vector<int64_t> &lengths, int64_t b,
                      int64_t full, const char *what) {
    if (lengths.empty())
      return full;
    if (static_cast<int64_t>(lengths.size()) != shape.batch || lengths[b] < 0 ||
        lengths[b] > full)
      throw ReferenceError(std::string("referenceAttention: ") + what +
                           " lengths must be one per sequence in [0, " +
                           std::to_string(full) + "]");
    return lengths[b];
  };
  std::vector<double> scores(m);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.queryHeads; ++h) {
      // A packed batch's sequence: its own counts align its masks.
      AttentionShape seq = shape;
      seq.queries = lengthOf(problem.queryLengths, b, n, "query");
      seq.keys = lengthOf(problem.keyLengths, b, m, "key");
      // GQA: consecutive query heads share one kv head.
      const int64_t kvHead = h / groupSize;
      const double *qHead = q.data() + (b * shape.queryHeads + h) * n * d;
      const double *kHead = k.data() + (b * shape.kvHeads + kvHead) * m * d;
      const double *vHead = v.data() + (b * shape.kvHeads + kvHead) * m * dv;
      double *oHead = result.out.data() + (b * shape.queryHeads + h) * n * dv;
      for (int64_t i = 0; i < seq.queries; ++i) {
        double rowMax = negInf;
        for (int64_t j = 0; j < m; ++j) {
          if (!isKeyVisible(problem, seq, b, h, i, j)) {
            scores[j] = negInf;
            continue;
          }
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c)
            dot += qHead[i * d + c] * kHead[j * d + c];
          double score = scale * dot;
          if (problem.scoreMod)
            score = problem.scoreMod(score, b, h, i, j);
          scores[j] = score;
          // std::max would drop a NaN depending on argument order; keep it
          // so a broken score_mod shows up in the output.
          if (std::isnan(score) || score > rowMax)
            rowMax = std::isnan(rowMax) ? rowMax : score;
        }
        double *oRow = oHead + i * dv;
        // output_mod maps each stored element, a zero row's too.
        auto modifyRow = [&] {
          if (problem.outputMod)
            for (int64_t c = 0; c < dv; ++c)
              oRow[c] = problem.outputMod(oRow[c], b, h, i, c);
        };
        // No visible key (or every score_mod result -inf): zero row.
        if (rowMax == negInf) {
          modifyRow();
          continue;
        }
        double denominator = 0.0;
        for (int64_t j = 0; j < m; ++j) {
          if (scores[j] == negInf)
            continue;
          const double weight = std::exp(scores[j] - rowMax);
          denominator += weight;
          for (int64_t c = 0; c < dv; ++c)
            oRow[c] += weight * vHead[j * dv + c];
        }
        for (int64_t c = 0; c < dv; ++c)
          oRow[c] /= denominator;
        modifyRow();
        result.logSumExp.at({b, h, i}) = rowMax + std::log(denominator);
      }
    }
  return result;
}

double alibiSlope(int64_t head, int64_t queryHeads) {
  return std::exp2(-8.0 * static_cast<double>(head + 1) /
                   static_cast<double>(queryHeads));
}

ScoreMod softcapScoreMod(double cap) {
  return [cap](double score, int64_t, int64_t, int64_t, int64_t) {
    return cap * std::tanh(score / cap);
  };
}

ScoreMod alibiScoreMod(int64_t queryHeads, int64_t queries, int64_t keys) {
  return [=](double score, int64_t, int64_t head, int64_t query, int64_t key) {
    const double distance =
        static_cast<double>(key - (query + (keys - queries)));
    return score + alibiSlope(head, queryHeads) * distance;
  };
}

} // namespace flashgen::reference
