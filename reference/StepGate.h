//===- StepGate.h - gate weights of one recurrence step ---------*- C++ -*-===//
//
// The per-step factors of S_t = diag(decay_t) S_{t-1} + w_t k_t v_t^T for
// every gate kind (docs/semantics.md §3.1), shared by the step-by-step
// recurrence and the error-scale pass so both use the same definition.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_STEPGATE_H
#define FLASHGEN_REFERENCE_STEPGATE_H

#include "reference/GateMath.h"
#include "reference/LinearProblem.h"

#include <algorithm>
#include <cmath>

namespace flashgen::reference {

/// Fills decay[0..keyDim) for flat step `row` (= (b*H + h)*T + t), updates
/// the stabiliser *m for mlstm_exp (m may be null for the other kinds) and
/// returns the input weight w_t.
template <typename T>
T stepGate(GateKind gate, const LinearInputs<T> &inputs, int64_t row,
           int64_t keyDim, T *m, T *decay) {
  switch (gate) {
  case GateKind::None:
    std::fill(decay, decay + keyDim, T(1));
    return T(1);
  case GateKind::Decay:
    std::fill(decay, decay + keyDim, std::exp(inputs.logDecay.data()[row]));
    return T(1);
  case GateKind::Vector:
    for (int64_t d = 0; d < keyDim; ++d)
      decay[d] = std::exp(inputs.logDecay.data()[row * keyDim + d]);
    return T(1);
  case GateKind::MlstmExp: {
    const T logForget = logSigmoid(inputs.forgetGate.data()[row]);
    const T input = inputs.inputGate.data()[row];
    const T mNew = std::max(logForget + *m, input);
    std::fill(decay, decay + keyDim, std::exp(logForget + *m - mNew));
    *m = mNew;
    return std::exp(input - mNew);
  }
  case GateKind::MlstmSig:
    std::fill(decay, decay + keyDim, sigmoid(inputs.forgetGate.data()[row]));
    return sigmoid(inputs.inputGate.data()[row]);
  }
  return T(1);
}

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_STEPGATE_H
