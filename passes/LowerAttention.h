//===- LowerAttention.h - flash.attention to flash.kernel ops ---*- C++ -*-===//
//
// The attention builder behind flash-lower-kernels (FlashLowerKernels.cpp):
// one attention schedule (flash2, flash3 or a small-cache one) of a
// flash.attention becomes one `attention` kernel. The pass picks the
// schedules; this file only builds.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_LOWERATTENTION_H
#define FLASHGEN_PASSES_LOWERATTENTION_H

#include "dialect/FlashDialect.h"
#include "dialect/Rotary.h"
#include "passes/BlockLists.h"
#include "passes/InlineRegion.h"
#include "passes/MaskModBounds.h"
#include "passes/ScoreScaling.h"
#include "schedule/Target.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::flash {

/// What a flash.score_map's body is made of: the user's regions (null when
/// absent), the mask and the constant factors left out of score_mod.
struct ScoreMapSource {
  Region *scoreMod = nullptr, *maskMod = nullptr;
  MaskKind mask = MaskKind::none;
  int64_t window = 0;
  ScoreScaling scaling;
  /// flash_decode's packed rows: score row r is token r / packedGroup of
  /// query head head * packedGroup + r % packedGroup (`head` is then the kv
  /// head). 0: every row belongs to `head`.
  int64_t packedGroup = 0;
};

/// The sizes and choices one attention kernel specialises on.
struct AttentionKernelPlan {
  mutable AttentionOp op;
  ScheduleAttr schedule;
  int64_t queryHeads = 0, keyHeads = 0, headDim = 0, valueDim = 0;
  MaskKind mask = MaskKind::none;
  int64_t window = 0;
  /// Name of the function holding the op: kernels are named after it.
  std::string opName;
  /// Constant factors of the score_mod that leave the per-element code.
  ScoreScaling scaling;
  /// Keys of a page of a paged K/V cache (dialect/PagedKv.h); 0: contiguous.
  int64_t pageSize = 0;
  /// Queries (q, o, lse) or keys (k, v) are packed sequences
  /// (dialect/Varlen.h): lengths per sequence, from cu_seqlens.
  bool packedQueries = false, packedKeys = false;
  /// One in how many exponentials of the softmax run on the FMA pipe
  /// (schedule::fmaExp2Every for the op and the target); 0: none.
  int64_t fmaExp2Every = 0;
  /// Rotary embedding of q and k (dialect/Rotary.h); none without it.
  std::optional<Rotary> rotary;

  ScoreMapSource scoreMapSource() const {
    return {op.hasScoreMod() ? &op.getScoreMod() : nullptr,
            op.hasMaskMod() ? &op.getMaskMod() : nullptr, mask, window,
            scaling};
  }
};

/// Whether the kernel of `op` under schedule `s` visits key tiles from the
/// diagonal back: a flash2 / flash3 tile kernel that walks no tile lists
/// (a block mask's or a mask_lists pre-pass's), under a causal or windowed
/// mask whose score_mod adds a bias rising toward the diagonal
/// (dialect/ScoreBias.h, a positive factor), so the first tile holds the
/// row maxima and the online softmax seldom rescales O. flash-lower-kernels
/// and `flashgen explain` both ask here.
bool walksKeysDiagonalFirst(AttentionOp op, ScheduleAttr s);

/// A flash.score_map over the score tile of (queryTile, keyTile) at b's
/// insertion point, b then after it. Its body (block arguments score,
/// batch, head, query row i, key column j): the user's score_mod (cloned),
/// then visibility from the key bound, the mask kind and the user's
/// mask_mod. `masked` false builds the interior-tile form: score_mod only.
/// A non-null `queryLen` also hides rows i >= queryLen (score tiles with
/// ragged query columns). Ops of a region that read neither the score nor
/// i, j (an ALiBi slope) are cloned once before `hoistBefore` instead.
ScoreMapOp buildScoreMap(OpBuilder &b, Location loc, const ScoreMapSource &src,
                         Value batch, Value head, Value queryTile,
                         Value keyTile, Value keyLen, Value queryLen,
                         Value offset, bool masked, Operation *hoistBefore);

/// Key tile j's flash.score_map (the user's regions and the mask over the
/// score tile, buildScoreMap) and flash.softmax_update, at b's
/// insertion point; per-CTA values of the regions go before `hoistBefore`.
void buildScoreMapAndSoftmax(OpBuilder &b, Location loc,
                             const AttentionKernelPlan &plan, Value batch,
                             Value head, Value queryTile, Value j,
                             Value keyLen, Value offset, bool masked,
                             Operation *hoistBefore);

/// Key tiles a query tile [q0, q0 + tileQ) visits: [lo, hi), and [fullLo,
/// fullHi) those every row sees entirely, so no mask is applied. With a
/// mask_mod, `keyBound` builds what it proves about a row's keys
/// (MaskModBounds.h): its bound at the tile's last row ends [lo, hi), the
/// keys its first row keeps end the tiles that need no mask.
struct TileRange {
  Value lo, hi, fullLo, fullHi;
};
using KeyBoundOfRow = llvm::function_ref<MaskModKeyBound(Value row)>;
TileRange keyTilesOfQueryTile(OpBuilder &b, Location loc, MaskKind mask,
                              int64_t window, bool hasMaskMod, Value q0,
                              int64_t tileQ, int64_t tileKv, Value queryLen,
                              Value keyLen, Value offset,
                              const KeyBoundOfRow &keyBound = nullptr);

/// The transpose: query tiles a key tile [k0, k0 + tileKv) is seen by,
/// [lo, hi), and [fullLo, fullHi) those whose every row sees every key of
/// the tile (no mask applied). The ragged last query tile and a ragged key
/// tile are always masked (their zero-filled rows must not count); with a
/// mask_mod (`hasMaskMod`) every tile is.
TileRange queryTilesOfKeyTile(OpBuilder &b, Location loc, MaskKind mask,
                              int64_t window, bool hasMaskMod, Value k0,
                              int64_t tileQ, int64_t tileKv, Value queryLen,
                              Value keyLen, Value offset);

/// What a CTA that owns one query tile of one query head works with: the
/// tile (causal grids launch the heaviest, last tiles first, so `gridTile`
/// counts from the end there), the dynamic lengths, the key/value head of
/// its GQA group, the queries' offset into the keys (bottom-right aligned
/// masks: query i sits at key i + M - N) and the key tiles it visits. With
/// packed sequences (`packedQueries`, `packedKeys`; dialect/Varlen.h) the
/// lengths are the CTA's sequence's (flash.sequence), and a CTA whose query
/// tile is past its sequence exits (flash.exit_if) before any work.
struct QueryTileFrame {
  Value queryTile, queryLen, keyLen, kvHead, offset;
  TileRange keys;
};
/// `maskMod`: the op's mask_mod, null without one.
QueryTileFrame queryTileFrame(OpBuilder &b, Location loc, StringRef queryDim,
                              StringRef keyDim, MaskKind mask, int64_t window,
                              Region *maskMod, int64_t queryHeads,
                              int64_t keyHeads, int64_t tileQ, int64_t tileKv,
                              Value gridTile, Value batch, Value head,
                              bool packedQueries = false,
                              bool packedKeys = false);

/// The three loops over a query tile's key tiles that share one pipeline:
/// masked head (a window's first tiles), unmasked interior, masked tail
/// (the causal diagonal, the ragged end); `step` builds one key tile j.
void buildKeyTileLoops(OpBuilder &b, Location loc, const TileRange &keys,
                       llvm::function_ref<void(Value j, bool masked)> step);

/// The key/value ring of a kernel streaming key tiles [lo, hi) of kv head
/// `kvHead` through `stages` stages of `tileKv` rows: the first stages - 1
/// tiles in flight, one commit group each. `pageSize` > 0: K and V are
/// paged caches with pages of that many keys (dialect/PagedKv.h).
/// `tileOf` maps a ring position to the key tile copied there (a block
/// mask's lists, passes/BlockLists.h); null: position p is tile p.
using KeyTileOfPosition = llvm::function_ref<Value(Value position)>;
void buildKeyValuePrologue(OpBuilder &b, Location loc, Value batch,
                           Value kvHead, Value lo, Value hi, Value keyLen,
                           int64_t tileKv, int64_t stages, int64_t pageSize = 0,
                           KeyTileOfPosition tileOf = nullptr);

/// A kernel's view of the rotary tables (dialect/Rotary.h): the two
/// flash.extra values and what the rotation needs besides them.
struct RotaryTables {
  Value cos, sin;
  RotaryStyle style = RotaryStyle::half;
  int64_t dims = 0;
};

/// One step of that ring at key tile j: wait for it (the CTA-wide sync also
/// means every warp is done with the previous tile, so its stage is free),
/// prefetch tile j + stages - 1 into that stage. Returns j's stage.
///
/// With `rotary` the tile of K that landed is rotated there (flash.tile_rotate
/// and a barrier) before anything reads it.
Value buildKeyValueStep(OpBuilder &b, Location loc, Value j, Value lo,
                        Value hi, Value batch, Value kvHead, Value keyLen,
                        int64_t tileKv, int64_t stages, int64_t pageSize = 0,
                        KeyTileOfPosition tileOf = nullptr,
                        const RotaryTables *rotary = nullptr);

/// The tables of `plan`'s rotary embedding as flash.extra values built at
/// b's insertion point; nullopt without rotary embedding.
std::optional<RotaryTables> buildRotaryTables(OpBuilder &b, Location loc,
                                              const AttentionKernelPlan &plan);
/// The same of a flash.attention or flash.attention_grad.
std::optional<RotaryTables> buildRotaryTables(OpBuilder &b, Location loc,
                                              Operation *attention);

/// The query tile just loaded (the first tile_wait covers it): once the
/// copies landed, rotate it (flash.tile_rotate) and sync, at b's insertion
/// point. `group` > 0: flash_decode's packed rows.
void buildQueryRotation(OpBuilder &b, Location loc, const RotaryTables &tables,
                        Value batch, Value queryTile, Value queryLen,
                        int64_t tileQ, Value offset, int64_t stages,
                        int64_t group = 0);

/// The first kernel of a rotary_prepass schedule (LowerAttentionRotary.cpp):
/// `<name>` at the builder's insertion point, which it leaves after it.
KernelOp buildRotaryKeysKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                               StringRef name, int64_t variant);

/// The workspace lists of a mask_lists schedule (LowerAttentionMaskLists.cpp),
/// i32: counts [B|1, Hq|1, rows] and indices [.., listed] (rows the tiles
/// that walk them, listed the other side's), with the batch and head dims
/// where the mask_mod reads them.
struct MaskListTypes {
  RankedTensorType counts, indices;
};
MaskListTypes maskListTypes(Region &maskMod, int64_t queryHeads);

/// What a mask_lists pre-pass and the kernels that walk its lists are
/// built from: the op's mask_mod, mask kind and sizes, the schedule's tiles.
struct MaskListsSource {
  Region *maskMod = nullptr;
  MaskKind mask = MaskKind::none;
  int64_t window = 0;
  int64_t queryHeads = 0;
  std::string batchDim, queryDim, keyDim;
  int64_t tileQ = 0, tileKv = 0;
};
/// The source of a forward's (AttentionKernelPlan) or a gradient's
/// (AttentionGradKernelPlan) kernels.
template <typename Plan> MaskListsSource maskListsSource(const Plan &plan) {
  auto op = plan.op;
  return {&op.getMaskMod(),       plan.mask,           plan.window,
          plan.queryHeads,        op.getBatchDimName(), op.getQueryDimName(),
          op.getKeyDimName(),     plan.schedule.getTileQ(),
          plan.schedule.getTileKv()};
}

/// The body of a pre-pass kernel (family attention_mask_lists, empty body):
/// one CTA per (list row, head, batch) sorts the other side's tiles by the
/// mask_mod's interval form (flash.tile_classify). Rows are query tiles
/// listing key tiles, or with `transposed` key tiles listing query tiles
/// (the gradient's kv kernel's). `waitsForPrevious`: the launch before it
/// is one that the next kernel's wait must cover too.
void buildMaskListsBody(OpBuilder &b, KernelOp kernel, const MaskListsSource &src,
                        bool transposed, bool waitsForPrevious);

/// The forward's pre-pass, `<name>` at the builder's insertion point, which
/// it leaves after it.
KernelOp buildMaskListsKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                              StringRef name, int64_t variant);

/// A walking kernel's view of those lists for its tile (a query tile, or
/// with `transposed` a key tile), built at b's insertion point (after the
/// kernel waited for the pre-pass, where it overlaps it).
BlockLists buildMaskLists(OpBuilder &b, Location loc, const MaskListsSource &src,
                          Value batch, Value head, Value tile, Value queryLen,
                          Value keyLen, bool transposed);

/// A kernel `<name>` of family attention_rotate (LowerAttentionRotary.cpp)
/// at the builder's insertion point, which it leaves after it: rows of
/// `tensor` (`heads` heads, `rowsDim` rows) of `attention` (a forward or
/// its gradient op) turned by its rotary tables, at positions row + (M - N)
/// for q and dq, row for k and dk; q and k into their workspace copies,
/// dq and dk back (`inverse`) in place. `waits`: the kernel waits for the
/// previous launch before it reads (flash.wait_previous_launch).
KernelOp buildRotateRowsKernel(OpBuilder &b, Operation *attention, ScheduleAttr schedule,
                               DictionaryAttr problem, StringRef name, TensorRole tensor,
                               int64_t heads, bool waits);

/// The problem dictionary recorded on each attention kernel: what it
/// specialises on (element type, head counts and dims, scales, mask).
DictionaryAttr attentionProblemAttr(OpBuilder &b,
                                    const AttentionKernelPlan &plan,
                                    StringRef opName, int64_t variant);

/// The small-cache kernel of a flash2_dsplit or flash3_dsplit schedule
/// (LowerAttentionDSplit.cpp): `<name>` at the builder's insertion point.
KernelOp buildDSplitAttentionKernel(OpBuilder &b,
                                    const AttentionKernelPlan &plan,
                                    StringRef name, int64_t variant);

/// The two kernels of a flash_decode schedule (LowerAttentionDecode.cpp):
/// `<name>` (packed query tiles, keys split over CTAs; the split count is
/// schedule/DecodeSplit.h's rule for `target`) and `<name>_merge`, appended
/// to `kernels` in launch order.
void buildDecodeKernels(OpBuilder &b, const AttentionKernelPlan &plan,
                        const flashgen::schedule::Target &target,
                        StringRef name, int64_t variant,
                        SmallVectorImpl<KernelOp> &kernels);

/// The plan of `op`, without a schedule.
AttentionKernelPlan attentionKernelPlan(AttentionOp op);

/// Builds the kernel of one schedule (`plan.schedule`, flash2 or flash3) at
/// the builder's insertion point (the end of the module) and appends it to
/// `kernels`: `<opName>_v<variant>`.
void buildAttentionKernels(OpBuilder &b, const AttentionKernelPlan &plan,
                           const flashgen::schedule::Target &target,
                           int64_t variant, SmallVectorImpl<KernelOp> &kernels);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_LOWERATTENTION_H
