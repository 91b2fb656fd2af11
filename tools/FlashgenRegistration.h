//===- FlashgenRegistration.h - dialects and passes every tool loads -*- C++ -*-===//
//
// One place that lists what flashgen's tools register, so flashgen-opt,
// flashgen and flashgen-ref parse the same specs.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_TOOLS_FLASHGENREGISTRATION_H
#define FLASHGEN_TOOLS_FLASHGENREGISTRATION_H

#include "codegen/Passes.h"
#include "dialect/FlashDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir::flash {

/// Registers the dialects a flashgen spec may use.
inline void registerFlashgenDialects(DialectRegistry &registry) {
  registry.insert<FlashDialect, arith::ArithDialect, math::MathDialect,
                  scf::SCFDialect, tensor::TensorDialect,
                  func::FuncDialect>();
}

/// Registers every flashgen pass with the global pass registry: the
/// compiler's (passes/) and codegen's (codegen/).
inline void registerFlashgenPasses() {
  registerFlashPasses();
  registerFlashCodegenPasses();
}

} // namespace mlir::flash

#endif // FLASHGEN_TOOLS_FLASHGENREGISTRATION_H
