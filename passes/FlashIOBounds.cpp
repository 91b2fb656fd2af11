//===- IOBounds.cpp - flash-io-bounds: IO lower bounds of flash ops -------===//
//
// Annotates every flash.attention and flash.linear_attention with the least
// traffic any schedule of it moves (schedule/IOBounds.h):
//
//   flash.io_lower_bound   i64 bytes between the chip and the memory system,
//                          for the target's on-chip capacity M (shared
//                          memory + registers one CTA can use)
//   flash.hbm_lower_bound  i64 bytes between L2 and HBM (M = the L2)
//
// Dynamic dimensions are bound with the `dims` option ("N=8192,B=2"); an
// unbound one is an error that names it.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "passes/OpProblems.h"
#include "schedule/IOBounds.h"
#include "schedule/LinearGrad.h"

#include "llvm/Support/Debug.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHIOBOUNDS
#include "passes/Passes.h.inc"
} // namespace mlir::flash

#define DEBUG_TYPE "flash-io-bounds"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// Records both levels' bounds on `op`.
void annotate(Operation *op, const sched::IOBound &bound) {
  Builder b(op->getContext());
  op->setAttr("flash.io_lower_bound",
              b.getI64IntegerAttr(bound.onChip.boundBytes));
  op->setAttr("flash.hbm_lower_bound", b.getI64IntegerAttr(bound.l2.boundBytes));
}

struct FlashIOBounds
    : public mlir::flash::impl::FlashIOBoundsBase<FlashIOBounds> {
  using FlashIOBoundsBase::FlashIOBoundsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    sched::Result<const sched::Target *> t = sched::lookupTarget(target);
    if (!t) {
      module.emitError() << "flash-io-bounds: " << t.error();
      return signalPassFailure();
    }
    DimValues values;
    if (llvm::Error error = parseDimBindingList(dims, values)) {
      module.emitError() << "flash-io-bounds: "
                         << llvm::toString(std::move(error));
      return signalPassFailure();
    }
    bool failed = false;
    module.walk([&](Operation *op) {
      if (auto attention = dyn_cast<AttentionOp>(op)) {
        FailureOr<sched::AttentionProblem> p = attentionProblem(attention, values, "flash-io-bounds");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        annotate(op, sched::attentionIOBound(*p, **t));
      } else if (isa<LinearAttentionOp, DeltaRuleOp>(op)) {
        // The delta rule is bounded as the recurrence it is (IOBounds.h).
        FailureOr<sched::LinearProblem> p =
            recurrenceProblem(op, values, "flash-io-bounds");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        annotate(op, sched::linearIOBound(*p, **t));
      } else if (auto grad = dyn_cast<LinearAttentionGradOp>(op)) {
        FailureOr<sched::LinearProblem> p =
            linearGradProblem(grad, values, "flash-io-bounds");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        annotate(op, sched::linearGradIOBound(*p, **t));
      }
    });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
