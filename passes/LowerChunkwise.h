//===- LowerChunkwise.h - recurrences to flash.kernel ops -------*- C++ -*-===//
//
// The recurrence builder behind flash-lower-kernels (FlashLowerKernels.cpp):
// one chunkwise schedule of a flash.linear_attention becomes one
// `linear_fused` kernel or a `linear_states` + `linear_outputs` pair; one of
// a flash.delta_rule a `delta_fused` kernel (the same chunk loop with each
// chunk's values corrected first). The pass picks the schedules and the
// checker (schedule/Checker.h) checks them; this file only builds.
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
  Operation *op = nullptr; ///< the recurrence op (locations, diagnostics)
  ScheduleAttr schedule;
  GateKind gate = GateKind::none;
  Type elementType;        ///< of q, k, v, o
  double scale = 1.0;      ///< applied to q
  std::string batchDim, lengthDim;
  int64_t heads = 0, keyDim = 0, valueDim = 0;
  bool initialState = false, finalState = false;
  /// flash.delta_rule: values corrected per chunk (`flash.chunk_delta`),
  /// q and k normalised first with l2norm_qk (`flash.chunk_l2norm`).
  bool delta = false, l2normQk = false;
  Type betaType;           ///< element type of the delta rule's beta
  /// flash.linear_attention_grad (chunk_grad): the forward's state pass,
  /// then linear_grad_states and linear_grad_chunk; `finalGrad`: it reads
  /// the final state's gradient (`initialState`: it reads the initial
  /// state and writes its gradient).
  bool gradient = false, finalGrad = false;
  /// Sequences packed back to back (dialect/Varlen.h): the fused kernel's
  /// batch index is a sequence, its length read by flash.sequence.
  bool packed = false;
  /// flash.linear_attention's output_mod (null without one): cloned into
  /// every store of o (flash.chunk_store, flash.step_store).
  Region *outputMod = nullptr;
  /// flash.linear_attention's feature_map (null without one): cloned into
  /// a flash.chunk_feature_map per staged q and k tile, and into
  /// flash.step_load.
  Region *featureMap = nullptr;
  /// Name of the function holding the op: kernels are named after it.
  std::string opName;
};

/// The plan of `op`, without a schedule.
LinearKernelPlan linearKernelPlan(LinearAttentionOp op);
LinearKernelPlan linearKernelPlan(DeltaRuleOp op);
LinearKernelPlan linearKernelPlan(LinearAttentionGradOp op);

/// Normaliser eps of the mLSTM kinds (docs/semantics.md §3.1).
constexpr double kLinearNormalizerEps = 1e-6;

/// Builds the kernels of one schedule at the builder's insertion point
/// (the end of the module) and appends them to `kernels`: the fused kernel
/// for algorithm "chunk_fused", the states and outputs kernels for
/// "chunk_two_pass", the states, grad_states and grad_chunk kernels for
/// "chunk_grad".
void buildLinearKernels(OpBuilder &b, const LinearKernelPlan &plan,
                        int64_t variant, SmallVectorImpl<KernelOp> &kernels);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_LOWERCHUNKWISE_H
