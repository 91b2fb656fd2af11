//===- Recurrence.h - step-by-step linear_attention -------------*- C++ -*-===//
//
// The float64 recurrence of docs/semantics.md §3, one time step after the
// other, exactly as written there; the chunkwise form (Chunkwise.h) and the
// GPU kernels are checked against it.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_RECURRENCE_H
#define FLASHGEN_REFERENCE_RECURRENCE_H

#include "reference/LinearProblem.h"

namespace flashgen::reference {

/// Runs S_t = G_t S_{t-1} + b_t k_t v_t^T, o_t = S_t^T q~_t (with the mLSTM
/// normaliser and stabiliser) over all steps, from `inputs.initial` or a
/// zero state, and returns the outputs and the state after step T.
/// Throws ReferenceError on malformed input.
LinearResult<double> referenceRecurrence(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs);

/// The same steps computed in T. In float this is what a step-by-step
/// float32 kernel (e.g. a decode kernel) reaches, the accuracy baseline for
/// float chunkwise forms: some mLSTM rows are ill-conditioned (|n.q~| small
/// next to |C^T q~|) and no float32 form computes them to 1e-5.
template <typename T>
LinearResult<T> stepwiseRecurrence(const LinearProblem &problem,
                                   const LinearInputs<T> &inputs);

extern template LinearResult<float>
stepwiseRecurrence<float>(const LinearProblem &, const LinearInputs<float> &);
extern template LinearResult<double>
stepwiseRecurrence<double>(const LinearProblem &, const LinearInputs<double> &);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_RECURRENCE_H
