//===- ChunkwiseGrad.h - chunkwise gradients of linear_attention -*- C++ -*-===//
//
// The chunkwise form of the recurrences' backward (the algorithm their
// backward kernels implement; RecurrenceGrad.h is the definition it is
// checked against), in float64:
//
//  1. forward inter-chunk pass: the state before every chunk (as
//     Chunkwise.h's pass 1);
//  2. backward inter-chunk pass, last chunk first: the gradient of the
//     state at a chunk's end, dS_end, is the next chunk's dS0;
//  3. per chunk, with the cumulative log decays B_t (per key dim) inside
//     it, q^_t = s q_t e^{B_t} and k^_t = w_t k_t e^{-B_t}:
//       h_t = S0^T q^_t + sum_{j<=t} (q^_t . k^_j) v_j
//     so, with D_end = diag(e^{B_L}) dS_end,
//       dq^_t = S0 dh_t + sum_{j<=t} (dh_t . v_j) k^_j
//       dk^_j = sum_{t>=j} (dh_t . v_j) q^_t + D_end v_j
//       dv_j  = sum_{t>=j} (q^_t . k^_j) dh_t + D_end^T k^_j
//       dS0   = sum_t q^_t dh_t^T + D_end
//     and the log decays' gradient is the reverse cumulative sum of
//     dB_t = dq^_t o q^_t - dk^_t o k^_t (plus the chunk end's
//     dS_end o S_L for B_L).
//  The normaliser n is a value column of ones (n_t = a n + w k), o = h /
//  (max(|q.n|, 1) + eps) differentiated per row first. mlstm_exp runs
//  unstabilised here (a = sigmoid(f), w = exp(i), the initial state
//  scaled by exp(m_0)): its stored states' exp(-m) and the normaliser's
//  eps exp(m_t) carry the gradient into the stabiliser, which goes back
//  through its max chain last (float64 at test sizes; a kernel keeps the
//  running stabiliser per chunk).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_CHUNKWISEGRAD_H
#define FLASHGEN_REFERENCE_CHUNKWISEGRAD_H

#include "reference/RecurrenceGrad.h"

namespace flashgen::reference {

/// The gradients of RecurrenceGrad.h (same scalar, same result layout)
/// computed chunk by chunk with chunks of `chunkSize` steps (the last one
/// partial). Throws ReferenceError for chunkSize < 1 or malformed input.
LinearGradResult chunkwiseRecurrenceGrad(const LinearProblem &problem,
                                         const LinearInputs<double> &inputs,
                                         const Tensor<double> &dout,
                                         const RecurrentState<double> *dFinal,
                                         int64_t chunkSize);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_CHUNKWISEGRAD_H
