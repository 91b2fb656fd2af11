//===- Rotary.h - float64 rotary position embedding --------------*- C++ -*-===//
//
// docs/semantics.md §2.12: a flash.attention with `rotary` turns the first
// R dims of q and k in pairs by the angles whose cos and sin its tables
// hold at each row's position (query i at i + M - N, key j at j, per
// sequence), then attends. The reference rotates the inputs and rounds
// them to their element type (the kernels hold rotated tiles in it), then
// runs referenceAttention unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_ROTARY_H
#define FLASHGEN_REFERENCE_ROTARY_H

#include "reference/Tensor.h"

#include <vector>

namespace flashgen::reference {

enum class RotaryStyle {
  /// Pairs (f, f + R/2): GPT-NeoX, Llama, Hugging Face's rotate_half.
  Half,
  /// Pairs (2f, 2f + 1): GPT-J.
  Interleaved,
};

struct RotaryEmbedding {
  RotaryStyle style = RotaryStyle::Half;
  /// cos and sin of each position's R/2 angles: [P, R/2], or [B, P, R/2]
  /// with one table per sequence.
  Tensor<double> cos, sin;
};

/// x [B, H, L, D] with row l of sequence b at position offsets[b] + l
/// (clamped into the tables' [0, P)); the first R dims turned, the rest as
/// they are. Throws ReferenceError when the tables do not fit x.
Tensor<double> applyRotary(const RotaryEmbedding &rotary,
                           const Tensor<double> &x,
                           const std::vector<int64_t> &offsets);

/// The tables of rotary embedding with base `base` over R dims for
/// positions [0, P): angle f of position p is p * base^(-2f / R) *
/// scale[f] (scale empty: 1; per-dimension scaling as DPE and YaRN use it),
/// plus `shift[b]` positions for sequence b when `sequences` > 0 (then the
/// tables are [sequences, P, R/2]).
RotaryEmbedding rotaryTables(RotaryStyle style, int64_t positions,
                             int64_t dims, double base,
                             const std::vector<double> &scale = {},
                             int64_t sequences = 0,
                             const std::vector<int64_t> &shift = {});

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_ROTARY_H
