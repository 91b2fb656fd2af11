//===- LowerAttentionGrad.h - flash.attention_grad to kernels ---*- C++ -*-===//
//
// The attention-gradient builder behind flash-lower-kernels: one flash2_grad
// or flash2_grad_deterministic schedule of a flash.attention_grad becomes
// the kernels of one variant, launched in order (FlashGradKernelOps.td):
//
//   flash2_grad                prep (D, cleared accumulator), kv (dK, dV;
//                              dQ by atomics), convert (dQ)
//   flash2_grad_deterministic  prep (D), kv (dK, dV), dq (dQ)
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_LOWERATTENTIONGRAD_H
#define FLASHGEN_PASSES_LOWERATTENTIONGRAD_H

#include "dialect/FlashDialect.h"
#include "passes/LowerAttention.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::flash {

/// The sizes and choices the gradient kernels specialise on.
struct AttentionGradKernelPlan {
  mutable AttentionGradOp op;
  ScheduleAttr schedule;
  int64_t queryHeads = 0, keyHeads = 0, headDim = 0, valueDim = 0;
  MaskKind mask = MaskKind::none;
  int64_t window = 0;
  /// Name of the function holding the op (`<forward>_backward`).
  std::string opName;

  /// The score map of the forward's scores. No constant factor is taken
  /// out of score_mod here: score_grad reads the same scaled raw score.
  ScoreMapSource scoreMapSource() const {
    return {op.hasScoreMod() ? &op.getScoreMod() : nullptr,
            op.hasMaskMod() ? &op.getMaskMod() : nullptr, mask, window,
            ScoreScaling()};
  }
};

/// The plan of `op`, without a schedule.
AttentionGradKernelPlan attentionGradKernelPlan(AttentionGradOp op);

/// Builds the kernels of one schedule at the builder's insertion point and
/// appends them, in launch order (schedule::attentionGradKernels), to
/// `kernels`: `<opName>_v<variant>_{[mask_lists_t, [mask_lists,]] prep,
/// kv, convert|dq}`.
void buildAttentionGradKernels(OpBuilder &b, const AttentionGradKernelPlan &plan,
                               int64_t variant,
                               SmallVectorImpl<KernelOp> &kernels);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_LOWERATTENTIONGRAD_H
