//===- LowerChunkwise.h - recurrences to flash.kernel ops -------*- C++ -*-===//
//
// The recurrence builder behind flash-lower-kernels (FlashLowerKernels.cpp):
// one chunkwise schedule of a flash.linear_attention becomes one
// `linear_fused` kernel or a `linear_states` + `linear_outputs` pair. The
// pass picks the schedules and the checker (schedule/Checker.h) checks
// them; this file only builds.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_LOWERCHUNKWISE_H
#define FLASHGEN_PASSES_LOWERCHUNKWISE_H

#include "dialect/FlashDialect.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::flash {

/// The sizes and choices one recurrence kernel specialises on.
struct LinearKernelPlan {
  mutable LinearAttentionOp op;
  ScheduleAttr schedule;
  GateKind gate = GateKind::none;
  int64_t heads = 0, keyDim = 0, valueDim = 0;
  bool initialState = false, finalState = false;
  /// Name of the function holding the op: kernels are named after it.
  std::string opName;
};

/// The plan of `op`, without a schedule.
LinearKernelPlan linearKernelPlan(LinearAttentionOp op);

/// Normaliser eps of the mLSTM kinds (docs/semantics.md §3.1).
constexpr double kLinearNormalizerEps = 1e-6;

/// Builds the kernels of one schedule at the builder's insertion point
/// (the end of the module) and appends them to `kernels`: the fused kernel
/// for algorithm "chunk_fused", the states and outputs kernels for
/// "chunk_two_pass".
void buildLinearKernels(OpBuilder &b, const LinearKernelPlan &plan,
                        int64_t variant, SmallVectorImpl<KernelOp> &kernels);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_LOWERCHUNKWISE_H
