//===- AttentionPrinter.h - the attention family's printer ------*- C++ -*-===//
//
// The printer of `flash.kernel` family "attention", shared by the files that
// define its members: AttentionEmitter.cpp (the kernel, the flash2 path, what
// both algorithms share) and Flash3Emitter.cpp (the sm_90a warpgroup path:
// its constants, schedule check, register split, producer split and
// persistent grid). Private to codegen/attention/.
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
  /// Algorithm "flash3": the sm_90a wgmma path.
  bool flash3 = false;
  /// flash3 with warps = 4 (g + 1) and tile_q = 64 g: g consumer warpgroups
  /// and a producer warpgroup (wgmma_pipe.cuh); the loads the IR places in
  /// the key loops are the producer's, printed as its own loop, the branch
  /// before the consumers' (if / else, as setmaxnreg needs).
  bool producer = false;
  /// flash3 producer kernel with inner_q = 1: the softmax of a key tile
  /// overlaps the warpgroup's own P V of the previous tile.
  bool pipelined = false;
  /// flash3 producer kernel with persistent = 1: one CTA per SM loops over
  /// the query tiles, Q double-buffered (wgmma_pipe.cuh, end).
  bool persistent = false;
  /// Recorded for the producer: Q's load, K's and V's bases and key extent.
  std::string qSource, qStride, qRows, kvExtent;
  std::string kvBase[2];

  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printScoreMap(ScoreMapOp op);
  std::string tensorBase(StringRef tensor, Value batch, Value head);
  std::string banner();
  /// The problem's q, k, v element type.
  Type elementType();
  std::string tileConstants();
  std::string softmaxConstants();
  std::string header();
  std::string headerFlash3();
  std::string signature();
  int64_t minBlocksPerSM();
  LogicalResult checkFlash3Schedule();
  LogicalResult printProducerSplit(scf::ForOp first, scf::ForOp last);
  LogicalResult printPersistent(scf::ForOp first, scf::ForOp last);
  std::string producerRegisterBudget();
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
