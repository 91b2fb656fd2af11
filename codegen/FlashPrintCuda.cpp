//===- FlashPrintCuda.cpp - flash-print-cuda: show the emitted CUDA -------===//
//
// Prints the CUDA C++ of every flash.kernel, one after another, each preceded
// by a `// === kernel @name` line, for lit tests and for reading.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/CudaEmitter.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHPRINTCUDA
#include "codegen/Passes.h.inc"
} // namespace mlir::flash

#define DEBUG_TYPE "flash-print-cuda"

using namespace mlir;
using namespace mlir::flash;

namespace {

struct FlashPrintCuda
    : public mlir::flash::impl::FlashPrintCudaBase<FlashPrintCuda> {
  void runOnOperation() override {
    bool failedAny = false;
    getOperation().walk([&](KernelOp kernel) {
      FailureOr<EmittedKernel> emitted = emitCudaKernel(kernel);
      if (failed(emitted)) {
        failedAny = true;
        return;
      }
      llvm::outs() << "// === kernel @" << kernel.getSymName() << " grid("
                   << emitted->grid[0] << ", " << emitted->grid[1] << ", "
                   << emitted->grid[2] << ") block(" << emitted->threads
                   << ") smem(" << emitted->dynamicSmemBytes << ")\n"
                   << emitted->source;
    });
    if (failedAny)
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};

} // namespace
