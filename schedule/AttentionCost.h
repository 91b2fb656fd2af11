//===- AttentionCost.h - cost model of the attention schedules --*- C++ -*-===//
//
// Resources (shared memory, registers), traffic (global and HBM), FLOPs and
// time of a flash2 or flash2_dsplit schedule for one attention problem. The
// shared-memory plan of flash2 is the emitter's
// (codegen/attention/, docs/emitter-target.md):
//
//   flash2         smem = (tile_q D + stages tile_kv (D + Dv)) e
//   flash2_dsplit  smem = (stages (tile_q + tile_kv) tile_d + 2 tile_kv tile_dv) e
//
// with D, Dv padded to a power of two of at least 32 (shared rows of 64 to
// 512 bytes).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_ATTENTIONCOST_H
#define FLASHGEN_SCHEDULE_ATTENTIONCOST_H

#include "schedule/Evaluation.h"
#include "schedule/Problem.h"
#include "schedule/Schedule.h"
#include "schedule/Target.h"
#include "schedule/Visibility.h"

#include <cstdint>

namespace flashgen::schedule {

/// Shared rows of a 16-bit tile hold 64 to 512 bytes (smem_tile in
/// codegen/device/memory/smem_tile.cuh): 32 to 256 columns.
constexpr int64_t kMinTileColumns = 32;
constexpr int64_t kMaxTileColumns = 256;

/// Whether a small-cache schedule's chunk products stay in flight across the next
/// step's barrier (flash3_dsplit with a ring of 4 or more stages): their
/// stage is then refilled one step later, so the ring copies one chunk
/// less ahead. Measured on the H200 (d = 512 and MLA, bench/attention):
/// at equal copy distance the asynchronous products are 6-8% faster, but a
/// 3-stage ring is better off copying 2 chunks ahead with each product
/// waited for (d = 512, 128-column chunks: 7.96 ms against 9.33 ms).
bool dsplitAsyncProducts(Algorithm algorithm, int64_t stages);
/// How many chunks ahead the ring copies: stages - 2 with asynchronous
/// products, else stages - 1.
int64_t dsplitPrefetchDistance(Algorithm algorithm, int64_t stages);
/// Whether a small-cache schedule keeps its query tile's head-dim chunks
/// resident for the CTA's life (copied once, before the ring starts) and
/// streams K chunks alone through the ring: flash3_dsplit, where that plan
/// (the whole Q tile, the K ring, two V slices) fits sm_90's shared memory.
/// Measured on an H100 (hand-edited kernels, d = 512): 1.19-1.30x faster
/// than the same ring streaming Q (docs/results/attention-d512-qresident-
/// experiment-h100.json); a step that copies its K chunk alone stays under
/// what a step hides (AttentionCost.cpp, kDSplitStepCopyBytes).
bool dsplitQueryResident(const AttentionProblem &p, const Schedule &s);
/// The small-cache kernels stream (Q chunk, K chunk) pairs through a
/// stages-deep ring and double-buffer the V slice, which is copied with the
/// first chunk of its key tile: the ring may run at most one key tile ahead.
constexpr const char *kDSplitRingRule =
    "the small-cache kernels' chunk ring prefetches at least one chunk and "
    "at most one key tile ahead (1 <= stages - 1, or stages - 2 for "
    "flash3_dsplit's asynchronous products, <= D / tile_d): the V slice it "
    "copies with a key tile's first chunk is double buffered";

/// flash3_dsplit's warpgroups each own 64 query rows.
constexpr const char *kDSplitWarpgroupRule =
    "flash3_dsplit's warpgroups of 4 warps each own 64 query rows "
    "(tile_q = 16 x warps)";

/// One exp2 per score: the online-softmax numerator.
constexpr double kSoftmaxSfuPerScore = 1;
/// FP32 work per score outside the MMAs: scale-and-subtract-max (one FMA),
/// the running max, the row sum, the conversion to 16 bits. An estimate.
constexpr double kSoftmaxAluPerScore = 4;
/// Compare and select per score on tiles that need the element-wise mask.
constexpr double kMaskAluPerScore = 2;
/// A score_mod's bias linear in the positions, as the forward kernels
/// compute it: one FFMA per score (AttentionProblem::scoreModIsPositionBias).
constexpr double kPositionBiasAluPerScore = 1;

/// Issue slots of one exponential computed on the FMA pipe instead of the
/// MUFU (fg::ex2_fma: clamp, round, reduce, 3 FMAs of the polynomial,
/// exponent shift and add, the max that maps 2^-inf to 0).
constexpr double kFmaExp2IssueSlots = 10;

/// One in how many of the softmax's exponentials the kernel computes on the
/// FMA pipe (fg::ex2_fma), 0 for none. The MUFU pipe accepts a warp's
/// instruction every fp32/sfu rate ratio (8 on sm_90) cycles and the
/// issue slot every cycle; when a score's MUFU cycles (its exp2 and the
/// score_mod's transcendentals: softcap's tanh) exceed its issue slots, the
/// element loop waits on the MUFU. Moving a share f of the exp2s to the FMA
/// pipe balances the two at f = (mufu - issue) / (ratio - 1 +
/// kFmaExp2IssueSlots); a share below 1/4 is not worth the registers and is
/// within the estimate's error, so plain attention keeps every exp2 on the
/// MUFU. FlashAttention-4 makes the same trade on Blackwell.
int64_t fmaExp2Every(const AttentionProblem &p, const Target &t);

/// The columns a shared tile of a `d`-wide row uses: d padded to a power of
/// two, at least kMinTileColumns (docs/emitter-target.md §1).
int64_t paddedTileColumns(int64_t d);

/// Dynamic shared memory of a schedule (bytes).
int64_t attentionSmemBytes(const AttentionProblem &p, const Schedule &s);

/// Registers per thread a schedule's kernel needs, with a safety margin: a
/// model fitted to ptxas (AttentionCost.cpp) of the scores S, their 16-bit
/// copy P, the output accumulator O, the head dim and the copy loops.
int64_t attentionRegisters(const AttentionProblem &p, const Schedule &s);

/// Value slices of a schedule: Dv / tile_dv for flash2_dsplit, else 1.
int64_t attentionValueSlices(const AttentionProblem &p, const Schedule &s);

/// The model's verdict on `s`. `visit` must be visitTiles(p, s.tileQ,
/// s.tileKv); the overload without it computes it.
Evaluation evaluateAttention(const AttentionProblem &p, const Target &t,
                             const Schedule &s, const TileVisit &visit);
Evaluation evaluateAttention(const AttentionProblem &p, const Target &t,
                             const Schedule &s);


/// Rotary embedding (dialect/Rotary.h): SM cycles one round of a tile's
/// rotation takes -- each thread's piece waits for its table row from L2,
/// then its shared-memory chunk. Fitted on the lent H100
/// (bench/attention/bench_rope.py, docs/results/attention-rope-h100.json):
/// flash_decode at B=8, M=32768, 4 warps, 64-key tiles, 4 stages rotated
/// 188 us over the pre-rotated time, about 1300 cycles a tile in two rounds
/// of two pieces; flash3's producer (96 threads, one 4-element piece a
/// round) about 720 cycles a round (9.1 ms against 1.85 ms at B=2,
/// N=8192, causal, 128 x 160 tiles).
constexpr double kRotaryRoundCycles = 650;
constexpr double kRotaryProducerRoundCycles = 720;
/// rotary.cuh's pieces: where every thread of a CTA rotates, 8 elements a
/// piece, a fitted round being two of a thread's pieces, one after the
/// other (rotate_pieces); in flash3's producer its three rotating warps
/// (wg::kRotatorThreads), 4 elements a piece and a round each.
constexpr int64_t kRotaryPieceElems = 8, kRotaryPiecesInFlight = 2;
constexpr int64_t kRotatorThreads = 96, kRotatorPieceElems = 4;

/// Rounds the threads of a CTA take to rotate `rows` rows: `elems`-element
/// pieces (half: a piece and its partner), `inFlight` pieces a thread at
/// once.
double rotaryRounds(const AttentionProblem &p, int64_t rows, int64_t threads,
                    int64_t elems, int64_t inFlight);

/// Schedule::rotaryPrepass's first kernel: a CTA of kRotaryPrepassWarps
/// warps rotates kRotaryPrepassRows rows of one (batch, kv head) of K into
/// the workspace copy.
constexpr int64_t kRotaryPrepassRows = 64, kRotaryPrepassWarps = 4;

/// The cost of that kernel: K read and written once, the tables' rows read
/// from L2 by each kv head (from HBM once).
KernelCost rotaryPrepassCost(const AttentionProblem &p);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_ATTENTIONCOST_H
