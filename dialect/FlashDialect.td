//===- FlashDialect.td - the flash dialect and its op base -*- tablegen -*-===//
//
// The `flash` dialect describes sequence-mixing computations (softmax
// attention, gated linear recurrences) at the level a user thinks of them;
// passes attach IO bounds and schedules, and later lower them to kernels.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_DIALECT
#define FLASH_DIALECT

include "mlir/IR/OpBase.td"

def Flash_Dialect : Dialect {
  let name = "flash";
  let summary = "IO-aware attention and gated linear recurrences";
  let description = [{
    Semantic ops on builtin tensors. Batch and sequence dimensions may be
    dynamic and carry names (`dims`), so tools can bind them by name; head
    counts and head dimensions are static, because kernels specialise on them.
  }];
  let cppNamespace = "::mlir::flash";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"];
}

class Flash_Op<string mnemonic, list<Trait> traits = []> :
    Op<Flash_Dialect, mnemonic, traits>;

#endif // FLASH_DIALECT
