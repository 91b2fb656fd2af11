//===- Passes.h - flashgen passes -------------------------------*- C++ -*-===//
//
// Declarations and registration of every flashgen pass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_PASSES_H
#define FLASHGEN_PASSES_PASSES_H

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::flash {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_PASSES_H
