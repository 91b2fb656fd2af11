//===- Passes.h - codegen passes --------------------------------*- C++ -*-===//
//
// Declarations and registration of the passes codegen/ owns (see
// codegen/Passes.td): registerFlashCodegenPasses().
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_PASSES_H
#define FLASHGEN_CODEGEN_PASSES_H

#include "dialect/FlashDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::flash {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_PASSES_H
