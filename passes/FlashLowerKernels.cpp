//===- FlashLowerKernels.cpp - flash-lower-kernels: ops to kernels --------===//
//
// For every scheduled flash op, the chosen schedule (`flash.schedule`) and
// each ranked candidate (`flash.candidates`) become one variant, built by
// the builder of the op's kernel family:
//
//   flash.attention         flash2, flash3       LowerAttention.cpp
//                           flash2_dsplit,       LowerAttentionDSplit.cpp
//                           flash3_dsplit
//                           flash_decode         LowerAttentionDecode.cpp
//   flash.attention_grad    flash2_grad,         LowerAttentionGrad.cpp
//                           flash3_grad and their
//                           _deterministic forms
//   flash.linear_attention  chunk_fused,         LowerChunkwise.cpp
//                           chunk_two_pass
//
// A recurrence schedule is checked first against the chunkwise kernels'
// rules (schedule/Checker.h): the chosen one must pass, a candidate that
// does not is dropped with a warning. The op gets `flash.kernels`, its
// variants' kernels in order. The pass never picks a schedule: an op
// without one is an error (flash-schedule supplies them). A new kernel
// family (backward, decode) adds a builder file and a case here.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/ScheduleConversion.h"
#include "passes/LowerAttention.h"
#include "passes/LowerAttentionGrad.h"
#include "passes/LowerChunkwise.h"
#include "passes/OpProblems.h"
#include "schedule/AttentionCost.h"
#include "schedule/AttentionSpace.h"
#include "schedule/Checker.h"
#include "schedule/LinearGrad.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHLOWERKERNELS
#include "passes/Passes.h.inc"
} // namespace mlir::flash

#define DEBUG_TYPE "flash-lower-kernels"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// The chosen schedule of `op`, then its candidates other than the chosen
/// one; empty (after an error on the op) when it has none.
SmallVector<ScheduleAttr> variantSchedules(Operation *op) {
  auto chosen = op->getAttrOfType<ScheduleAttr>("flash.schedule");
  if (!chosen) {
    op->emitError() << "has no flash.schedule: run flash-schedule first";
    return {};
  }
  SmallVector<ScheduleAttr> schedules = {chosen};
  if (auto candidates = op->getAttrOfType<ArrayAttr>("flash.candidates"))
    for (Attribute attr : candidates)
      if (auto candidate = dyn_cast<ScheduleAttr>(attr))
        if (candidate != chosen)
          schedules.push_back(candidate);
  return schedules;
}

struct FlashLowerKernels
    : public mlir::flash::impl::FlashLowerKernelsBase<FlashLowerKernels> {
  using FlashLowerKernelsBase::FlashLowerKernelsBase;

  /// Inserts `kernels` at the end of the module (renaming on a clash) and
  /// appends their symbols to `refs`.
  void record(ArrayRef<KernelOp> kernels, SymbolTable &symbols,
              SmallVectorImpl<Attribute> &refs) {
    for (KernelOp kernel : kernels) {
      symbols.insert(kernel);
      refs.push_back(FlatSymbolRefAttr::get(kernel.getSymNameAttr()));
    }
  }

  /// flash2 and flash3 lower to the same IR (the emitter picks the
  /// warpgroup primitives for flash3); flash2_dsplit and flash3_dsplit to
  /// the small-cache kernel (LowerAttentionDSplit.cpp).
  LogicalResult lowerAttention(AttentionOp op, OpBuilder &b,
                               SymbolTable &symbols, const sched::Target &t) {
    SmallVector<ScheduleAttr> schedules = variantSchedules(op);
    if (schedules.empty())
      return failure();
    AttentionKernelPlan plan = attentionKernelPlan(op);
    plan.fmaExp2Every = sched::fmaExp2Every(attentionKernelProblem(op), t);
    SmallVector<Attribute> refs;
    for (auto [variant, schedule] : llvm::enumerate(schedules)) {
      Algorithm algorithm = schedule.getAlgorithm();
      if (!sched::isAttentionAlgorithm(toLibrary(algorithm)))
        return op.emitError() << "schedule algorithm '"
                              << stringifyAlgorithm(algorithm)
                              << "' has no attention kernels (supported: "
                              << sched::algorithmNames(
                                     sched::isAttentionAlgorithm)
                              << ")";
      // The small-cache kernels stream q and k in head-dim chunks, which a
      // rotation pairing f with f + R/2 cannot turn chunk by chunk.
      if (plan.rotary && splitsHeadDim(algorithm))
        return op.emitError() << "rotary embedding is not supported by "
                              << stringifyAlgorithm(algorithm)
                              << " schedules (head-dim chunks); use flash2, "
                                 "flash3 or flash_decode";
      // A pre-pass a hand schedule asks for must have its op's form.
      sched::AttentionProblem problem = attentionKernelProblem(op);
      if (schedule.getMaskLists())
        if (std::string why = sched::maskListsPrecondition(problem, toLibrary(algorithm));
            !why.empty())
          return op.emitError() << "schedule has mask_lists = 1: " << why;
      if (schedule.getRotaryPrepass())
        if (std::string why =
                sched::rotaryPrepassPrecondition(problem, toLibrary(algorithm));
            !why.empty())
          return op.emitError() << "schedule has rotary_prepass = 1: " << why;
      plan.schedule = schedule;
      b.setInsertionPointToEnd(getOperation().getBody());
      SmallVector<KernelOp> kernels;
      buildAttentionKernels(b, plan, t, variant, kernels);
      record(kernels, symbols, refs);
    }
    op->setAttr("flash.kernels", b.getArrayAttr(refs));
    return success();
  }

  /// Each schedule is one variant of three kernels, launched in order.
  LogicalResult lowerAttentionGrad(AttentionGradOp op, OpBuilder &b,
                                   SymbolTable &symbols) {
    SmallVector<ScheduleAttr> schedules = variantSchedules(op);
    if (schedules.empty())
      return failure();
    AttentionGradKernelPlan plan = attentionGradKernelPlan(op);
    SmallVector<Attribute> refs;
    for (auto [variant, schedule] : llvm::enumerate(schedules)) {
      if (!sched::isAttentionGradAlgorithm(toLibrary(schedule.getAlgorithm())))
        return op.emitError() << "schedule algorithm '"
                              << stringifyAlgorithm(schedule.getAlgorithm())
                              << "' has no attention gradient kernels "
                                 "(supported: "
                              << sched::algorithmNames(
                                     sched::isAttentionGradAlgorithm)
                              << ")";
      if (op.getDeterministic() && gradAtomicDq(schedule.getAlgorithm()))
        return op.emitError() << "is deterministic but schedule " << schedule
                              << " adds dQ with float atomics (use "
                              << sched::algorithmNames(
                                     sched::isDeterministicGradAlgorithm, " or ")
                              << ")";
      if (schedule.getMaskLists())
        if (std::string why = sched::maskListsPrecondition(
                attentionKernelProblem(op), toLibrary(schedule.getAlgorithm()));
            !why.empty())
          return op.emitError() << "schedule has mask_lists = 1: " << why;
      plan.schedule = schedule;
      b.setInsertionPointToEnd(getOperation().getBody());
      SmallVector<KernelOp> kernels;
      buildAttentionGradKernels(b, plan, variant, kernels);
      record(kernels, symbols, refs);
    }
    op->setAttr("flash.kernels", b.getArrayAttr(refs));
    return success();
  }

  /// flash.linear_attention and flash.delta_rule: one kernel (or pair) per
  /// schedule the checker passes.
  /// (flash.linear_attention_grad too: `gradient`, its chunk_grad rules.)
  LogicalResult lowerRecurrence(Operation *op, LinearKernelPlan plan,
                                const sched::LinearProblem &problem,
                                OpBuilder &b, SymbolTable &symbols,
                                const sched::Target &t, bool gradient = false) {
    SmallVector<ScheduleAttr> schedules = variantSchedules(op);
    if (schedules.empty())
      return failure();
    SmallVector<Attribute> refs;
    int64_t variant = 0;
    for (auto [index, schedule] : llvm::enumerate(schedules)) {
      std::vector<std::string> why =
          gradient ? sched::linearGradKernelViolations(problem, t, toLibrary(schedule))
                   : sched::recurrenceKernelViolations(problem, t, toLibrary(schedule));
      if (!why.empty()) {
        if (index == 0)
          return op->emitError()
                 << "cannot lower schedule " << schedule << ": " << why.front();
        op->emitWarning() << "dropping candidate schedule " << schedule << ": "
                          << why.front();
        continue;
      }
      plan.schedule = schedule;
      b.setInsertionPointToEnd(getOperation().getBody());
      SmallVector<KernelOp> kernels;
      buildLinearKernels(b, plan, variant, kernels);
      record(kernels, symbols, refs);
      ++variant;
    }
    op->setAttr("flash.kernels", b.getArrayAttr(refs));
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    sched::Result<const sched::Target *> t = sched::lookupTarget(target);
    if (!t) {
      module.emitError() << "flash-lower-kernels: " << t.error();
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    OpBuilder b(module.getContext());
    bool failedAny = false;
    module.walk([&](Operation *op) {
      LogicalResult lowered = success();
      if (auto attention = dyn_cast<AttentionOp>(op))
        lowered = lowerAttention(attention, b, symbols, **t);
      else if (auto grad = dyn_cast<AttentionGradOp>(op))
        lowered = lowerAttentionGrad(grad, b, symbols);
      else if (auto linear = dyn_cast<LinearAttentionOp>(op))
        lowered = lowerRecurrence(op, linearKernelPlan(linear),
                                  linearKernelProblem(linear), b, symbols, **t);
      else if (auto delta = dyn_cast<DeltaRuleOp>(op))
        lowered = lowerRecurrence(op, linearKernelPlan(delta),
                                  deltaKernelProblem(delta), b, symbols, **t);
      else if (auto linearGrad = dyn_cast<LinearAttentionGradOp>(op))
        lowered = lowerRecurrence(op, linearKernelPlan(linearGrad),
                                  linearGradKernelProblem(linearGrad), b, symbols,
                                  **t, /*gradient=*/true);
      failedAny |= failed(lowered);
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
