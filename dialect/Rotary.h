//===- Rotary.h - rotary position embedding: the one description -*- C++ -*-===//
//
// A flash.attention with `rotary STYLE tables [cos, sin]` rotates q and k
// by rotary position embedding before the product (docs/semantics.md
// §2.12). The tables are two of the op's extras: f32 [P, R/2], or
// [B, P, R/2] with one table per sequence, holding cos and sin of each
// position's R/2 angles (frequency scaling of any kind is in the tables).
// This is the one description the verifier, the lowering, the emitter's
// kernels, the scheduler's problem and the reference read.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_ROTARY_H
#define FLASHGEN_DIALECT_ROTARY_H

#include "dialect/FlashDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>
#include <string>

namespace mlir::flash {

struct Rotary {
  RotaryStyle style = RotaryStyle::half;
  /// The extras' names and positions among the op's extras.
  std::string cosName, sinName;
  unsigned cosIndex = 0, sinIndex = 0;
  /// Both tables' type: [P, R/2] or [B, P, R/2], f32.
  RankedTensorType tableType;
  /// R: the leading dims of q and k that rotate (2 x the tables' last dim).
  int64_t dims = 0;

  /// One table per sequence ([B, P, R/2]): indexed by the batch too.
  bool perSequence() const { return tableType.getRank() == 3; }
};

/// The rotary embedding of `attention` (a flash.attention or its
/// flash.attention_grad), nullopt when it has none.
std::optional<Rotary> rotaryOf(Operation *attention);

/// flash.attention's (and flash.attention_grad's) rotary rules: both tables named, extras of the same
/// f32 type [P, R/2] or [B, P, R/2], R even, at most the head dim, and a
/// whole number of 16-byte chunks per rotated half (the kernels rotate
/// chunk by chunk): R % 16 == 0 for `half`, R % 8 == 0 for `interleaved`.
LogicalResult verifyRotary(Operation *attention);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_ROTARY_H
