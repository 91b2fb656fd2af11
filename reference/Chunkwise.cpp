//===- Chunkwise.cpp - chunkwise-parallel form of linear_attention -------===//
//
// Written in the order a GPU kernel runs: per chunk, first the log-space
// gates (ChunkGates), then the state pass over chunk boundaries, then the
// output pass over inner query tiles x inner key tiles. Names follow
// docs/semantics.md §4: b_r (cumulative log-forget, compensated as hi + lo),
// iota_s (log input weight), m (stabiliser at a chunk boundary), mu_r (the
// running row maximum inside a chunk).
//
//===----------------------------------------------------------------------===//

#include "reference/Chunkwise.h"

#include "reference/GateMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace flashgen::reference {

std::optional<std::string> validateChunkTiling(const ChunkTiling &tiling) {
  if (tiling.chunkSize < 1)
    return "chunk tiling: chunk size L must be >= 1, got " +
           std::to_string(tiling.chunkSize);
  if (tiling.innerQuery < 1)
    return "chunk tiling: inner query tile must be >= 1 rows, got " +
           std::to_string(tiling.innerQuery);
  if (tiling.innerKey < 1)
    return "chunk tiling: inner key tile must be >= 1 rows, got " +
           std::to_string(tiling.innerKey);
  return std::nullopt;
}

int64_t chunkCount(int64_t steps, int64_t chunkSize) {
  if (chunkSize < 1)
    throw ReferenceError("chunk tiling: chunk size L must be >= 1, got " +
                         std::to_string(chunkSize));
  return (steps + chunkSize - 1) / chunkSize;
}

namespace {

/// Log-space gates of one chunk of one (batch, head) (semantics.md §4.1).
/// Rows r, s are positions inside the chunk; `width` is Dk for vector
/// gates (one gate per key dim) and 1 for scalar gates.
///
/// The cumulative log-forget b_r = sum_{u <= r} log f_u is kept as an
/// unevaluated sum hi + lo (compensated summation). With large gates b_r
/// reaches -1000s within a chunk while the differences b_r - b_s that
/// weigh nearby keys are O(1); in float, b_r alone carries an absolute
/// error of ~1e-4 there, which a plain difference would pass on to the
/// weights. hi and lo together keep every difference accurate relative to
/// itself.
template <typename T> struct ChunkGates {
  int64_t length = 0;
  int64_t width = 1;
  std::vector<T> prefixHi; // [length x width]
  std::vector<T> prefixLo; // [length x width]
  /// Log weight of key s's outer product: 0 (no input gate), i_s
  /// (mlstm_exp, stabilised by m) or log sigmoid(i_s) (mlstm_sig).
  std::vector<T> logInput;

  /// b_r: decay from the chunk start through row r.
  T b(int64_t r, int64_t d = 0) const {
    return prefixHi[r * width + d] + prefixLo[r * width + d];
  }
  /// b_r + offset (the inter-chunk exponent b_r + m_prev, or g + m_prev
  /// for r = length - 1): hi meets the offset first, so when the two
  /// nearly cancel the result keeps lo's precision.
  T bPlus(int64_t r, int64_t d, T offset) const {
    return (prefixHi[r * width + d] + offset) + prefixLo[r * width + d];
  }
  /// b_r - b_s = sum_{s < u <= r} log f_u: decay from key s to row r.
  T between(int64_t r, int64_t s, int64_t d = 0) const {
    return (prefixHi[r * width + d] - prefixHi[s * width + d]) +
           (prefixLo[r * width + d] - prefixLo[s * width + d]);
  }
  /// A(s) = g - b_s, g = b_{length-1}: decay from key s to the chunk end.
  T toEnd(int64_t s, int64_t d = 0) const { return between(length - 1, s, d); }
};

/// Error-free transformation: hi + lo == a + b exactly (Knuth's TwoSum).
template <typename T> void twoSum(T a, T b, T &hi, T &lo) {
  hi = a + b;
  const T bVirtual = hi - a;
  lo = (a - (hi - bVirtual)) + (b - bVirtual);
}

template <typename T>
ChunkGates<T> computeChunkGates(GateKind gate, const LinearInputs<T> &inputs,
                                int64_t firstRow, int64_t length,
                                int64_t keyDim) {
  ChunkGates<T> gates;
  gates.length = length;
  gates.width = gate == GateKind::Vector ? keyDim : 1;
  const int64_t width = gates.width;
  std::vector<T> logForget(length * width, T(0));
  gates.logInput.assign(length, T(0));
  for (int64_t r = 0; r < length; ++r) {
    const int64_t row = firstRow + r;
    switch (gate) {
    case GateKind::None:
      break;
    case GateKind::Decay:
      logForget[r] = inputs.logDecay.data()[row];
      break;
    case GateKind::Vector:
      for (int64_t d = 0; d < width; ++d)
        logForget[r * width + d] = inputs.logDecay.data()[row * width + d];
      break;
    case GateKind::MlstmExp:
      logForget[r] = logSigmoid(inputs.forgetGate.data()[row]);
      gates.logInput[r] = inputs.inputGate.data()[row];
      break;
    case GateKind::MlstmSig:
      logForget[r] = logSigmoid(inputs.forgetGate.data()[row]);
      gates.logInput[r] = logSigmoid(inputs.inputGate.data()[row]);
      break;
    }
  }
  gates.prefixHi.assign(length * width, T(0));
  gates.prefixLo.assign(length * width, T(0));
  for (int64_t d = 0; d < width; ++d) {
    T hi = T(0), lo = T(0);
    for (int64_t r = 0; r < length; ++r) {
      T error;
      twoSum(hi, logForget[r * width + d], hi, error);
      lo += error;
      gates.prefixHi[r * width + d] = hi;
      gates.prefixLo[r * width + d] = lo;
    }
  }
  return gates;
}

/// Row pointers of one (batch, head) pair.
template <typename T> struct HeadOperands {
  const T *q;
  const T *k;
  const T *v;
};

template <typename T>
HeadOperands<T> headOperands(const LinearInputs<T> &inputs,
                             const LinearShape &shape, int64_t bh) {
  return {inputs.q.data() + bh * shape.steps * shape.keyDim,
          inputs.k.data() + bh * shape.steps * shape.keyDim,
          inputs.v.data() + bh * shape.steps * shape.valueDim};
}

/// Pass 1 for one (batch, head): C_{c+1} from C_c (semantics.md §4.2).
template <typename T>
void advanceState(GateKind gate, const ChunkGates<T> &gates,
                  const HeadOperands<T> &head, int64_t firstStep,
                  int64_t keyDim, int64_t valueDim, const T *cPrev, T *cNext,
                  const T *nPrev, T *nNext, const T *mPrev, T *mNext) {
  const int64_t length = gates.length;
  // mlstm_exp: the new stabiliser is the largest log weight any term of
  // the new state carries; every factor below is then exp(<= 0).
  T stabilizer = T(0);
  if (gateHasStabilizer(gate)) {
    stabilizer = gates.bPlus(length - 1, 0, *mPrev);
    for (int64_t s = 0; s < length; ++s)
      stabilizer = std::max(stabilizer, gates.toEnd(s) + gates.logInput[s]);
    *mNext = stabilizer;
  }
  const T carry = gateHasStabilizer(gate) ? *mPrev : T(0);
  for (int64_t d = 0; d < keyDim; ++d) {
    const int64_t gd = gates.width == 1 ? 0 : d;
    const T oldScale =
        std::exp(gates.bPlus(length - 1, gd, carry) - stabilizer);
    for (int64_t e = 0; e < valueDim; ++e)
      cNext[d * valueDim + e] = oldScale * cPrev[d * valueDim + e];
    if (nNext)
      nNext[d] = oldScale * nPrev[d];
  }
  for (int64_t s = 0; s < length; ++s) {
    const T *kRow = head.k + (firstStep + s) * keyDim;
    const T *vRow = head.v + (firstStep + s) * valueDim;
    for (int64_t d = 0; d < keyDim; ++d) {
      const int64_t gd = gates.width == 1 ? 0 : d;
      const T weight =
          std::exp(gates.toEnd(s, gd) + gates.logInput[s] - stabilizer);
      const T kWeighted = weight * kRow[d];
      for (int64_t e = 0; e < valueDim; ++e)
        cNext[d * valueDim + e] += kWeighted * vRow[e];
      if (nNext)
        nNext[d] += kWeighted;
    }
  }
}

/// Pass 2 for one inner query tile [r0, r1) of one chunk (semantics.md
/// §4.3-4.4): loops over the inner key tiles up to the diagonal, then adds
/// the start state's contribution and normalises.
template <typename T>
void chunkQueryTile(GateKind gate, T scale, T eps, const ChunkGates<T> &gates,
                    const HeadOperands<T> &head, int64_t firstStep,
                    int64_t keyDim, int64_t valueDim, int64_t r0, int64_t r1,
                    int64_t innerKey, const T *cStart, const T *nStart,
                    const T *mStart, T *out) {
  const T negInf = -std::numeric_limits<T>::infinity();
  const bool stabilized = gateHasStabilizer(gate);
  const bool vectorGate = gate == GateKind::Vector;
  const int64_t rows = r1 - r0;

  std::vector<T> qScaled(rows * keyDim);
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t d = 0; d < keyDim; ++d)
      qScaled[(r - r0) * keyDim + d] =
          scale * head.q[(firstStep + r) * keyDim + d];

  // Vector gates, key tiles strictly before the query tile: factor the
  // decay through the tile's first row r0 so the scores are a plain
  // matmul of gated q and gated k, both factors exp(<= 0) for log-decays.
  std::vector<T> qGated;
  if (vectorGate) {
    qGated.resize(rows * keyDim);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t d = 0; d < keyDim; ++d)
        qGated[(r - r0) * keyDim + d] =
            qScaled[(r - r0) * keyDim + d] * std::exp(gates.between(r, r0, d));
  }

  std::vector<T> numerator(rows * valueDim, T(0));
  std::vector<T> denominator(rows, T(0));
  std::vector<T> rowMax(rows, negInf);
  std::vector<T> kGated, logWeight, score;

  for (int64_t s0 = 0; s0 < r1; s0 += innerKey) {
    const int64_t s1 = std::min(s0 + innerKey, gates.length);
    const int64_t keys = s1 - s0;
    const bool beforeQueryTile = s1 <= r0;
    if (vectorGate && beforeQueryTile) {
      kGated.assign(keys * keyDim, T(0));
      for (int64_t s = s0; s < s1; ++s)
        for (int64_t d = 0; d < keyDim; ++d)
          kGated[(s - s0) * keyDim + d] = head.k[(firstStep + s) * keyDim + d] *
                                          std::exp(gates.between(r0, s, d));
    }

    // Scores and log gate weights of the tile; -inf marks s > r.
    logWeight.assign(rows * keys, negInf);
    score.assign(rows * keys, T(0));
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t s = s0; s < std::min(s1, r + 1); ++s) {
        const T *kRow = head.k + (firstStep + s) * keyDim;
        const T *qRow = qScaled.data() + (r - r0) * keyDim;
        T dot = T(0);
        if (!vectorGate) {
          for (int64_t d = 0; d < keyDim; ++d)
            dot += qRow[d] * kRow[d];
          logWeight[(r - r0) * keys + (s - s0)] =
              gates.between(r, s) + gates.logInput[s];
        } else {
          if (beforeQueryTile) {
            const T *qg = qGated.data() + (r - r0) * keyDim;
            const T *kg = kGated.data() + (s - s0) * keyDim;
            for (int64_t d = 0; d < keyDim; ++d)
              dot += qg[d] * kg[d];
          } else {
            for (int64_t d = 0; d < keyDim; ++d)
              dot += qRow[d] * kRow[d] * std::exp(gates.between(r, s, d));
          }
          logWeight[(r - r0) * keys + (s - s0)] = T(0);
        }
        score[(r - r0) * keys + (s - s0)] = dot;
      }

    for (int64_t i = 0; i < rows; ++i) {
      const T *logW = logWeight.data() + i * keys;
      T offset = T(0);
      if (stabilized) {
        // Online max across key tiles, as in FlashAttention's softmax:
        // rescale what was accumulated under the old maximum.
        T tileMax = negInf;
        for (int64_t j = 0; j < keys; ++j)
          tileMax = std::max(tileMax, logW[j]);
        const T newMax = std::max(rowMax[i], tileMax);
        if (newMax == negInf)
          continue; // no visible key yet for this row
        const T rescale =
            rowMax[i] == negInf ? T(0) : std::exp(rowMax[i] - newMax);
        for (int64_t e = 0; e < valueDim; ++e)
          numerator[i * valueDim + e] *= rescale;
        denominator[i] *= rescale;
        rowMax[i] = newMax;
        offset = newMax;
      }
      for (int64_t j = 0; j < keys; ++j) {
        if (logW[j] == negInf)
          continue;
        const T p = score[i * keys + j] * std::exp(logW[j] - offset);
        const T *vRow = head.v + (firstStep + s0 + j) * valueDim;
        for (int64_t e = 0; e < valueDim; ++e)
          numerator[i * valueDim + e] += p * vRow[e];
        denominator[i] += p;
      }
    }
  }

  // Combine with the start state of the chunk.
  std::vector<T> qInter(keyDim);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t i = r - r0;
    T intraScale = T(1);
    T floor = T(1);
    if (stabilized) {
      const T interLog = gates.bPlus(r, 0, *mStart);
      const T combined = std::max(interLog, rowMax[i]);
      const T interScale = std::exp(interLog - combined);
      intraScale = std::exp(rowMax[i] - combined);
      for (int64_t d = 0; d < keyDim; ++d)
        qInter[d] = qScaled[i * keyDim + d] * interScale;
      floor = std::exp(-combined);
    } else {
      for (int64_t d = 0; d < keyDim; ++d)
        qInter[d] = qScaled[i * keyDim + d] *
                    std::exp(gates.b(r, gates.width == 1 ? 0 : d));
    }
    T *oRow = out + (firstStep + r) * valueDim;
    for (int64_t e = 0; e < valueDim; ++e) {
      T sum = T(0);
      for (int64_t d = 0; d < keyDim; ++d)
        sum += qInter[d] * cStart[d * valueDim + e];
      oRow[e] = sum + intraScale * numerator[i * valueDim + e];
    }
    if (nStart) {
      T qn = T(0);
      for (int64_t d = 0; d < keyDim; ++d)
        qn += qInter[d] * nStart[d];
      const T normalizer =
          std::max(std::fabs(qn + intraScale * denominator[i]), floor) + eps;
      for (int64_t e = 0; e < valueDim; ++e)
        oRow[e] /= normalizer;
    }
  }
}

} // namespace

template <typename T>
ChunkStates<T> chunkBoundaryStates(const LinearProblem &problem,
                                   const LinearInputs<T> &inputs,
                                   int64_t chunkSize) {
  if (problem.featureMap)
    return chunkBoundaryStates(withoutFeatureMap(problem), mapFeatures(problem, inputs),
                               chunkSize);
  const LinearShape shape = linearShape(problem, inputs);
  const GateKind gate = problem.gate;
  const int64_t chunks = chunkCount(shape.steps, chunkSize);
  const int64_t dk = shape.keyDim, dv = shape.valueDim;
  const int64_t heads = shape.batch * shape.heads;

  ChunkStates<T> states;
  states.chunkSize = chunkSize;
  states.chunks = chunks;
  states.c = Tensor<T>({shape.batch, shape.heads, chunks + 1, dk, dv});
  if (gateHasNormalizer(gate))
    states.n = Tensor<T>({shape.batch, shape.heads, chunks + 1, dk});
  if (gateHasStabilizer(gate))
    states.m = Tensor<T>({shape.batch, shape.heads, chunks + 1});

  for (int64_t bh = 0; bh < heads; ++bh) {
    T *c = states.c.data() + bh * (chunks + 1) * dk * dv;
    T *n = gateHasNormalizer(gate) ? states.n.data() + bh * (chunks + 1) * dk
                                   : nullptr;
    T *m =
        gateHasStabilizer(gate) ? states.m.data() + bh * (chunks + 1) : nullptr;
    if (shape.hasInitialState) {
      std::copy_n(inputs.initial.c.data() + bh * dk * dv, dk * dv, c);
      if (n)
        std::copy_n(inputs.initial.n.data() + bh * dk, dk, n);
      if (m)
        *m = inputs.initial.m.data()[bh];
    }
    const HeadOperands<T> head = headOperands(inputs, shape, bh);
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t firstStep = chunk * chunkSize;
      const int64_t length = std::min(chunkSize, shape.steps - firstStep);
      const ChunkGates<T> gates = computeChunkGates(
          gate, inputs, bh * shape.steps + firstStep, length, dk);
      advanceState(gate, gates, head, firstStep, dk, dv, c + chunk * dk * dv,
                   c + (chunk + 1) * dk * dv, n ? n + chunk * dk : nullptr,
                   n ? n + (chunk + 1) * dk : nullptr, m ? m + chunk : nullptr,
                   m ? m + chunk + 1 : nullptr);
    }
  }
  return states;
}

template <typename T>
LinearResult<T> chunkwiseRecurrence(const LinearProblem &problem,
                                    const LinearInputs<T> &inputs,
                                    const ChunkTiling &tiling) {
  if (problem.featureMap)
    return chunkwiseRecurrence(withoutFeatureMap(problem), mapFeatures(problem, inputs),
                               tiling);
  if (auto error = validateChunkTiling(tiling))
    throw ReferenceError(*error);
  const LinearShape shape = linearShape(problem, inputs);
  const GateKind gate = problem.gate;
  const int64_t dk = shape.keyDim, dv = shape.valueDim;
  const int64_t heads = shape.batch * shape.heads;
  const T scale = static_cast<T>(effectiveLinearScale(problem, dk));
  const T eps = static_cast<T>(problem.normalizerEps);

  // Pass 1: every chunk's start state (the inter-chunk kernel).
  const ChunkStates<T> states =
      chunkBoundaryStates(problem, inputs, tiling.chunkSize);
  const int64_t chunks = states.chunks;

  // Pass 2: chunks are independent given their start states (the
  // intra-chunk kernel, one CTA per chunk and query tile).
  LinearResult<T> result;
  result.out = Tensor<T>({shape.batch, shape.heads, shape.steps, dv});
  for (int64_t bh = 0; bh < heads; ++bh) {
    const HeadOperands<T> head = headOperands(inputs, shape, bh);
    T *outHead = result.out.data() + bh * shape.steps * dv;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t firstStep = chunk * tiling.chunkSize;
      const int64_t length =
          std::min(tiling.chunkSize, shape.steps - firstStep);
      const ChunkGates<T> gates = computeChunkGates(
          gate, inputs, bh * shape.steps + firstStep, length, dk);
      const int64_t boundary = bh * (chunks + 1) + chunk;
      const T *cStart = states.c.data() + boundary * dk * dv;
      const T *nStart =
          gateHasNormalizer(gate) ? states.n.data() + boundary * dk : nullptr;
      const T *mStart =
          gateHasStabilizer(gate) ? states.m.data() + boundary : nullptr;
      for (int64_t r0 = 0; r0 < length; r0 += tiling.innerQuery)
        chunkQueryTile(gate, scale, eps, gates, head, firstStep, dk, dv, r0,
                       std::min(r0 + tiling.innerQuery, length),
                       tiling.innerKey, cStart, nStart, mStart, outHead);
    }
  }

  applyOutputMod(problem, result.out);

  // The final state is the last boundary state.
  result.finalState = zeroState<T>(gate, shape);
  for (int64_t bh = 0; bh < heads; ++bh) {
    const int64_t last = bh * (chunks + 1) + chunks;
    std::copy_n(states.c.data() + last * dk * dv, dk * dv,
                result.finalState.c.data() + bh * dk * dv);
    if (gateHasNormalizer(gate))
      std::copy_n(states.n.data() + last * dk, dk,
                  result.finalState.n.data() + bh * dk);
    if (gateHasStabilizer(gate))
      result.finalState.m.data()[bh] = states.m.data()[last];
  }
  return result;
}

template ChunkStates<float>
chunkBoundaryStates<float>(const LinearProblem &, const LinearInputs<float> &,
                           int64_t);
template ChunkStates<double>
chunkBoundaryStates<double>(const LinearProblem &, const LinearInputs<double> &,
                            int64_t);
template LinearResult<float>
chunkwiseRecurrence<float>(const LinearProblem &, const LinearInputs<float> &,
                           const ChunkTiling &);
template LinearResult<double>
chunkwiseRecurrence<double>(const LinearProblem &, const LinearInputs<double> &,
                            const ChunkTiling &);

} // namespace flashgen::reference
