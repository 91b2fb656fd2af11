//===- LowerAttentionRotary.cpp - rotary embedding's key pre-pass ---------===//
//
// A schedule with `rotary_prepass` (flash2 and flash3 under rotary
// embedding, docs/semantics.md §2.12) runs two kernels:
//
//   <name>_rotate_keys  family attention_rotate_keys: one CTA per
//                       (key tile of kRotaryPrepassRows rows, kv head,
//                       batch) turns its rows of K at their positions and
//                       writes them to the workspace copy `k_rotated`;
//   <name>              the attention kernel, which waits for that launch,
//                       reads the copy in k's place and rotates only its q
//                       tiles.
//
// Without it every query tile rotates each K tile it reads again (and reads
// its table rows, twice K's bytes, again): N / tile_q times per key. The
// pre-pass turns each key once, for K's traffic read and written once more
// (schedule::rotaryPrepassCost weighs the two).
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/IndexBuilder.h"

#include "schedule/AttentionCost.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

KernelOp mlir::flash::buildRotaryKeysKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                                            StringRef name, int64_t variant) {
  AttentionOp op = plan.op;
  Location loc = op.getLoc();
  auto kernel = KernelOp::create(b, loc, name, KernelFamily::attention_rotate_keys,
                                 plan.schedule,
                                 attentionProblemAttr(b, plan, plan.opName, variant));
  b.setInsertionPointToStart(b.createBlock(&kernel.getBody()));
  IndexBuilder ib{b, loc};
  std::string keyDim = op.getKeyDimName();
  std::string tiles =
      "cdiv(" + keyDim + "," + std::to_string(sched::kRotaryPrepassRows) + ")";
  auto grid = GridMapOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType(), b.getIndexType()},
      b.getStrArrayAttr({"key_tile", "kv_head", "batch"}),
      b.getStrArrayAttr({tiles, std::to_string(plan.keyHeads), op.getBatchDimName()}));
  // The attention kernel may start while this one runs: its Q copies and
  // setup need nothing of K (it waits before reading the copy).
  LaunchDependentsOp::create(b, loc);
  Value keyLen = DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(keyDim));
  std::optional<RotaryTables> tables = buildRotaryTables(b, loc, plan);
  // Key j sits at position j (the query's alignment offset is q's alone).
  KeysRotateOp::create(b, loc, grid.getIds()[2], grid.getIds()[1], grid.getIds()[0], keyLen,
                       uint64_t(sched::kRotaryPrepassRows), ib.c(0), tables->cos, tables->sin,
                       tables->style, uint64_t(tables->dims));
  b.setInsertionPointAfter(kernel);
  return kernel;
}
