//===- Varlen.h - packed variable-length batches for the reference -*- C++ -*-===//
//
// What flashgen-ref draws for an attention whose queries or keys are packed
// sequences (dialect/Varlen.h, docs/semantics.md §2.9): lengths per
// sequence, their offsets (cu_seqlens), and the packed [T, H, D] tensors
// built from the padded [B, H, N, D] ones the inputs are drawn as. The
// float64 reference computes on the padded tensors with the lengths
// (AttentionProblem::queryLengths / keyLengths) and packs its results.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_VARLEN_H
#define FLASHGEN_REFERENCE_VARLEN_H

#include "reference/Tensor.h"

#include <cstdint>
#include <vector>

namespace flashgen::reference {

/// `batch` lengths in [0, maxLength] drawn from `seed`, with the edge cases
/// a serving batch has: the last sequence is maxLength long, and with
/// three or more sequences the first is empty and the second one row long.
std::vector<int64_t> drawSequenceLengths(int64_t batch, int64_t maxLength,
                                         uint64_t seed);

/// The offsets of `lengths` [B + 1]: 0, then running sums (integers).
Tensor<double> sequenceOffsets(const std::vector<int64_t> &lengths);

/// x [B, H, N, D] packed to [T, H, D]: sequence b's first lengths[b] rows,
/// back to back (T = sum of the lengths); x [B, H, N] (a recurrence's
/// scalar gates) to [T, H].
Tensor<double> packRows(const Tensor<double> &x,
                        const std::vector<int64_t> &lengths);

/// Sequence b's first `length` rows of x [B, H, N(, D)]: [1, H, length(, D)].
Tensor<double> sequenceRows(const Tensor<double> &x, int64_t b, int64_t length);

/// Sequence b's entry of a per-sequence tensor x [B, ...] (a state): [1, ...].
Tensor<double> sequenceEntry(const Tensor<double> &x, int64_t b);

/// A log-sum-exp [B, H, N] packed to [H, T], FlashAttention's varlen
/// layout.
Tensor<double> packRowStatistics(const Tensor<double> &lse,
                                 const std::vector<int64_t> &lengths);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_VARLEN_H
