//===- AttentionPrinter.h - the attention family's printer ------*- C++ -*-===//
//
// The printer of `flash.kernel` family `attention`, shared by the files that
// define its members: AttentionEmitter.cpp (the kernel, the flash2 and
// flash2_dsplit paths, what all algorithms share) and Flash3Emitter.cpp (the
// sm_90a warpgroup path: its constants, schedule check and the warp-specialized ops of
// FlashPipelineOps.td). Private to codegen/attention/.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_ATTENTION_ATTENTIONPRINTER_H
#define FLASHGEN_CODEGEN_ATTENTION_ATTENTIONPRINTER_H

#include "codegen/ScalarPrinter.h"
#include "schedule/Target.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <string>

namespace mlir::flash {

class AttentionKernelPrinter : public ScalarPrinter {
public:
  using ScalarPrinter::ScalarPrinter;
  FailureOr<EmittedKernel> print();

private:
  /// Whether some score_map changes the score itself (then scores are scaled
  /// before the region runs and the softmax uses log2(e) alone).
  bool scoresModified = false;
  /// Every score_map adds a bias linear in the positions (PositionBias.h):
  /// the scores stay in the units of q k^T, each map hands its lane's bias
  /// (pendingLaneBias, a C name) to the softmax_update after it.
  bool positionBias = false;
  std::string pendingLaneBias;
  /// Algorithm "flash3": the sm_90a wgmma path.
  bool flash3 = false;
  /// Algorithms "flash2_dsplit", "flash3_dsplit": the small-cache kernel
  /// whose Q and K tiles are rings of head-dim chunks and whose O is one
  /// value slice.
  bool dsplit = false;
  /// flash3_dsplit whose query tile stays resident (its chunks in slots of
  /// their own, the ring carrying K alone: schedule::dsplitQueryResident);
  /// its chunk products name Q's slot (`query_stage`).
  bool residentQuery = false;
  /// flash_decode: packed query rows, key splits (flash.split_store).
  bool decode = false;
  /// The kernel's products are warpgroup MMAs (flash3, flash3_dsplit):
  /// wgmma's swizzled tiles, copies and epilogue.
  bool wgmma = false;
  /// The kernel holds a flash.warp_specialize (flash-warp-specialize split
  /// it into producer and consumer warpgroups) / flash.tile_rounds loops
  /// (persistent). The printer reads both from the IR; it decides nothing
  /// about the kernel's structure.
  WarpSpecializeOp warpSplit;
  bool rounds = false;
  /// While printing a TMA split's producer region: which of its two copies
  /// (the TMA one run by one thread, or the cp.async fallback).
  bool printingTmaCopies = false;
  /// While printing it for the producer's rotating warps (rotary embedding
  /// with TMA copies): their rotations alone.
  bool printingRotators = false;

  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printScoreMap(ScoreMapOp op);
  /// The TMA row coordinate of a copy of `tensor` whose tile starts at row
  /// `row0` of the sequence, and its batch coordinate (0 for a packed
  /// tensor, whose map is [1, H, T, D]: runtime/TensorMaps.h).
  std::string tmaRow(TensorRole tensor, StringRef row0);
  std::string tmaBatch(TensorRole tensor, Value batch);
  std::string tensorBase(StringRef tensor, Value batch, Value head);
  /// tensorBase + the row offset of tile `rowTile` of `rows` rows: where a
  /// tile copy reads (the tile loads and the producer's copies).
  std::string tileSource(StringRef tensor, Value batch, Value head,
                         Value rowTile, int64_t rows);
  /// The kernel rotates q and k (problem entry rotary_dims, dialect/Rotary.h).
  bool rotary() { return kernel.getProblem().contains("rotary_dims"); }
  /// K comes rotated from a pre-pass (readsRotatedKeys): only q is turned,
  /// by the consumer warpgroups that read it (flash.pipe_rotate).
  bool keysRotated() { return readsRotatedKeys(kernel); }
  /// The producer's warps rotate Q and K slots (wg::pipe's ROTARY form).
  bool producerRotates() { return rotary() && !keysRotated(); }
  std::string banner();
  std::string headerOpening(StringRef pathNote);
  /// The problem's q, k, v element type.
  Type elementType();
  std::string tileConstants();
  std::string softmaxConstants();
  std::string header();
  std::string headerFlash3();
  std::string headerDSplit();
  std::string signature();
  int64_t minBlocksPerSM();
  /// flash_decode's warps splitting each key tile (Schedule::keyWarps), 1
  /// for every other kernel.
  int64_t keyWarpCount();
  LogicalResult checkFlash3Schedule();
  /// The ops of FlashPipelineOps.td (Flash3Emitter.cpp): one device-library
  /// call each.
  LogicalResult printPipelineOp(Operation *op);
  LogicalResult printWarpSpecialize(WarpSpecializeOp op);
  LogicalResult printTileRounds(TileRoundsOp op);
};

/// The target limits the occupancy hint assumes (schedule/Target.cpp):
/// flash2 kernels run on sm_80 and sm_90, so they plan with sm_80's smaller
/// shared memory; flash3 runs on sm_90a only.
const flashgen::schedule::Target &portableTarget();
const flashgen::schedule::Target &hopperTarget();

/// Registers the attention kernels need per thread (accumulators of the
/// output and score tiles plus addressing); a register cap below this
/// spills, so the occupancy hint never forces one.
constexpr int64_t kRegistersNeeded = 232;

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_ATTENTION_ATTENTIONPRINTER_H
