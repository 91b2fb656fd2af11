//===- KernelFamilies.h - one printer per kernel family ---------*- C++ -*-===//
//
// emitCudaKernel dispatches on `flash.kernel`'s family to one of these.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_KERNELFAMILIES_H
#define FLASHGEN_CODEGEN_KERNELFAMILIES_H

#include "codegen/CudaEmitter.h"

namespace mlir::flash {

/// Family "attention" (AttentionEmitter.cpp).
FailureOr<EmittedKernel> emitAttentionKernel(KernelOp kernel);

/// Families "linear_fused", "linear_states", "linear_outputs"
/// (LinearEmitter.cpp).
FailureOr<EmittedKernel> emitLinearKernel(KernelOp kernel);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_KERNELFAMILIES_H
