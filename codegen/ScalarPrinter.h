//===- ScalarPrinter.h - print scalar IR and control flow as C --*- C++ -*-===//
//
// The part of the CUDA emitter every kernel family shares: SSA value names,
// `arith`/`math` ops as C expressions, `scf.for`/`scf.if` as loops and
// branches, `flash.grid_map` and `flash.dim`. A family printer derives from
// it and prints its own tile ops in `printKernelOp`.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_SCALARPRINTER_H
#define FLASHGEN_CODEGEN_SCALARPRINTER_H

#include "codegen/CudaEmitter.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::flash {

/// Prints a float so that the CUDA compiler reads back the same f32 value.
std::string floatLiteral(double value);

/// The device library's element type name ("fg::bf16", ...).
std::string elementTypeName(Type type);

class ScalarPrinter {
public:
  explicit ScalarPrinter(KernelOp kernel) : kernel(kernel) {}
  virtual ~ScalarPrinter() = default;

protected:
  KernelOp kernel;
  EmittedKernel result;
  std::string body;
  llvm::raw_string_ostream os{body};
  llvm::DenseMap<Value, std::string> names;
  unsigned nextName = 0;
  unsigned indent = 1;
  /// When set, the kernel is persistent: grid_map decodes its ids from this
  /// linear tile index (first role fastest) instead of blockIdx.
  std::string persistentTile;

  /// Prints the family's own ops; called for every op the base does not
  /// know.
  virtual LogicalResult printKernelOp(Operation *op) = 0;

  LogicalResult printBlock(Block &block);
  LogicalResult printOp(Operation *op);
  LogicalResult printScalar(Operation *op);

  int64_t problemInt(StringRef key);
  std::string problemString(StringRef key);
  llvm::raw_ostream &line();
  std::string fresh() { return "v" + std::to_string(nextName++); }
  std::string name(Value value) { return names.lookup(value); }
};

/// A grid extent of the manifest's expression language ("cdiv(N,128)",
/// "16", "B") as C++ over the kernel's size arguments
/// ("fg::ceildiv(dim_N, 128)", "16", "dim_B").
std::string extentToCpp(llvm::StringRef extent);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_SCALARPRINTER_H
