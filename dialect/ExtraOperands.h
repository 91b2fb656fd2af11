//===- ExtraOperands.h - tensors and scalars the mod regions read -*- C++ -*-===//
//
// A flash.attention (and the flash.attention_grad derived from it) may list
// extra operands that score_mod and mask_mod read with tensor.extract:
// document ids, bias tables, per-sequence lengths, and at rank 0 run-time
// scalars. This is the one description of them the verifier, the lowering,
// the bundle writer and the reference read: name, type, and which dims
// name each dynamic size.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_EXTRAOPERANDS_H
#define FLASHGEN_DIALECT_EXTRAOPERANDS_H

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::flash {

struct ExtraOperand {
  /// What callers bind it by ("doc"): a manifest param or scalar name.
  std::string name;
  RankedTensorType type;
  /// Per dimension: the dims name ("B", "N") of a dynamic size, empty for a
  /// static one.
  llvm::SmallVector<std::string> dimNames;

  /// A rank-0 extra is a scalar passed by value at launch.
  bool isScalar() const { return type.getRank() == 0; }
};

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_EXTRAOPERANDS_H
