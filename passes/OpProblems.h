//===- OpProblems.h - flash ops as schedule-library problems ----*- C++ -*-===//
//
// flash-io-bounds and flash-schedule both describe an op to the schedule
// library (schedule/Problem.h) with every dimension bound; this is that
// one conversion.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_OPPROBLEMS_H
#define FLASHGEN_PASSES_OPPROBLEMS_H

#include "dialect/DimBindings.h"
#include "schedule/Problem.h"

#include <optional>

namespace mlir::flash {

/// The sizes, mask and region work of `op`; an unbound dimension is an error
/// on the op that names it and `passName`'s dims option.
FailureOr<flashgen::schedule::AttentionProblem>
attentionProblem(AttentionOp op, const DimValues &dims, StringRef passName);
/// The same problem for the gradient op (its kernels' schedule space).
FailureOr<flashgen::schedule::AttentionProblem>
attentionProblem(AttentionGradOp op, const DimValues &dims, StringRef passName);

/// What the kernels of `op` specialise on (heads, D, Dv, element size,
/// mask, region work); batch and lengths, which they take at run time, keep
/// the problem's defaults.
flashgen::schedule::AttentionProblem attentionKernelProblem(AttentionOp op);

/// The same for the gradient op's kernels.
flashgen::schedule::AttentionProblem attentionKernelProblem(AttentionGradOp op);

/// Whether the gradient's dS needs score_grad's factor: a score_mod whose
/// derivative is not the constant 1 (ALiBi, any bias s + f(b, h, i, j),
/// has none).
bool scoreGradHasFactor(AttentionGradOp op);
/// Whether that factor reads the raw score (the kernels then save it).
bool scoreGradReadsScore(AttentionGradOp op);

/// What the user's per-element regions of `op` read (the score alone, or
/// positions too): flash3's register rule and the kernels' `element_mods`.
flashgen::schedule::ElementMods attentionElementMods(AttentionOp op);

/// What the kernels of `op` specialise on (heads, Dk, Dv, gate kind,
/// element sizes, state use); batch and length, which they take at run
/// time, keep the problem's defaults.
flashgen::schedule::LinearProblem linearKernelProblem(LinearAttentionOp op);

/// The sizes, gate kind and state use of `op`, errors as above.
FailureOr<flashgen::schedule::LinearProblem>
linearProblem(LinearAttentionOp op, const DimValues &dims, StringRef passName);

/// A flash.linear_attention_grad as its forward's problem (what its
/// kernels specialise on); returnsFinalState: it reads the final state's
/// gradient.
flashgen::schedule::LinearProblem linearGradKernelProblem(LinearAttentionGradOp op);

/// The same with its sizes bound, errors as above.
FailureOr<flashgen::schedule::LinearProblem>
linearGradProblem(LinearAttentionGradOp op, const DimValues &dims,
                  StringRef passName);

/// A flash.delta_rule as the recurrence problem its kernels specialise on
/// (the log-decay as gate `decay`, beta's bytes in `betaBytes`); batch and
/// length keep the problem's defaults.
flashgen::schedule::LinearProblem deltaKernelProblem(DeltaRuleOp op);

/// The same with its sizes bound, errors as above.
FailureOr<flashgen::schedule::LinearProblem>
deltaRuleProblem(DeltaRuleOp op, const DimValues &dims, StringRef passName);

/// A recurrence op (flash.linear_attention or flash.delta_rule) as its
/// kernels' problem; nothing for any other op.
std::optional<flashgen::schedule::LinearProblem>
recurrenceKernelProblem(Operation *op);

/// The same with its sizes bound (linearProblem or deltaRuleProblem); `op`
/// must be a recurrence op.
FailureOr<flashgen::schedule::LinearProblem>
recurrenceProblem(Operation *op, const DimValues &dims, StringRef passName);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_OPPROBLEMS_H
