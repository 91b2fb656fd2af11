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

/// The same gradients in the chunkwise form the backward kernels compute
/// (docs/semantics.md §7.5), chunks of `chunk` steps (the last one ragged):
/// each chunk's WY factors (delta_prepare's), the states before the chunks
/// in order, the gradients of the states after them last chunk first
/// (with dU~, which the state-gradient pass needs as U~ = U - W S reads
/// S), then every chunk apart: dq, dk, U~'s and W's gradients, the WY
/// system's backward into dk, dv, dbeta and the log-decays. Throws
/// ReferenceError on malformed input or chunk < 1.
DeltaGradResult chunkwiseDeltaRuleGrad(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs,
                                       const Tensor<double> &dout, const Tensor<double> *dFinal,
                                       int64_t chunk);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_DELTARULEGRAD_H
