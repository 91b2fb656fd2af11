//===- KernelFamilies.h - one printer per kernel family ---------*- C++ -*-===//
//
// emitCudaKernel dispatches on `flash.kernel`'s family to one of these;
// each family's printer lives in its own folder (attention/, recurrence/),
// so a new family (backward, decode) adds a folder and a line here.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_KERNELFAMILIES_H
#define FLASHGEN_CODEGEN_KERNELFAMILIES_H

#include "codegen/CudaEmitter.h"

namespace mlir::flash {

/// Family `attention` (attention/AttentionEmitter.cpp, Flash3Emitter.cpp).
FailureOr<EmittedKernel> emitAttentionKernel(KernelOp kernel);

/// Families `attention_grad_prep`, `attention_grad_kv`, `attention_grad_dq`,
/// `attention_grad_convert` (attention/AttentionGradEmitter.cpp).
FailureOr<EmittedKernel> emitAttentionGradKernel(KernelOp kernel);

/// Family `attention_combine`: flash_decode's merge of its key splits
/// (attention/DecodeMergeEmitter.cpp).
FailureOr<EmittedKernel> emitAttentionCombineKernel(KernelOp kernel);

/// Family `attention_rotate`: a rotary_prepass schedule's rotation
/// of K into its workspace copy (attention/RotateRowsEmitter.cpp).
FailureOr<EmittedKernel> emitRotateRowsKernel(KernelOp kernel);

/// Family `attention_mask_lists`: a mask_lists schedule's key-tile lists
/// (attention/MaskListsEmitter.cpp).
FailureOr<EmittedKernel> emitMaskListsKernel(KernelOp kernel);

/// Families `linear_fused`, `linear_states`, `linear_outputs`
/// (recurrence/ChunkwiseEmitter.cpp).
FailureOr<EmittedKernel> emitLinearKernel(KernelOp kernel);

/// Family `recurrent_step`: decoding a recurrence token by token
/// (recurrence/StepEmitter.cpp).
FailureOr<EmittedKernel> emitStepKernel(KernelOp kernel);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_KERNELFAMILIES_H
