//===- RecurrenceGrad.h - float64 gradients of linear_attention -*- C++ -*-===//
//
// The gradients of flash.linear_attention's step recurrence (Recurrence.h,
// docs/semantics.md §3) for every gate kind, by reverse mode through the
// steps exactly as Recurrence.cpp runs them: what the recurrences' backward
// kernels will be checked against, and checked here against finite
// differences (test/unit/reference/RecurrenceGradTest.cpp).
//
// The scalar differentiated is
//   L = sum(o * dout) + sum(C_T * dC_T) + sum(n_T * dn_T) + m_T dm_T
// (the final-state terms where `dFinal` is given: a final state that
// feeds the next chunk of a sequence, or RWKV-style state tuning). mlstm_exp
// stores its states scaled by exp(-m) (§3.1): the gradients of its initial
// C, n and m are those of the stored, scaled values; max() and the
// normaliser's max(|q.n|, floor) take the branch the forward took (the
// first argument on a tie, as std::max).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_RECURRENCEGRAD_H
#define FLASHGEN_REFERENCE_RECURRENCEGRAD_H

#include "reference/LinearProblem.h"

namespace flashgen::reference {

struct LinearGradResult {
  Tensor<double> dq, dk, dv; // the shapes of q, k, v
  /// The gate operands' gradients, each empty where its operand is.
  Tensor<double> dLogDecay, dInputGate, dForgetGate;
  /// Gradients of the initial state's c, n, m (each of the operand's shape;
  /// of the zero state's where none was given, so a caller can train it).
  RecurrentState<double> dInitial;
};

/// The sizes of a gradient call: linearShape's, with dout checked to have
/// o's shape and dFinal's tensors the final state's (or be empty). Throws
/// ReferenceError otherwise.
LinearShape linearGradShape(const LinearProblem &problem,
                            const LinearInputs<double> &inputs,
                            const Tensor<double> &dout,
                            const RecurrentState<double> *dFinal);

/// Zero gradients shaped as `inputs`' operands (gate gradients where the
/// gate operand is given; the initial state's as the zero state's).
LinearGradResult zeroLinearGrad(const LinearProblem &problem,
                                const LinearInputs<double> &inputs,
                                const LinearShape &shape);

/// Throws ReferenceError on malformed input (linearGradShape).
LinearGradResult referenceRecurrenceGrad(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs,
                                         const Tensor<double> &dout,
                                         const RecurrentState<double> *dFinal = nullptr);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_RECURRENCEGRAD_H
