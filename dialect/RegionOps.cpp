//===- RegionOps.cpp - ops allowed inside score_mod / mask_mod ------------===//

#include "dialect/RegionOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

static constexpr llvm::StringLiteral kSupportedRegionOps[] = {
    // Arithmetic on f32 scores.
    "arith.constant", "arith.addf", "arith.subf", "arith.mulf", "arith.divf",
    "arith.negf", "arith.maximumf", "arith.minimumf", "arith.maxnumf",
    "arith.minnumf", "arith.cmpf", "arith.select",
    // Integer arithmetic on indices (positions, heads, documents).
    "arith.addi", "arith.subi", "arith.muli", "arith.divsi", "arith.remsi",
    "arith.divui", "arith.remui", "arith.floordivsi", "arith.cmpi",
    "arith.andi", "arith.ori", "arith.xori", "arith.extui", "arith.maxsi", "arith.minsi",
    // Bit tests of packed masks (a tree's ancestor bits).
    "arith.shli", "arith.shrui", "arith.shrsi",
    "arith.index_cast", "arith.sitofp", "arith.uitofp", "arith.fptosi",
    "arith.extf", "arith.truncf",
    // Elementary functions.
    "math.tanh", "math.exp", "math.exp2", "math.log", "math.log2",
    "math.sqrt", "math.rsqrt", "math.absf", "math.absi", "math.floor",
    "math.ceil", "math.powf",
    // Reading an extra operand (a document id, a bias, a run-time scalar).
    "tensor.extract",
    // The terminator.
    "flash.yield",
};

llvm::ArrayRef<llvm::StringLiteral> mlir::flash::getSupportedRegionOpNames() {
  return kSupportedRegionOps;
}

bool mlir::flash::isSupportedRegionOp(Operation *op) {
  llvm::StringRef name = op->getName().getStringRef();
  return llvm::is_contained(kSupportedRegionOps, name);
}

llvm::SmallPtrSet<Operation *, 16>
mlir::flash::perElementOps(Block &block, llvm::ArrayRef<bool> argIsPerElement) {
  llvm::SmallPtrSet<Value, 16> perElement;
  for (auto [arg, inner] : llvm::zip(block.getArguments(), argIsPerElement))
    if (inner)
      perElement.insert(arg);
  // The regions are one flat block (isSupportedRegionOp): an op depends on
  // what came before it.
  llvm::SmallPtrSet<Operation *, 16> ops;
  for (Operation &op : block)
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return perElement.contains(v); })) {
      ops.insert(&op);
      perElement.insert(op.result_begin(), op.result_end());
    }
  return ops;
}
