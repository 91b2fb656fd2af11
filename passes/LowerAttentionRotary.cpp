//===- LowerAttentionRotary.cpp - rotary embedding's row kernels ----------===//
//
// Kernels of family attention_rotate: rows of q, k (into workspace copies)
// or dq, dk (back, in place) turned by an attention's rotary tables
// (docs/semantics.md §2.12), one CTA per (kRotaryPrepassRows-row tile,
// head, batch), `flash.rows_rotate`.
//
// A forward schedule with `rotary_prepass` (flash2 and flash3) runs two
// kernels:
//
//   <name>_rotate_keys  K rotated once into the workspace copy `k_rotated`;
//   <name>              the attention kernel, which waits for that launch,
//                       reads the copy in k's place and rotates only its q
//                       tiles.
//
// Without it every query tile rotates each K tile it reads again (and reads
// its table rows, twice K's bytes, again): N / tile_q times per key. The
// pre-pass turns each key once, for K's traffic read and written once more
// (schedule::rotaryPrepassCost weighs the two).
//
// The backward (flash.attention_grad with rotary) is the unrotated one's
// kernels on the rotated inputs: <name>_rotate_q and _rotate_k first (the
// kernels read the copies in q's and k's place), then dq and dk, the
// gradients with respect to the rotated q and k, turned back by the
// rotation's transpose (_unrotate_dq, _unrotate_dk).
//
//===----------------------------------------------------------------------===//

#include "passes/LowerAttention.h"

#include "passes/IndexBuilder.h"

#include "schedule/AttentionCost.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

namespace {

/// The dims names of a forward or gradient op.
struct AttentionDims {
  std::string batch, query, key;
};
AttentionDims dimsOf(Operation *attention) {
  if (auto op = dyn_cast<AttentionOp>(attention))
    return {op.getBatchDimName(), op.getQueryDimName(), op.getKeyDimName()};
  auto op = cast<AttentionGradOp>(attention);
  return {op.getBatchDimName(), op.getQueryDimName(), op.getKeyDimName()};
}

} // namespace

KernelOp mlir::flash::buildRotateRowsKernel(OpBuilder &b, Operation *attention,
                                            ScheduleAttr schedule, DictionaryAttr problem,
                                            StringRef name, TensorRole tensor, int64_t heads,
                                            bool waits) {
  Location loc = attention->getLoc();
  auto kernel =
      KernelOp::create(b, loc, name, KernelFamily::attention_rotate, schedule, problem);
  b.setInsertionPointToStart(b.createBlock(&kernel.getBody()));
  IndexBuilder ib{b, loc};
  AttentionDims dims = dimsOf(attention);
  bool queries = tensor == TensorRole::q || tensor == TensorRole::dq;
  const std::string &rowsDim = queries ? dims.query : dims.key;
  std::string tiles =
      "cdiv(" + rowsDim + "," + std::to_string(sched::kRotaryPrepassRows) + ")";
  auto grid = GridMapOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType(), b.getIndexType()},
      b.getStrArrayAttr({"row_tile", "head", "batch"}),
      b.getStrArrayAttr({tiles, std::to_string(heads), dims.batch}));
  // The next launch may start while this one runs: it waits before it
  // reads what this one wrote.
  LaunchDependentsOp::create(b, loc);
  if (waits)
    WaitPreviousLaunchOp::create(b, loc);
  auto dim = [&](const std::string &d) {
    return DimOp::create(b, loc, b.getIndexType(), b.getStringAttr(d));
  };
  Value keyLen = dim(dims.key);
  Value rows = queries ? Value(dim(dims.query)) : keyLen;
  // Query i sits at position i + M - N (the causal alignment), key j at j.
  Value offset = queries ? ib.sub(keyLen, rows) : ib.c(0);
  std::optional<RotaryTables> tables = buildRotaryTables(b, loc, attention);
  bool inverse = tensor == TensorRole::dq || tensor == TensorRole::dk;
  RowsRotateOp::create(b, loc, tensor, grid.getIds()[2], grid.getIds()[1], grid.getIds()[0],
                       rows, uint64_t(sched::kRotaryPrepassRows), offset, tables->cos,
                       tables->sin, tables->style, uint64_t(tables->dims), inverse);
  b.setInsertionPointAfter(kernel);
  return kernel;
}

KernelOp mlir::flash::buildRotaryKeysKernel(OpBuilder &b, const AttentionKernelPlan &plan,
                                            StringRef name, int64_t variant) {
  return buildRotateRowsKernel(b, plan.op.getOperation(), plan.schedule,
                               attentionProblemAttr(b, plan, plan.opName, variant), name,
                               TensorRole::k, plan.keyHeads, /*waits=*/false);
}
