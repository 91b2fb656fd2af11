//===- LinearGrad.h - schedules of a recurrence's gradient ------*- C++ -*-===//
//
// flash.linear_attention_grad's one family, chunk_grad (docs/semantics.md
// §4.5), in three kernels (four with a normaliser):
//   states       linear_states of the forward: the state before every chunk
//                (and after the last) into scratch;
//   grad_rows    the normaliser kinds only (§4.6): one chunk of rows a
//                CTA, dO / den and each row's normaliser gradient from the
//                forward's o and rows' normalisers (memory-bound);
//   grad_states  the same loop over the chunks last first, on q and dO: the
//                gradient of the state after every chunk into scratch, the
//                initial state's gradient at the end;
//   grad_chunk   every chunk in parallel, one CTA each (the whole Dk and
//                Dv; L / 16 x Dk / tile_d warps, each 16 rows and a column
//                slice): dq, dk, dv and the log-decays' gradient from the
//                chunk's rows, its two states and the intra-chunk products;
//                with `persistent`, one CTA an SM running rounds of chunks,
//                the next round's rows prefetched into a second stage.
// The space: chunk L, tile_d, value_slice, persistent, the state passes'
// tile_dv, stages and warps. Its
// rules, resources and cost are here and in ChunkLayout.h (the plan the
// emitter prints), so the checker, the scheduler and the kernels agree.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_LINEARGRAD_H
#define FLASHGEN_SCHEDULE_LINEARGRAD_H

#include "schedule/AttentionSpace.h"
#include "schedule/ChunkLayout.h"
#include "schedule/Evaluation.h"
#include "schedule/IOBounds.h"
#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/SearchSpace.h"
#include "schedule/Target.h"

#include <string>
#include <vector>

namespace flashgen::schedule {

/// Why no chunk_grad schedule can run the gradient of `p`, or "": the
/// chunkwise kernels' preconditions and the gate kinds with backward
/// kernels (none, decay, vector, mlstm_sig).
std::string linearGradPrecondition(const LinearProblem &p, const Target &t);

/// The grad_chunk kernel of `s`.
mlir::flash::GradChunkShape gradChunkShape(const LinearProblem &p,
                                           const Schedule &s);

/// The grad_states kernel of `s` (the forward's state pass on q and dO,
/// with the normaliser kinds' gradient shares staged beside them).
mlir::flash::ChunkShape gradStatesShape(const LinearProblem &p, const Schedule &s);

/// The smem_bytes a chunk_grad schedule records: the most its kernels plan.
int64_t linearGradSmemBytes(const LinearProblem &p, const Schedule &s);

/// The rules the kernels of a chunk_grad schedule need (flash-lower-kernels
/// applies them to every schedule it lowers); empty: it lowers and fits.
std::vector<std::string> linearGradKernelViolations(const LinearProblem &p,
                                                    const Target &t,
                                                    const Schedule &s);

/// Those and the plan's figures (smem_bytes): the scheduler's check.
std::vector<std::string> checkLinearGradSchedule(const LinearProblem &p,
                                                 const Target &t,
                                                 const Schedule &s);

/// The library's chunk_grad schedule without a search (flash-schedule
/// {search=false}): chunks of 64 where they fit, else 32, the forward's
/// default state-pass tiles.
Schedule defaultLinearGradSchedule(const LinearProblem &p, const Target &t);

/// The space the solver searches.
Result<ScheduleSpace> linearGradSpace(const LinearProblem &p, const Target &t);

/// Traffic, FLOPs and time of the kernels (three, four with a normaliser).
Evaluation evaluateLinearGrad(const LinearProblem &p, const Target &t,
                              const Schedule &s);

/// The least traffic of any gradient computation: q, k, v, dO, the gates
/// (and the initial state, the final state's gradient) read once, dq, dk,
/// dv, the gates' gradients (and the initial state's) written once, plus
/// the re-reads of q and k a state that does not fit forces (as the
/// forward's bound).
IOBound linearGradIOBound(const LinearProblem &p, const Target &t);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_LINEARGRAD_H
