//===- LinearCost.h - cost model of the chunkwise recurrences ---*- C++ -*-===//
//
// Resources, traffic, FLOPs and time of a chunk_fused, chunk_scored or
// chunk_two_pass schedule. The shared-memory plan and register estimate are the ones the
// checker and the emitter use (schedule/ChunkLayout.h), so the
// scheduler never picks a schedule the kernels reject.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_LINEARCOST_H
#define FLASHGEN_SCHEDULE_LINEARCOST_H

#include "schedule/ChunkLayout.h"
#include "schedule/Evaluation.h"
#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"

#include <cstdint>
#include <string>

namespace flashgen::schedule {

/// Shared memory and registers of one of a schedule's kernels: the one with
/// outputs (chunk_fused, chunk_two_pass's outputs pass, whose one chunk
/// per CTA needs one stage) or the state pass.
int64_t linearSmemBytes(const LinearProblem &p, const Schedule &s, bool outputs);
int64_t linearRegisters(const LinearProblem &p, const Schedule &s, bool outputs);

/// The buffers of one kernel of `s` as flash-lower-kernels builds it (the
/// layout ChunkLayout.h plans and the emitter prints): the kernel with
/// outputs or the state pass; chunk_two_pass's outputs kernel holds one
/// chunk (one stage).
mlir::flash::ChunkShape chunkwiseKernelShape(const LinearProblem &p,
                                             const Schedule &s, bool outputs);

/// The smem_bytes a schedule records: the most any of its kernels plans
/// (chunkwiseKernelShape, and deltaPrepareShape for the delta rule); the
/// checker holds schedules to it.
int64_t linearScheduleSmemBytes(const LinearProblem &p, const Schedule &s);

/// The delta rule's delta_prepare kernel of `s`: one chunk per CTA, k and v
/// at full width, the WY solve's buffers.
mlir::flash::ChunkShape deltaPrepareShape(const LinearProblem &p,
                                          const Schedule &s);

/// chunk_scored's linear_scores kernel of `s`: one chunk per CTA, q and k
/// (one stage), the gate buffers; the inner tiles of `s`.
mlir::flash::ChunkShape scoresPrepassShape(const LinearProblem &p,
                                           const Schedule &s);

/// Why `p` has no chunk_scored schedule ("" where it has): its P must not
/// depend on the carried state or on per-key-dim gates, and the pre-pass
/// stages q and k as they are.
std::string chunkScoredPrecondition(const LinearProblem &p);


/// Inner (query tile, key tile) pairs one chunk computes: for each of the
/// chunk / inner_q query tiles, the key tiles that start before its end.
int64_t linearInnerTilePairs(int64_t chunk, int64_t innerQ, int64_t innerKv);

Evaluation evaluateLinear(const LinearProblem &p, const Target &t,
                          const Schedule &s);

/// evaluateLinear with `chunkChains` false: without the gated chunk steps'
/// chains (LinearCost.cpp's gatedChunkStepCycles), as the gradient's state
/// passes are priced (LinearGrad.cpp: their 16-bit scratch states and their
/// calibration table, schedule/calibration/h100-linear-grad.tsv, predate
/// the chains).
Evaluation evaluateLinearForm(const LinearProblem &p, const Target &t,
                              const Schedule &s, bool chunkChains);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_LINEARCOST_H
