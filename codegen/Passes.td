//===- Passes.td - codegen pass declarations ---------------*- tablegen -*-===//
//
// The passes codegen/ owns: flash-print-cuda (FlashPrintCuda.cpp). The
// compiler's own passes are in passes/Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_PASSES
#define FLASHGEN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def FlashPrintCuda : Pass<"flash-print-cuda", "::mlir::ModuleOp"> {
  let summary = "Print the CUDA C++ of every flash.kernel to standard output";
  let description = [{
    Runs the CUDA emitter on each `flash.kernel` and prints the translation
    unit it makes, so lit tests can check emitted code. The IR is left
    unchanged.
  }];
  let dependentDialects = ["::mlir::flash::FlashDialect"];
}

#endif // FLASHGEN_CODEGEN_PASSES
