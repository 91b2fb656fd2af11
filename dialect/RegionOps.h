//===- RegionOps.h - ops allowed inside score_mod / mask_mod ----*- C++ -*-===//
//
// One list of the scalar ops a `score_mod` or `mask_mod` region may use. The
// verifier, the CPU reference interpreter and the CUDA emitter all consult it,
// so an op is either supported everywhere or rejected at verification.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DIALECT_REGIONOPS_H
#define FLASHGEN_DIALECT_REGIONOPS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::flash {

/// Names of the ops (e.g. "arith.addf", "math.tanh") allowed in mod regions.
llvm::ArrayRef<llvm::StringLiteral> getSupportedRegionOpNames();

/// True when `op` may appear in a score_mod or mask_mod region.
bool isSupportedRegionOp(Operation *op);

/// The ops of a region's block that depend, directly or through other ops,
/// on a block argument whose `argIsPerElement` entry is set (the score, the
/// positions; arguments past the array, the op's extras, are not): the
/// code that runs per score element. The others read only what a CTA
/// shares (batch, head, extras), so the lowering hoists them out of the
/// element loop and the cost model does not count them per score.
llvm::SmallPtrSet<Operation *, 16>
perElementOps(Block &block, llvm::ArrayRef<bool> argIsPerElement);

} // namespace mlir::flash

#endif // FLASHGEN_DIALECT_REGIONOPS_H
