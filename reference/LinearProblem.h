//===- LinearProblem.h - operands of flash.linear_attention ----*- C++ -*-===//
//
// Gate kinds, operands, states and shape validation shared by the
// step-by-step definition (Recurrence.h) and the chunkwise form
// (Chunkwise.h). Both are templated on the element type where the GPU
// comparison needs float; the definition itself is float64 only.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_LINEARPROBLEM_H
#define FLASHGEN_REFERENCE_LINEARPROBLEM_H

#include "reference/GateKind.h"
#include "reference/Tensor.h"

#include <functional>
#include <optional>
#include <string>

namespace flashgen::reference {

using flashgen::GateKind;
using flashgen::gateHasNormalizer;
using flashgen::gateHasStabilizer;
using flashgen::gateKindName;

/// Output modifier of a recurrence: receives one normalised output element
/// o[b, h, t, d] and returns what is stored there; the state is not changed.
using LinearOutputMod = std::function<double(double out, int64_t batch, int64_t head,
                                             int64_t step, int64_t column)>;

/// Feature map of a recurrence: receives one element x of q or k at [b,
/// h, t, d] and returns what the recurrence reads there in its place
/// (docs/semantics.md §3.7).
using LinearFeatureMap = std::function<double(double x, int64_t batch, int64_t head,
                                              int64_t step, int64_t column)>;

/// Attributes of one flash.linear_attention op.
struct LinearProblem {
  GateKind gate = GateKind::None;
  /// Query scale; 1/sqrt(Dk) when absent.
  std::optional<double> scale;
  /// Added to the mLSTM normaliser (TFLA's default eps = 1e-6).
  double normalizerEps = 1e-6;
  /// Empty: the normalised output is stored as it is.
  LinearOutputMod outputMod;
  /// Empty: q and k are read as they are.
  LinearFeatureMap featureMap;
};

/// Recurrent state of one op for all (batch, head) pairs. For an initial
/// state, an empty `c` means "start from zero".
template <typename T> struct RecurrentState {
  Tensor<T> c; // [B, H, Dk, Dv]
  Tensor<T> n; // [B, H, Dk], mLSTM kinds only
  Tensor<T> m; // [B, H], mlstm_exp only
};

/// Operands. Which gate tensors are required depends on the gate kind:
///   decay:     logDecay [B, H, T]       (log of the decay factor, <= 0)
///   vector:    logDecay [B, H, T, Dk]
///   mlstm_exp: inputGate, forgetGate [B, H, T] (preactivations)
///   mlstm_sig: inputGate, forgetGate [B, H, T] (preactivations)
/// Unused gate tensors must be empty.
template <typename T> struct LinearInputs {
  Tensor<T> q; // [B, H, T, Dk]
  Tensor<T> k; // [B, H, T, Dk]
  Tensor<T> v; // [B, H, T, Dv]
  Tensor<T> logDecay;
  Tensor<T> inputGate;
  Tensor<T> forgetGate;
  RecurrentState<T> initial;
};

template <typename T> struct LinearResult {
  Tensor<T> out; // [B, H, T, Dv]
  RecurrentState<T> finalState;
  /// The normaliser kinds' rows' normalisers [B, H, T, 2]: N_t = q~_t .
  /// n_t and floor_t (1, or exp(-m_t) with a stabiliser), den_t =
  /// max(|N_t|, floor_t) + eps (docs/semantics.md §4.6; the forward's
  /// `norm` output, the gradient's input). Empty for the other kinds.
  Tensor<T> rowNorm;
};

struct LinearShape {
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t steps = 0;    // T
  int64_t keyDim = 0;   // Dk
  int64_t valueDim = 0; // Dv
  bool hasInitialState = false;
};

/// Checks every operand against the gate kind; returns the first problem
/// as a message, or std::nullopt.
std::optional<std::string>
validateLinear(const LinearProblem &problem, const Shape &q, const Shape &k,
               const Shape &v, const Shape &logDecay, const Shape &inputGate,
               const Shape &forgetGate, const Shape &initialC,
               const Shape &initialN, const Shape &initialM, bool initialGiven);

/// Sizes of a well-formed op; throws ReferenceError otherwise.
template <typename T>
LinearShape linearShape(const LinearProblem &problem,
                        const LinearInputs<T> &inputs) {
  const bool initialGiven = !inputs.initial.c.empty() ||
                            !inputs.initial.n.empty() ||
                            !inputs.initial.m.empty();
  if (auto error = validateLinear(
          problem, inputs.q.shape(), inputs.k.shape(), inputs.v.shape(),
          inputs.logDecay.shape(), inputs.inputGate.shape(),
          inputs.forgetGate.shape(), inputs.initial.c.shape(),
          inputs.initial.n.shape(), inputs.initial.m.shape(), initialGiven))
    throw ReferenceError(*error);
  LinearShape shape;
  shape.batch = inputs.q.dim(0);
  shape.heads = inputs.q.dim(1);
  shape.steps = inputs.q.dim(2);
  shape.keyDim = inputs.q.dim(3);
  shape.valueDim = inputs.v.dim(3);
  shape.hasInitialState = initialGiven;
  return shape;
}

/// The scale actually used: problem.scale or 1/sqrt(keyDim).
double effectiveLinearScale(const LinearProblem &problem, int64_t keyDim);

/// The problem's output_mod applied to every element of `out` [B, H, T,
/// Dv] (the step-by-step and the chunkwise forms alike); nothing without
/// one.
template <typename T>
void applyOutputMod(const LinearProblem &problem, Tensor<T> &out) {
  if (!problem.outputMod)
    return;
  const int64_t batch = out.dim(0), heads = out.dim(1), steps = out.dim(2),
                dv = out.dim(3);
  T *o = out.data();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < steps; ++t)
        for (int64_t d = 0; d < dv; ++d, ++o)
          *o = static_cast<T>(problem.outputMod(static_cast<double>(*o), b, h, t, d));
}

/// `inputs` with the problem's feature map applied to every element of q
/// and k (a copy; the other operands as they are). Each form computes the
/// recurrence of a problem with a feature map as that of the mapped
/// inputs under `withoutFeatureMap(problem)`.
template <typename T>
LinearInputs<T> mapFeatures(const LinearProblem &problem, const LinearInputs<T> &inputs) {
  LinearInputs<T> mapped = inputs;
  for (Tensor<T> *x : {&mapped.q, &mapped.k}) {
    if (x->rank() != 4)
      continue; // linearShape reports the malformed operand
    const int64_t batch = x->dim(0), heads = x->dim(1), steps = x->dim(2), dk = x->dim(3);
    T *e = x->data();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t t = 0; t < steps; ++t)
          for (int64_t d = 0; d < dk; ++d, ++e)
            *e = static_cast<T>(problem.featureMap(static_cast<double>(*e), b, h, t, d));
  }
  return mapped;
}

/// The problem with its feature map left out (mapFeatures).
inline LinearProblem withoutFeatureMap(LinearProblem problem) {
  problem.featureMap = nullptr;
  return problem;
}

/// Zero state of the right shapes for the gate kind.
template <typename T>
RecurrentState<T> zeroState(GateKind gate, const LinearShape &shape) {
  RecurrentState<T> state;
  state.c = Tensor<T>({shape.batch, shape.heads, shape.keyDim, shape.valueDim});
  if (gateHasNormalizer(gate))
    state.n = Tensor<T>({shape.batch, shape.heads, shape.keyDim});
  if (gateHasStabilizer(gate))
    state.m = Tensor<T>({shape.batch, shape.heads});
  return state;
}

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_LINEARPROBLEM_H
