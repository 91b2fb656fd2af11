//===- CudaEmitter.cpp - print CUDA C++ from flash.kernel IR --------------===//
//
// Dispatches each flash.kernel to the printer of its family. Every printer
// derives from ScalarPrinter, which prints scalar ops and control flow the
// same way for all families.
//
//===----------------------------------------------------------------------===//

#include "codegen/CudaEmitter.h"

#include "codegen/KernelFamilies.h"

using namespace mlir;
using namespace mlir::flash;

FailureOr<EmittedKernel> mlir::flash::emitCudaKernel(KernelOp kernel) {
  if (kernel.getFamily() == "attention")
    return emitAttentionKernel(kernel);
  if (kernel.getFamily().starts_with("linear_"))
    return emitLinearKernel(kernel);
  return kernel.emitError() << "the CUDA emitter has no kernel family '"
                            << kernel.getFamily()
                            << "' (known: attention, linear_fused, "
                               "linear_states, linear_outputs)";
}
