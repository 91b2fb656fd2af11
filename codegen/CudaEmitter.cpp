//===- CudaEmitter.cpp - print CUDA C++ from flash.kernel IR --------------===//
//
// Dispatches each flash.kernel to the printer of its family. Every printer
// derives from ScalarPrinter, which prints scalar ops and control flow the
// same way for all families.
//
//===----------------------------------------------------------------------===//

#include "codegen/CudaEmitter.h"

#include "codegen/KernelFamilies.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::flash;

std::string mlir::flash::rotatedCopyScratch(TensorRole tensor) {
  return tensor == TensorRole::q ? "q_rotated" : kRotatedKeysScratch;
}

bool mlir::flash::readsRotatedInputs(KernelOp kernel) {
  KernelFamily f = kernel.getFamily();
  bool gradient = f == KernelFamily::attention_grad_prep || f == KernelFamily::attention_grad_kv ||
                  f == KernelFamily::attention_grad_dq || f == KernelFamily::attention_grad_convert;
  return gradient && kernel.getProblem().contains("rotary_dims");
}

bool mlir::flash::readsRotatedKeys(KernelOp kernel) {
  return kernel.getFamily() == KernelFamily::attention &&
         kernel.getSchedule().getRotaryPrepass() != 0;
}

FailureOr<EmittedKernel> mlir::flash::emitCudaKernel(KernelOp kernel) {
  switch (kernel.getFamily()) {
  case KernelFamily::attention:
    return emitAttentionKernel(kernel);
  case KernelFamily::attention_grad_prep:
  case KernelFamily::attention_grad_kv:
  case KernelFamily::attention_grad_dq:
  case KernelFamily::attention_grad_convert:
    return emitAttentionGradKernel(kernel);
  case KernelFamily::attention_combine:
    return emitAttentionCombineKernel(kernel);
  case KernelFamily::attention_rotate:
    return emitRotateRowsKernel(kernel);
  case KernelFamily::attention_mask_lists:
    return emitMaskListsKernel(kernel);
  case KernelFamily::linear_fused:
  case KernelFamily::linear_states:
  case KernelFamily::linear_outputs:
  case KernelFamily::delta_fused:
  case KernelFamily::delta_prepare:
  case KernelFamily::linear_grad_states:
  case KernelFamily::linear_grad_chunk:
  case KernelFamily::linear_grad_rows:
  case KernelFamily::linear_scores:
    return emitLinearKernel(kernel);
  case KernelFamily::recurrent_step:
    return emitStepKernel(kernel);
  }
  llvm_unreachable("a KernelFamily without a printer");
}
