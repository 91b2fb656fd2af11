//===- DeltaRuleGrad.h - gradients of flash.delta_rule --------*- C++ -*-===//
//
// The float64 definition of the delta rule's gradients (docs/semantics.md
// §7.5): reverse mode through the step recurrence of DeltaRule.h, for
// DeltaNet and gated DeltaNet, with and without l2-normalised q and k, an
// initial state (its gradient is what RWKV-7-style state tuning trains)
// and an optional gradient of the final state. The backward kernels are
// checked against it; it is checked against finite differences.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_DELTARULEGRAD_H
#define FLASHGEN_REFERENCE_DELTARULEGRAD_H

#include "reference/DeltaRule.h"

namespace flashgen::reference {

struct DeltaGradResult {
  Tensor<double> dq, dk, dv, dbeta; ///< the shapes of q, k, v, beta
  Tensor<double> dLogDecay;         ///< [B, H, T] when gated, else empty
  /// [B, H, Dk, Dv]: the initial state's gradient (the zero state's where
  /// none was given, so a caller can train it).
  Tensor<double> dInitial;
};

/// dL/d(every operand) for L = sum(o * dout) + sum(S_T * dFinal) (dFinal
/// null: no final-state term). Throws ReferenceError on malformed input.
DeltaGradResult referenceDeltaRuleGrad(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs,
                                       const Tensor<double> &dout,
                                       const Tensor<double> *dFinal = nullptr);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_DELTARULEGRAD_H
