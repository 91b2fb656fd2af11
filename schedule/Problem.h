//===- Problem.h - the sizes a schedule is chosen for -----------*- C++ -*-===//
//
// Plain descriptions of one flash.attention or flash.linear_attention with
// every dimension bound (the passes fill them from the op and the `dims`
// bindings). Letters follow ../shared/DESIGN.md and Saha & Ye: N queries,
// M keys, D = d the query/key head dimension.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_PROBLEM_H
#define FLASHGEN_SCHEDULE_PROBLEM_H

#include "reference/GateKind.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flashgen::schedule {

/// The largest size of any dimension: kernels index and take sizes as
/// 32-bit ints (the runtime's symbols have the same bound).
constexpr int64_t kMaxExtent = 2147483647;
/// The most heads of one op: kernels spread them over gridDim.y.
constexpr int64_t kMaxHeads = 65535;
/// The cost model counts bytes in int64: a problem whose B x H x N x M x D
/// x element bytes (attention) or B x H x T x Dk x Dv x 4 (recurrences)
/// exceeds this is refused rather than counted wrong.
constexpr long double kMaxModelWork = 1152921504606846976.0L; // 2^60

enum class MaskKind { None, Causal, SlidingWindow };

/// What the user's per-element regions read: nothing (no score_mod or
/// mask_mod), the score alone (softcap), or the element's positions too (a
/// mask_mod, ALiBi), or extra tensors per element too (a document mask, a
/// bias table). Recorded on kernels as the problem's `element_mods` (0-3).
enum class ElementMods { None = 0, Score = 1, Positions = 2, Tables = 3 };
using flashgen::GateKind;
using flashgen::gateKindName;
using flashgen::parseGateKind;

const char *maskKindName(MaskKind kind);
std::optional<MaskKind> parseMaskKind(std::string_view name);

/// softmax(scale q k^T + mods) v with bottom-right aligned masks
/// (docs/semantics.md §2.3): query i sees key j iff j <= i + M - N
/// (causal), and also i + M - N - j < window (sliding window).
struct AttentionProblem {
  int64_t batch = 1;      ///< B
  int64_t queryHeads = 1; ///< Hq
  int64_t keyHeads = 1;   ///< Hkv; Hq / Hkv query heads share one K/V head
  int64_t queryLen = 0;   ///< N
  int64_t keyLen = 0;     ///< M
  int64_t headDim = 0;    ///< D (q, k)
  int64_t valueDim = 0;   ///< Dv (v, o)
  int64_t elementBytes = 2;
  MaskKind mask = MaskKind::None;
  int64_t window = 0; ///< keys per query for MaskKind::SlidingWindow
  bool hasScoreMod = false;
  bool hasMaskMod = false;
  /// The score_mod reads q_idx or kv_idx (ALiBi), not the score alone.
  bool scoreModReadsPositions = false;
  /// The score_mod adds to the score a bias linear in the positions
  /// (dialect/ScoreBias.h): the forward kernels pay one FFMA per score for
  /// it, the rest joins the softmax (codegen/attention/PositionBias.h).
  bool scoreModIsPositionBias = false;
  /// The gradient's dS takes score_grad's factor: a score_mod whose
  /// derivative is not the constant 1 (softcap; not ALiBi or any bias
  /// s + f(b, h, i, j); passes/OpProblems.h's scoreGradHasFactor). The
  /// gradient's register rules and ALU count (AttentionGrad.cpp) read it.
  bool scoreGradHasFactor = false;
  /// A region reads an extra tensor (a document id, a bias table) per
  /// element: loads and their clamped addresses.
  bool regionsReadTables = false;
  /// Keys of a page when k and v are read through a page table
  /// (dialect/PagedKv.h); 0 for contiguous caches.
  int64_t pageSize = 0;
  /// Queries or keys are packed sequences of their own lengths
  /// (dialect/Varlen.h): the planned N and M are the longest ones.
  bool varlen = false;
  /// Query rows and keys of a block of a block-sparse mask
  /// (dialect/BlockMask.h): query tiles divide blockQ and key tiles
  /// blockKv, so a tile lies in one block. 0: no block mask.
  int64_t blockQ = 0, blockKv = 0;
  /// The mask_mod reads an extra tensor at a query or key position and
  /// every op of it has an interval form (passes/MaskModTiles.h): a
  /// pre-pass can sort each (query tile, key tile) into hidden, partial
  /// and whole from the extras at launch (Schedule::maskLists).
  bool maskModTiles = false;
  /// An output_mod maps each stored output element (docs/semantics.md
  /// §2.11): applied where a CTA stores whole rows (flash2, flash3).
  bool hasOutputMod = false;
  /// Bytes the output_mod reads per output element (LinearProblem's
  /// outputModReadBytes, the same count).
  int64_t outputModReadBytes = 0;
  /// q and k are rotated on chip by rotary embedding (dialect/Rotary.h):
  /// R dims of each q and k tile, once each tile landed. 0: none.
  int64_t rotaryDims = 0;
  /// Code that runs on every score element of the forward kernels, and
  /// what it reads (flash3's register rule, Flash3Layout.h). A bias linear
  /// in the positions keeps two values live there, the lane's bias and its
  /// factor (codegen/attention/PositionBias.h), as a score_mod of the
  /// score alone does.
  ElementMods elementMods() const {
    if (regionsReadTables)
      return ElementMods::Tables;
    if (hasMaskMod || (hasScoreMod && scoreModReadsPositions && !scoreModIsPositionBias))
      return ElementMods::Positions;
    return hasScoreMod ? ElementMods::Score : ElementMods::None;
  }
  bool hasElementMods() const { return elementMods() != ElementMods::None; }
  /// Per score element work of the user's regions when present (the pass
  /// may count the region's ops; the defaults fit softcap and ALiBi).
  int64_t scoreModSfuOps = 1;
  int64_t scoreModAluOps = 4;
  int64_t maskModAluOps = 2;

  int64_t groupSize() const { return keyHeads > 0 ? queryHeads / keyHeads : 0; }
};

/// The gated recurrence S_t = G_t (.) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t
/// (docs/semantics.md §3).
struct LinearProblem {
  int64_t batch = 1;  ///< B
  int64_t heads = 1;  ///< H
  int64_t length = 0; ///< T
  int64_t keyDim = 0;   ///< Dk
  int64_t valueDim = 0; ///< Dv
  GateKind gate = GateKind::None;
  int64_t elementBytes = 2;     ///< q, k, v, o
  int64_t gateElementBytes = 4; ///< gate operands (f32 in the examples)
  bool hasInitialState = false;
  bool returnsFinalState = false;
  /// Sequences packed back to back (flash.varlen_view, cu_seqlens): each
  /// (value tile, head, sequence) CTA of the fused chunk kernel reads its
  /// own rows; the two-pass form's chunk grid and the step kernel do not
  /// take them yet. `length` is then the longest sequence.
  bool packed = false;
  /// flash.delta_rule (docs/semantics.md §7) described as this recurrence:
  /// the bytes of its beta per step (its log-decay is gate `decay`); 0 for
  /// flash.linear_attention.
  int64_t betaBytes = 0;
  /// flash.delta_rule's l2norm_qk: the prepare kernel also reads q and
  /// writes every row's two norms, which the recurrence reads.
  bool l2normQk = false;
  /// flash.linear_attention's output_mod: every store of o computes it per
  /// element, reading its extras (the step kernel's registers count it:
  /// StepLayout.h).
  bool hasOutputMod = false;
  /// Bytes the output_mod reads per output element: one element of each
  /// extra tensor, a gate's pattern (a broadcast table reads less, so the
  /// modeled traffic errs high; the IO bound leaves them out).
  int64_t outputModReadBytes = 0;
  /// The extras the output_mod reads at each output's own position, which
  /// the chunk kernels with outputs stage with every chunk
  /// (passes/StagedExtras.h; ChunkShape::stagedExtras).
  int64_t stagedOutputModExtras = 0;
  /// flash.linear_attention's feature_map: each kernel maps the q and k
  /// rows it stages, in place in shared memory (the step kernel as it
  /// stores them), reading `featureMapReadBytes` of extras per element
  /// mapped (one element of each extra tensor, as outputModReadBytes).
  bool hasFeatureMap = false;
  int64_t featureMapReadBytes = 0;

  /// flash.delta_rule: the chunk kernels correct each chunk's values first.
  bool isDelta() const { return betaBytes > 0; }

  /// Gate operand bytes per time step of one (b, h): 0, one scalar, Dk
  /// values or two scalars, plus the delta rule's beta.
  int64_t gateBytesPerStep() const;
  /// f32 bytes of the whole recurrent state of one (b, h): C [Dk, Dv], plus
  /// n [Dk] for the mLSTM kinds and m for mlstm_exp.
  int64_t stateBytes() const;
  /// Bytes of the state other than C (n, m).
  int64_t normalizerStateBytes() const;
};

/// "" when the sizes are usable, else what is wrong, with the numbers.
std::string validate(const AttentionProblem &p);
std::string validate(const LinearProblem &p);

/// Under a block-sparse mask a tile lies in one block (its list is one
/// block's, a listed block whole tiles): "" when tile_q divides blockQ and
/// tile_kv blockKv, or there is no mask; else the rule. The forward's and
/// the backward's spaces and checkers read it.
std::string blockTileViolation(const AttentionProblem &p, int64_t tileQ,
                               int64_t tileKv);

/// One line: "B=2 Hq=32 Hkv=8 N=8192 M=8192 D=128 Dv=128 causal, 2-byte
/// elements".
std::string describe(const AttentionProblem &p);
std::string describe(const LinearProblem &p);

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_PROBLEM_H
