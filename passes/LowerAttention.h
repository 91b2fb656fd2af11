//===- LowerAttention.h - flash.attention to flash.kernel ops ---*- C++ -*-===//
//
// The attention builder behind flash-lower-kernels (FlashLowerKernels.cpp):
// one flash2 or flash3 schedule of a flash.attention becomes one
// `attention` kernel. The pass picks the schedules; this file only builds.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_LOWERATTENTION_H
#define FLASHGEN_PASSES_LOWERATTENTION_H

#include "dialect/FlashDialect.h"
#include "passes/ScoreScaling.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::flash {

/// The sizes and choices one attention kernel specialises on.
struct AttentionKernelPlan {
  mutable AttentionOp op;
  ScheduleAttr schedule;
  int64_t queryHeads = 0, keyHeads = 0, headDim = 0, valueDim = 0;
  MaskKind mask = MaskKind::none;
  int64_t window = 0;
  /// Name of the function holding the op: kernels are named after it.
  std::string opName;
  /// Constant factors of the score_mod that leave the per-element code.
  ScoreScaling scaling;
};

/// The plan of `op`, without a schedule.
AttentionKernelPlan attentionKernelPlan(AttentionOp op);

/// Builds the kernel of one schedule (`plan.schedule`, flash2 or flash3) at
/// the builder's insertion point (the end of the module) and appends it to
/// `kernels`: `<opName>_v<variant>`.
void buildAttentionKernels(OpBuilder &b, const AttentionKernelPlan &plan,
                           int64_t variant, SmallVectorImpl<KernelOp> &kernels);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_LOWERATTENTION_H
