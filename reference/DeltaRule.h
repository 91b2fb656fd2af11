//===- DeltaRule.h - flash.delta_rule, step by step and chunkwise -*- C++ -*-===//
//
// The delta-rule recurrences of docs/semantics.md §7 (DeltaNet and gated
// DeltaNet): the float64 definition, one step after the other, and the
// chunkwise form the kernels compute (the WY representation of a chunk's
// products of (I - beta k k^T), §7.3), checked against it.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_DELTARULE_H
#define FLASHGEN_REFERENCE_DELTARULE_H

#include "reference/Tensor.h"

#include <optional>
#include <string>

namespace flashgen::reference {

/// Attributes of one flash.delta_rule op.
struct DeltaProblem {
  /// Gated DeltaNet: a log-decay g [B, H, T] scales the state before each
  /// step (exp(g_t)).
  bool gated = false;
  /// q and k divided by their L2 norms first (fla's
  /// use_qk_l2norm_in_kernel), so ||k_t|| = 1 and the update is a
  /// projection for beta_t = 1.
  bool l2NormQK = false;
  /// Query scale; 1/sqrt(Dk) when absent.
  std::optional<double> scale;
};

/// Operands: q, k [B, H, T, Dk], v [B, H, T, Dv], beta [B, H, T]; logDecay
/// [B, H, T] when gated (empty otherwise); initial [B, H, Dk, Dv] or empty
/// for a zero state.
template <typename T> struct DeltaInputs {
  Tensor<T> q, k, v, beta, logDecay, initial;
};

template <typename T> struct DeltaResult {
  Tensor<T> out;        ///< [B, H, T, Dv]
  Tensor<T> finalState; ///< [B, H, Dk, Dv], the state after step T
};

/// fla's l2norm (use_qk_l2norm_in_kernel): x / sqrt(sum x^2 + 1e-6).
constexpr double kDeltaL2NormEps = 1e-6;

/// The query scale: the op's, or 1/sqrt(Dk).
double deltaScale(const DeltaProblem &problem, int64_t dk);

/// The first problem with the operands' shapes as a message, or nothing.
std::optional<std::string>
validateDelta(const DeltaProblem &problem, const Shape &q, const Shape &k,
              const Shape &v, const Shape &beta, const Shape &logDecay,
              const Shape &initial);

/// Sequence b of a padded batch [B, H, N(, D)] as a batch of one: its
/// first `length` steps of q, k, v, beta and the log-decays (where given)
/// and its own initial state (where given). What a packed batch's
/// sequences are checked against, each alone.
DeltaInputs<double> sequenceDeltaInputs(const DeltaInputs<double> &padded, int64_t b,
                                        int64_t length);

/// The definition: S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} +
/// beta_t k_t v_t^T, o_t = S_t^T q~_t, in float64, step by step. Throws
/// ReferenceError on malformed input.
DeltaResult<double> referenceDeltaRule(const DeltaProblem &problem,
                                       const DeltaInputs<double> &inputs);

/// The chunkwise form of §7.3 with chunks of `chunk` steps (the last one
/// ragged), computed in T: what a chunk kernel computes, in its order.
template <typename T>
DeltaResult<T> chunkwiseDeltaRule(const DeltaProblem &problem,
                                  const DeltaInputs<T> &inputs, int64_t chunk);

extern template DeltaResult<float>
chunkwiseDeltaRule<float>(const DeltaProblem &, const DeltaInputs<float> &,
                          int64_t);
extern template DeltaResult<double>
chunkwiseDeltaRule<double>(const DeltaProblem &, const DeltaInputs<double> &,
                           int64_t);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_DELTARULE_H
