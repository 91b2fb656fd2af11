//===- AttentionGrad.h - float64 gradients of flash.attention ---*- C++ -*-===//
//
// dq, dk, dv of flash.attention (docs/semantics.md §2.6) for a given output
// gradient do, in float64: what flash.attention_grad computes and what its
// kernels are checked against. The forward is recomputed inside, so callers
// pass only the op's inputs.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_ATTENTIONGRAD_H
#define FLASHGEN_REFERENCE_ATTENTIONGRAD_H

#include "reference/Attention.h"

namespace flashgen::reference {

/// d score_mod / d s at the scaled raw score s = scale <q_i, k_j>, with
/// ScoreMod's arguments (flash.attention_grad's score_grad region).
using ScoreModGrad = ScoreMod;

struct AttentionGradResult {
  /// The forward's o [B, Hq, N, Dv] and lse [B, Hq, N].
  AttentionResult forward;
  Tensor<double> dq; // [B, Hq, N, D]
  Tensor<double> dk; // [B, Hkv, M, D], summed over each group's query heads
  Tensor<double> dv; // [B, Hkv, M, Dv], likewise
  /// Rounding-error scales (ErrorScale.h's idea, one per gradient, same
  /// shapes): the sums of the magnitudes of the terms each element adds up,
  ///   dv_je:  sum_i P_ij |do_ie|
  ///   dq_ic:  |scale| sum_j E_ij |k_jc|,   dk_jc: |scale| sum_i E_ij |q_ic|
  /// with E_ij = P_ij (sum_e |do_ie| |v_je| + |D_i|) |score_grad(s_ij)| the
  /// magnitude behind dS_ij. A correct float kernel stays within a small
  /// multiple of its unit roundoff times these.
  Tensor<double> dqScale, dkScale, dvScale;
};

/// The gradients of the scalar sum(o * dout) with respect to q, k and v:
///   P_ij = exp(s'_ij - lse_i), dP = do v^T, D_i = sum_e do_ie o_ie,
///   dS'_ij = P_ij (dP_ij - D_i), dS_ij = dS'_ij score_grad(s_ij),
///   dq = scale dS k, dk = scale dS^T q, dv = P^T do.
/// Hidden keys, keys score_mod sends to -inf and rows without visible keys
/// contribute 0 (score_grad is not evaluated there). An empty `scoreGrad`
/// means d score_mod / ds = 1: right without a score_mod and for ones that
/// add a score-independent bias (ALiBi). Throws ReferenceError on malformed
/// input (dout must have o's shape).
AttentionGradResult referenceAttentionGrad(const AttentionProblem &problem,
                                           const ScoreModGrad &scoreGrad,
                                           const Tensor<double> &q,
                                           const Tensor<double> &k,
                                           const Tensor<double> &v,
                                           const Tensor<double> &dout);

/// The same given the forward's o and lse, as flash.attention_grad takes
/// them (operands, possibly rounded to the kernel's types): D_i uses this o
/// and P this lse, so the result is what a kernel reading exactly these
/// values should produce. `forward` of the result holds o and lse.
AttentionGradResult attentionGradGivenForward(
    const AttentionProblem &problem, const ScoreModGrad &scoreGrad,
    const Tensor<double> &q, const Tensor<double> &k, const Tensor<double> &v,
    const Tensor<double> &o, const Tensor<double> &lse,
    const Tensor<double> &dout);

/// d/ds of softcapScoreMod(cap): 1 - tanh(s / cap)^2.
ScoreModGrad softcapScoreModGrad(double cap);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_ATTENTIONGRAD_H
