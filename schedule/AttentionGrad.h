//===- AttentionGrad.h - schedules of the attention backward ----*- C++ -*-===//
//
// Resources, cost model, IO bound, search space and rules of the kernels
// of flash.attention_grad (Schedule.h: flash2_grad, flash2_grad_deterministic
// on mma.sync; flash3_grad, flash3_grad_deterministic, the same kernels on
// sm_90a warpgroup MMAs, whose warps come in warpgroups of 64 rows:
// tile_kv = 16 warps, and for the deterministic dq kernel tile_q too).
// With Br = tile_q, Bc = tile_kv, Dp, Dvp = D, Dv padded (paddedTileColumns)
// and e the element bytes, per (batch, head):
//
//   prep     one CTA per query tile and query head: delta = rowsum(O dO)
//            (f32, N values); flash2_grad also zeroes the f32 dQ
//            accumulator (N D).
//   kv       one CTA per key tile and KV head, 32 warps threads, each warp
//            owning Bc / warps key rows: K, V tiles resident; for every
//            query head of the GQA group and every query tile the mask
//            leaves visible, Q and dO tiles (and the lse, delta rows) stream
//            through a `stages`-deep ring; dK, dV stay in registers, dS^T
//            is staged in shared memory. flash2_grad also adds dQ = dS K
//            into the accumulator with red.global.add.
//   dq       flash2_grad_deterministic only: one CTA per query tile and
//            query head, Q and dO resident, K and V tiles through the ring,
//            dQ in registers, written once.
//   convert  flash2_grad only: the f32 accumulator to dq's element type.
//
//   smem(kv) = (Bc (Dp + Dvp) + stages Br (Dp + Dvp) + Bc Br) e
//              (+ the warpgroup kernels' f32 lse and D per stage, their
//              arrival barriers, and flash3_grad's dQ staging blocks)
//   smem(dq) = (Br (Dp + Dvp) + stages Bc (Dp + Dvp)) e
//              (+ the warpgroup kernel's arrival barriers)
//
// The schedule's smem_bytes is the larger (what the launch must grant the
// kernel that needs most).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_ATTENTIONGRAD_H
#define FLASHGEN_SCHEDULE_ATTENTIONGRAD_H

#include "schedule/AttentionSpace.h"
#include "schedule/Evaluation.h"
#include "schedule/IOBounds.h"
#include "schedule/Problem.h"
#include "schedule/Result.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"
#include "schedule/Visibility.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::schedule {

/// The widest head dim (D or Dv, padded) one kv kernel takes: dK and dV of
/// a key tile live in its registers.
constexpr int64_t kMaxGradHeadDim = 128;
/// The widest head dim (D or Dv) of the backward at all: past
/// kMaxGradHeadDim the kv kernel is split in two (gradSplitsKv), each
/// holding one of dV and dK (a warp's 16 rows of 256 f32 columns are 128
/// registers a thread).
constexpr int64_t kMaxSplitGradHeadDim = 256;

/// Whether the backward of `p` runs its kv kernel as two, kv_dv (S, P,
/// dV += P^T dO) and then kv_dk (S, dP, dS, dK += dS^T Q): a head dim (D
/// or Dv, padded) past kMaxGradHeadDim. Each recomputes S; kv_dk adds dQ
/// where the schedule does (flash3_grad). Only the warpgroup schedules
/// take such a problem.
bool gradSplitsKv(const AttentionProblem &p);

/// Why `algorithm` (a gradient family) cannot run `p` on `t` at all
/// (element type, head dims, wgmma on the target), or "".
std::string attentionGradPrecondition(const AttentionProblem &p,
                                      const Target &t, Algorithm algorithm);

/// Whether the warpgroup kernels (flash3_grad, flash3_grad_deterministic)
/// issue dP = dO V^T together with S, both in flight while P is computed.
/// Not when the score map's regions run a mask_mod or read tables: their
/// temporaries are live across the map, and dP's registers beside them
/// spill (ptxas at tile_q 64 with D 128: document_mask 72 bytes, prefix_lm
/// 28, relative_bias 8); dP is issued once P is done instead.
bool gradIssuesDScoresWithScores(const AttentionProblem &p);

/// flash3_grad's f32 dQ accumulator is blocked, [B, H, D / 64, N16, 64]
/// (N16 = N rounded up to kGradDqBlockRows): each warp adds its 16 rows of
/// a 64-column block with one bulk reduction of the copy engine
/// (attention/backward.cuh's reduce_add_block). flash2_grad's is [B, H, N,
/// D] rows, added with red.global.add.
constexpr int64_t kGradDqBlockRows = 16, kGradDqBlockColumns = 64;
bool gradDqBlocked(const Schedule &s);

/// The warpgroup kernels' ring ends with an mbarrier (8 bytes) per ring
/// (kv: q, dout; dq: k, v) and slot, on which the TMA copy of the slot's
/// tile arrives
/// (attention/backward.cuh's ring_arrivals; flash-warp-specialize marks
/// the copies).
constexpr int64_t kGradRingArrivalBytes = 8;

/// The kernels of the backward (the file comment); KvDv and KvDk are the
/// two halves of Kv where gradSplitsKv.
enum class GradKernel { KvMaskLists, DqMaskLists, Prep, Kv, KvDv, KvDk, Dq, Convert };
/// The kernels `s` launches for `p`, in launch order: under mask_lists the
/// pre-passes that list each key tile's query tiles (mask_lists_t, the kv
/// kernel's) and, for a dq kernel, each query tile's key tiles
/// (mask_lists); prep, kv (or kv_dv and kv_dk), then convert (the atomic
/// schedules) or dq (the deterministic ones).
std::vector<GradKernel> attentionGradKernels(const AttentionProblem &p,
                                             const Schedule &s);
/// Whether `k` is one of the kv kernels (Kv, KvDv, KvDk).
bool isKvGradKernel(GradKernel k);
/// What a kv kernel computes (the halves of a split one, gradSplitsKv):
/// dV += P^T dO (Kv, KvDv); dP, dS and dK += dS^T Q (Kv, KvDk); the dQ
/// step, under a schedule that adds dQ with atomics (Kv, KvDk).
bool gradKernelComputesDv(GradKernel k);
bool gradKernelComputesDk(GradKernel k);
bool gradKernelAddsDq(const Schedule &s, GradKernel k);
/// "prep", "kv", "kv_dv", "kv_dk", "dq", "convert".
const char *gradKernelName(GradKernel k);

/// Dynamic shared memory of one kernel (bytes; the file comment's
/// formulas; prep and convert stage nothing).
int64_t attentionGradKernelSmemBytes(const AttentionProblem &p,
                                     const Schedule &s, GradKernel k);
/// Registers per thread of one kernel: an estimate from the fragments each
/// thread holds (AttentionGrad.cpp).
int64_t attentionGradKernelRegisters(const AttentionProblem &p,
                                     const Schedule &s, GradKernel k);

/// The largest of the schedule's kernels' shared memory: its smem_bytes.
int64_t attentionGradSmemBytes(const AttentionProblem &p, const Schedule &s);
/// The largest of the schedule's kernels' registers per thread.
int64_t attentionGradRegisters(const AttentionProblem &p, const Schedule &s);

/// The backward's lower bounds: the compulsory traffic (read q, k, v, o, dO
/// and lse, write dq, dk, dv) and the segment term of the Q K^T products
/// the backward recomputes (AttentionGrad.cpp states the argument).
IOBound attentionGradIOBound(const AttentionProblem &p, const Target &t);
/// The same at one level of capacity `capacityBytes`.
LevelBound attentionGradLevelBound(const AttentionProblem &p,
                                   int64_t capacityBytes,
                                   const std::string &level);

/// The model's verdict on `s`: one KernelCost per launch
/// (attentionGradKernels' order). `visit` must be visitTiles(p, s.tileQ, s.tileKv); the
/// overload without it computes it.
Evaluation evaluateAttentionGrad(const AttentionProblem &p, const Target &t,
                                 const Schedule &s, const TileVisit &visit);
Evaluation evaluateAttentionGrad(const AttentionProblem &p, const Target &t,
                                 const Schedule &s);

/// The space of `algorithm` for `p` on `t`: tile_q, tile_kv in {32, 64,
/// 128} (capped at the sequence lengths), stages in {2, 3}, warps in {2, 4,
/// 8} ({4, 8} for the wgmma families). Fails with
/// attentionGradPrecondition's message.
Result<ScheduleSpace> attentionGradSpace(const AttentionProblem &p,
                                         const Target &t, Algorithm algorithm);

/// Every rule of the space, checked on a finished schedule: one message per
/// violated rule, empty when valid. The scheduler runs it on what it
/// returns; flash-lower-kernels on what it lowers.
std::vector<std::string> checkAttentionGradSchedule(const AttentionProblem &p,
                                                    const Target &t,
                                                    const Schedule &s);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_ATTENTIONGRAD_H
