//===- Schedule.cpp - flash-schedule: Z3 schedules for flash ops ----------===//
//
// For every flash.attention and flash.linear_attention: builds the problem
// with every dimension bound (`dims`), asks the schedule library
// (schedule/Scheduler.h: cost model, Z3 search) for the top-K
// schedules on the target, and records
//
//   flash.schedule         the chosen #flash.schedule
//   flash.candidates       the top-K, best first (the chosen one included)
//   flash.candidate_seconds  f64 array, the cost model's time of each
//                          candidate at the planned sizes
//   flash.modeled_io       i64 bytes CTAs load and store (the traffic
//                          flash.io_lower_bound limits)
//   flash.io_ratio         f64 modeled_io / io_lower_bound
//   flash.modeled_hbm      i64 bytes HBM serves (after the L2 model)
//   flash.hbm_ratio        f64 modeled_hbm / hbm_lower_bound
//   flash.modeled_seconds  f64 the cost model's time
//   flash.binding          the resource that binds ("math", "hbm", ...)
//   flash.io_lower_bound, flash.hbm_lower_bound  (as flash-io-bounds)
//   flash.size_rule        (size-rule=true, self-attention) which candidate
//                          the model ranks first at other query lengths,
//                          or (flash_decode) at other numbers of new tokens
//                          (schedule/SizeRule.h); their first choices join
//                          the candidates
//
// An op no schedule fits is an error naming the resource and the numbers.
//
// With `search=false` there is no search: each flash.linear_attention that
// has no flash.schedule gets the schedule library's default chunkwise
// schedule (defaultLinearSchedule, schedule/LinearSpace.h) with a remark,
// and nothing else is recorded; every other op is left as it is.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/ScheduleConversion.h"
#include "passes/OpProblems.h"
#include "schedule/LinearGrad.h"
#include "schedule/LinearSpace.h"
#include "schedule/Scheduler.h"
#include "schedule/SizeRule.h"

#include "llvm/Support/Debug.h"

namespace mlir::flash {
#define GEN_PASS_DEF_FLASHSCHEDULE
#include "passes/Passes.h.inc"
} // namespace mlir::flash

#define DEBUG_TYPE "flash-schedule"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// Writes the chosen schedule, the candidates and the model's figures.
void annotate(Operation *op, const sched::ScheduleResult &r) {
  MLIRContext *ctx = op->getContext();
  Builder b(ctx);
  const sched::Candidate &best = r.candidates.front();
  SmallVector<Attribute> candidates;
  SmallVector<double> seconds;
  for (const sched::Candidate &c : r.candidates) {
    candidates.push_back(toDialect(ctx, c.schedule));
    seconds.push_back(c.evaluation.seconds);
  }
  op->setAttr("flash.schedule", toDialect(ctx, best.schedule));
  op->setAttr("flash.candidates", b.getArrayAttr(candidates));
  op->setAttr("flash.candidate_seconds", b.getDenseF64ArrayAttr(seconds));
  op->setAttr("flash.io_lower_bound", b.getI64IntegerAttr(r.bound.onChip.boundBytes));
  op->setAttr("flash.hbm_lower_bound", b.getI64IntegerAttr(r.bound.l2.boundBytes));
  op->setAttr("flash.modeled_io", b.getI64IntegerAttr(best.evaluation.globalBytes));
  op->setAttr("flash.io_ratio", b.getF64FloatAttr(best.ioRatio));
  op->setAttr("flash.modeled_hbm", b.getI64IntegerAttr(best.evaluation.hbmBytes));
  op->setAttr("flash.hbm_ratio", b.getF64FloatAttr(best.hbmRatio));
  op->setAttr("flash.modeled_seconds", b.getF64FloatAttr(best.evaluation.seconds));
  op->setAttr("flash.binding", b.getStringAttr(best.evaluation.binding));
}

/// Whether the op's one plan serves query lengths the rule can tell apart:
/// self-attention (N = M, one dim) with a dynamic N, one length per batch.
bool planAtOtherLengths(AttentionOp op, const sched::AttentionProblem &p) {
  return op.getQueryDimName() == op.getKeyDimName() && !p.varlen &&
         op.getQ().getType().isDynamicDim(2) && p.queryLen == p.keyLen;
}

/// Whether a decode plan serves numbers of new tokens the rule can tell
/// apart: a dynamic N read from q (not packed sequences).
bool planAtOtherTokenCounts(AttentionOp op, const sched::AttentionProblem &p) {
  return !p.varlen && op.getQ().getType().isDynamicDim(2);
}

/// {dim = "N", upper_bounds = [...], variants = [...]}.
DictionaryAttr sizeRuleAttr(MLIRContext *ctx, StringRef dim,
                            const sched::SizeRule &rule) {
  Builder b(ctx);
  return b.getDictionaryAttr(
      {b.getNamedAttr("dim", b.getStringAttr(dim)),
       b.getNamedAttr("upper_bounds", b.getI64ArrayAttr(rule.upperBounds)),
       b.getNamedAttr("variants", b.getI64ArrayAttr(rule.variants))});
}

struct FlashSchedule
    : public mlir::flash::impl::FlashScheduleBase<FlashSchedule> {
  using FlashScheduleBase::FlashScheduleBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    sched::Result<const sched::Target *> t = sched::lookupTarget(target);
    if (!t) {
      module.emitError() << "flash-schedule: " << t.error();
      return signalPassFailure();
    }
    DimValues values;
    if (llvm::Error error = parseDimBindingList(dims, values)) {
      module.emitError() << "flash-schedule: " << llvm::toString(std::move(error));
      return signalPassFailure();
    }
    sched::SolveOptions options;
    options.topK = std::max(1u, static_cast<unsigned>(topK));
    // `algorithm` restricts the ops it applies to: attention ops for an
    // attention family, recurrences for a chunkwise form.
    sched::SolveOptions attentionOptions = options, linearOptions = options,
                        gradOptions = options, linearGradOptions = options;
    if (!algorithm.empty()) {
      std::optional<sched::Algorithm> family = sched::parseAlgorithm(algorithm);
      if (!family) {
        module.emitError() << "flash-schedule: unknown algorithm '" << algorithm
                           << "' (" << sched::algorithmNames() << ")";
        return signalPassFailure();
      }
      (sched::isAttentionAlgorithm(*family)       ? attentionOptions
       : sched::isAttentionGradAlgorithm(*family) ? gradOptions
       : *family == sched::Algorithm::ChunkGrad   ? linearGradOptions
                                                  : linearOptions)
          .algorithm = family;
    }

    if (!search) {
      sched::Algorithm form =
          linearOptions.algorithm.value_or(sched::Algorithm::ChunkFused);
      auto useDefault = [&](Operation *op, const sched::LinearProblem &p) {
        if (op->hasAttr("flash.schedule"))
          return;
        ScheduleAttr fallback =
            toDialect(op->getContext(), sched::defaultLinearSchedule(p, **t, form));
        op->emitRemark() << "search=false: using the default " << fallback;
        op->setAttr("flash.schedule", fallback);
      };
      module.walk([&](Operation *op) {
        if (std::optional<sched::LinearProblem> p = recurrenceKernelProblem(op))
          useDefault(op, *p);
        if (auto grad = dyn_cast<LinearAttentionGradOp>(op);
            grad && !op->hasAttr("flash.schedule")) {
          ScheduleAttr fallback = toDialect(
              op->getContext(),
              sched::defaultLinearGradSchedule(linearGradKernelProblem(grad), **t));
          op->emitRemark() << "search=false: using the default " << fallback;
          op->setAttr("flash.schedule", fallback);
        }
      });
      return;
    }

    bool failed = false;
    auto record = [&](Operation *op, const sched::Result<sched::ScheduleResult> &r) {
      if (!r) {
        op->emitOpError() << r.error();
        failed = true;
        return;
      }
      LLVM_DEBUG(op->emitRemark()
                 << "flash-schedule: " << r->engine << " searched "
                 << r->spacePoints << " points with " << r->solverChecks
                 << " checks in " << r->solveSeconds << " s");
      annotate(op, *r);
    };
    module.walk([&](Operation *op) {
      if (auto attention = dyn_cast<AttentionOp>(op)) {
        FailureOr<sched::AttentionProblem> p = attentionProblem(attention, values, "flash-schedule");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        sched::Result<sched::ScheduleResult> r =
            sched::scheduleAttention(*p, **t, attentionOptions);
        sched::SizeRule rule;
        // Decoding: the same cache at other numbers of new tokens.
        bool decode = r && !r->candidates.empty() &&
                      sched::splitsKeys(r->candidates.front().schedule.algorithm);
        if (r && sizeRule && (decode ? planAtOtherTokenCounts(attention, *p)
                                     : planAtOtherLengths(attention, *p))) {
          sched::Result<sched::SizeRule> made =
              decode ? sched::decodeSizeRule(*p, **t, attentionOptions, *r)
                     : sched::attentionSizeRule(*p, **t, attentionOptions, *r);
          if (!made) {
            op->emitOpError() << made.error();
            failed = true;
            return;
          }
          rule = *made;
        }
        record(op, r);
        if (!rule.empty())
          op->setAttr("flash.size_rule", sizeRuleAttr(op->getContext(),
                                                      attention.getQueryDimName(),
                                                      rule));
      } else if (auto grad = dyn_cast<AttentionGradOp>(op)) {
        FailureOr<sched::AttentionProblem> p =
            attentionProblem(grad, values, "flash-schedule");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        record(op, sched::scheduleAttentionGrad(*p, **t, gradOptions,
                                                grad.getDeterministic()));
      } else if (isa<LinearAttentionOp, DeltaRuleOp>(op)) {
        FailureOr<sched::LinearProblem> p =
            recurrenceProblem(op, values, "flash-schedule");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        record(op, sched::scheduleLinear(*p, **t, linearOptions));
      } else if (auto grad = dyn_cast<LinearAttentionGradOp>(op)) {
        FailureOr<sched::LinearProblem> p =
            linearGradProblem(grad, values, "flash-schedule");
        if (mlir::failed(p)) {
          failed = true;
          return;
        }
        record(op, sched::scheduleLinearGrad(*p, **t, linearGradOptions));
      }
    });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
