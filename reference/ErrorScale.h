//===- ErrorScale.h - rounding-error scale of outputs -----------*- C++ -*-===//
//
// A float32 or bf16 result cannot be compared with the float64 reference by
// plain relative error: an mLSTM row whose normaliser |n.q~| nearly cancels,
// or an attention output that is a small difference of large values, is
// ill-conditioned, and every float form (step-by-step, chunkwise, GPU)
// misses it by far more than 1e-5 relative. What rounding errors of any
// summation order are proportional to is the sum of the magnitudes of the
// terms. These functions compute that scale per output element in float64,
// so tests can require |actual - expected| <= tol * scale element-wise: a
// bound that holds for correct kernels on every input and still catches a
// wrong weight or a lost term. docs/semantics.md §5 states the formulas.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_ERRORSCALE_H
#define FLASHGEN_REFERENCE_ERRORSCALE_H

#include "reference/Attention.h"
#include "reference/LinearProblem.h"

namespace flashgen::reference {

/// scale_ie = sum over visible j of p_ij |v_je| (p the softmax weights),
/// [B, Hq, N, Dv]; zero for rows without visible keys.
Tensor<double> attentionErrorScale(const AttentionProblem &problem,
                                   const Tensor<double> &q,
                                   const Tensor<double> &k,
                                   const Tensor<double> &v);

/// For o_t = num_t / D_t (D_t = 1 without normaliser):
///   scale_te = (|q~_t|^T |C|_t[:, e] + |o_te| |q~_t|^T |n|_t) / D_t,
/// where |C|_t, |n|_t are the states rebuilt from |k|, |v|, |C0|, |n0| with
/// the same (non-negative) gate weights. [B, H, T, Dv].
Tensor<double> linearErrorScale(const LinearProblem &problem,
                                const LinearInputs<double> &inputs);

/// max over elements of |actual - expected| / scale, where an element with
/// scale 0 must match exactly (it counts as 0 if equal, +inf if not).
/// +inf on a shape mismatch or a NaN in `actual`.
template <typename T>
double scaledError(const Tensor<T> &actual, const Tensor<double> &expected,
                   const Tensor<double> &scale);

extern template double scaledError<float>(const Tensor<float> &,
                                          const Tensor<double> &,
                                          const Tensor<double> &);
extern template double scaledError<double>(const Tensor<double> &,
                                           const Tensor<double> &,
                                           const Tensor<double> &);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_ERRORSCALE_H
