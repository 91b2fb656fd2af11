//===- Schedule.h - one kernel schedule, as #flash.schedule -----*- C++ -*-===//
//
// The fields of `#flash.schedule` (dialect/FlashAttrs.td) as a plain struct,
// so the cost model and the solver need no MLIR. Unused fields are 0.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_SCHEDULE_H
#define FLASHGEN_SCHEDULE_SCHEDULE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flashgen::schedule {

/// Kernel families (dialect/FlashAttrs.td).
enum class Algorithm {
  /// Attention, query tile resident in shared memory, K/V tiles streamed
  /// through a `stages`-deep ring (FlashAttention-2's structure).
  Flash2,
  /// Attention on sm_90a: wgmma warpgroups of 64 query rows (tile_q = 64
  /// per consumer warpgroup), K/V through a `stages`-deep ring; with a
  /// producer warpgroup that loads while the consumers compute when
  /// warps = tile_q / 16 + 4 (FlashAttention-3's structure,
  /// schedule/AttentionLayout.h).
  Flash3,
  /// Attention for on-chip memory below d^2: Q and K are streamed in
  /// tile_d-wide column chunks, the output in tile_dv-wide slices, one CTA
  /// per (query tile, value slice).
  Flash2DSplit,
  /// Recurrence with the state slice kept on chip, chunks streamed.
  ChunkFused,
  /// Recurrence in two kernels: chunk states to scratch, then outputs of
  /// all chunks in parallel.
  ChunkTwoPass,
  /// Attention gradients (flash.attention_grad), FlashAttention-2's
  /// backward: one CTA per key tile keeps dK, dV on chip while query tiles
  /// (Q, dO through a `stages`-deep ring) stream past; dQ is added up in an
  /// f32 accumulator (float atomics, red.global.add).
  Flash2Grad,
  /// The same dK, dV kernel without dQ; dQ has its own kernel, one CTA per
  /// query tile streaming the key tiles past (no float atomics: the result
  /// does not depend on the order CTAs run in).
  Flash2GradDeterministic,
  /// Flash2Grad with the key tile's products on sm_90a warpgroup MMAs
  /// (wgmma): each warpgroup owns 64 key rows of S^T, dK and dV; S^T =
  /// K Q^T and dP^T = V dO^T read both operands from shared memory, dV +=
  /// P^T dO and dK += dS^T Q take P^T and dS^T from registers. dQ as in
  /// Flash2Grad (staged dS^T, mma.sync, red.global.add).
  Flash3Grad,
  /// Flash2GradDeterministic on warpgroup MMAs: the kv kernel of
  /// Flash3Grad without dQ, and a dq kernel whose warpgroups own 64 query
  /// rows of S, dP and dQ.
  Flash3GradDeterministic,
  /// Flash2DSplit on sm_90a warpgroup MMAs: each warpgroup owns 64 query
  /// rows of S (accumulated over the head-dim chunks by wgmma from shared
  /// memory) and of its CTA's value slice of O (P from registers).
  Flash3DSplit,
  /// Attention with few query rows (decoding, speculative verification):
  /// the query heads of a GQA group are packed into one tile's rows (row r
  /// is token r / G of query head kv_head G + r % G), the keys are split
  /// over CTAs at run time (schedule/DecodeSplit.h) and a second kernel
  /// merges the splits by log-sum-exp. mma.sync, flash2's tiles.
  FlashDecode,
  /// Recurrence decoded token by token (schedule/StepLayout.h): a
  /// Dk x tile_dv slice of the f32 state in the registers of `warps` warps,
  /// one rank-one update per token on the FP32 units, no tensor cores.
  RecurrentStep,
  /// A recurrence's gradient (flash.linear_attention_grad,
  /// schedule/LinearGrad.h): the forward's state pass, the state gradients
  /// last chunk first (chunk, tile_dv, stages, warps of both passes), then
  /// every chunk's dq, dk, dv and gate gradients in parallel (one CTA a
  /// chunk, chunk / 16 x Dk / tile_d warps: tile_d columns of dq each).
  ChunkGrad,
  /// ChunkFused after a scores pre-pass: every chunk's gated intra-chunk
  /// matrix P = scale (Q K^T .* D) (16-bit, causal) is written once, in
  /// parallel over chunks (linear_scores), and the fused loop stages it
  /// beside q, k and v instead of recomputing Q K^T and the decay map per
  /// value tile. For the gate kinds whose P does not depend on the carried
  /// state (none, decay, mlstm_sig; chunkScoredViolation).
  ChunkScored,
};

/// Every family, for loops over them.
constexpr Algorithm kAllAlgorithms[] = {
    Algorithm::Flash2, Algorithm::Flash2DSplit, Algorithm::Flash3,
    Algorithm::ChunkFused, Algorithm::ChunkTwoPass, Algorithm::Flash2Grad,
    Algorithm::Flash2GradDeterministic, Algorithm::Flash3Grad,
    Algorithm::Flash3GradDeterministic, Algorithm::Flash3DSplit,
    Algorithm::FlashDecode, Algorithm::RecurrentStep, Algorithm::ChunkGrad,
    Algorithm::ChunkScored};

/// The family's name in #flash.schedule and the bundle manifest
/// ("flash2", "flash3", ...).
const char *algorithmName(Algorithm a);
std::optional<Algorithm> parseAlgorithm(std::string_view name);
bool isAttentionAlgorithm(Algorithm a);
/// Flash2Grad, Flash3Grad and their deterministic forms: the kernels of
/// flash.attention_grad.
bool isAttentionGradAlgorithm(Algorithm a);
/// A gradient schedule that adds dQ up with float atomics (Flash2Grad,
/// Flash3Grad); the deterministic ones have a dq kernel instead.
bool gradAtomicDq(Algorithm a);
/// A schedule whose kernels are built on warpgroup MMAs (wgmma, sm_90a
/// only): Flash3, Flash3DSplit, Flash3Grad, Flash3GradDeterministic.
bool usesWgmma(Algorithm a);
/// The small-cache attention schedules (Flash2DSplit, Flash3DSplit): Q and
/// K in head-dim chunks, one value slice of O per CTA.
bool splitsHeadDim(Algorithm a);
/// FlashDecode: packed GQA rows, keys split over CTAs and merged by a
/// second kernel.
bool splitsKeys(Algorithm a);
/// A gradient schedule without float atomics (dQ by its own kernel).
bool isDeterministicGradAlgorithm(Algorithm a);
/// The names of the families `keep` selects (every family when null), in
/// enum order, joined by `separator`: the lists messages give.
std::string algorithmNames(bool (*keep)(Algorithm) = nullptr,
                           const char *separator = ", ");

struct Schedule {
  Algorithm algorithm = Algorithm::Flash2;
  int64_t tileQ = 0, tileKv = 0, tileD = 0, stages = 0, warps = 0;
  int64_t chunk = 0, innerQ = 0, innerKv = 0, tileDv = 0;
  int64_t smemBytes = 0;
  /// flash3: one CTA per SM looping over the query tiles (0 or 1).
  int64_t persistent = 0;
  /// flash2 / flash3 under rotary embedding (0 or 1): K rotated once by a
  /// pre-pass kernel into a workspace copy, Q alone rotated on chip.
  int64_t rotaryPrepass = 0;
  /// flash2 / flash3 under a mask_mod whose tiles its extras decide
  /// (AttentionProblem::maskModTiles; 0 or 1): a pre-pass kernel lists, per
  /// query tile, the key tiles the mask_mod leaves partly or wholly
  /// visible, and the attention kernel walks those lists as a block mask's.
  int64_t maskLists = 0;
  /// chunk_grad: the chunk kernel's value columns per pass (v, dO and the
  /// two states staged that many at a time, where they do not fit shared
  /// memory whole); 0: the whole of Dv in one pass.
  int64_t valueSlice = 0;

  /// flash_decode with inner_kv > 0: the warps that split each key tile,
  /// inner_kv keys each (tile_kv / inner_kv); their softmax states are
  /// merged once per CTA. 1 otherwise (every warp reads the whole tile).
  int64_t keyWarps() const;
  /// The warps that split tile_q's rows: warps / keyWarps().
  int64_t rowWarps() const;

  /// "flash2 tile_q=128 tile_kv=32 tile_d=128 tile_dv=128 stages=3 warps=4":
  /// the fields the algorithm uses.
  std::string str() const;
  /// The same fields and values.
  bool operator==(const Schedule &o) const;
  bool operator!=(const Schedule &o) const { return !(*this == o); }
};

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_SCHEDULE_H
