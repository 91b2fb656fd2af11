//===- FlashPipelineOps.cpp - verifiers of the warp-specialized ops -------===//
//
// The invariants of FlashPipelineOps.td that the flash3 emitter relies on:
// a warp_specialize sits in a flash3 attention kernel whose schedule has a
// producer warpgroup, with budgets setmaxnreg accepts; producer ops sit in
// its producer region and consumer ops in its consumer region (a copy
// issued by a consumer or a product issued by the producer would deadlock
// the rings); a ring is named by the tensor it holds (q, k or v); a
// tile_rounds loop takes the place of the kernel's grid_map.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashDialect.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/Flash3Layout.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

enum class WarpRole { Producer, Consumers };

/// The region of the enclosing flash.warp_specialize `op` sits in, if any.
std::optional<WarpRole> warpRole(Operation *op) {
  for (Region *region = op->getParentRegion(); region;
       region = region->getParentRegion()) {
    if (auto split = dyn_cast<WarpSpecializeOp>(region->getParentOp()))
      return region == &split.getProducer() ? WarpRole::Producer
                                            : WarpRole::Consumers;
  }
  return std::nullopt;
}

/// `op` must sit in the `role` region of a flash.warp_specialize.
LogicalResult checkRole(Operation *op, WarpRole role) {
  std::optional<WarpRole> found = warpRole(op);
  const char *wanted = role == WarpRole::Producer ? "producer" : "consumers";
  if (!found)
    return op->emitOpError() << "must be inside the " << wanted
                             << " region of a flash.warp_specialize";
  if (*found != role)
    return op->emitOpError() << "must be inside the " << wanted
                             << " region of a flash.warp_specialize, not its "
                             << (*found == WarpRole::Producer ? "producer"
                                                              : "consumers")
                             << " region";
  return success();
}

/// A setmaxnreg budget: 0 (keep the launch's) or 24..256 in steps of 8.
LogicalResult checkRegisters(Operation *op, StringRef which, int64_t regs) {
  if (regs == 0 || (regs >= 24 && regs <= 256 && regs % 8 == 0))
    return success();
  return op->emitOpError() << which << " = " << regs
                           << " is not a setmaxnreg budget (0, or 24 to 256 "
                              "in steps of 8)";
}

/// A pipe op's ring: the tensor it holds, q, k or v (g and o have none).
LogicalResult checkRing(Operation *op, TensorRole ring) {
  if (ring == TensorRole::q || ring == TensorRole::k || ring == TensorRole::v)
    return success();
  return op->emitOpError() << "ring " << stringifyTensorRole(ring)
                           << " is not one of q, k, v: only those tensors "
                              "have rings";
}

} // namespace

LogicalResult WarpSpecializeOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  ScheduleAttr s = kernel.getSchedule();
  if (s.getAlgorithm() != Algorithm::flash3)
    return emitOpError() << "needs a flash3 schedule, not "
                         << stringifyAlgorithm(s.getAlgorithm());
  int64_t groups = getConsumerGroups();
  if (groups < 1 || s.getWarps() != 4 * (groups + 1))
    return emitOpError() << "has " << groups
                         << " consumer warpgroup(s) but the schedule has "
                         << s.getWarps()
                         << " warps; a producer kernel has 4 per consumer "
                            "warpgroup plus 4 for the producer";
  if (failed(checkRegisters(*this, "producer_registers",
                            getProducerRegisters())) ||
      failed(checkRegisters(*this, "consumer_registers",
                            getConsumerRegisters())))
    return failure();
  // setmaxnreg moves registers within the pool the launch gave the CTA
  // (__launch_bounds__(threads, 1)); asking for more waits forever.
  int64_t threads = 32 * s.getWarps();
  int64_t pool =
      flashgen::schedule::flash3LaunchRegisters(toLibrary(s)) * threads;
  int64_t wanted =
      128 * (getProducerRegisters() + groups * getConsumerRegisters());
  if (getProducerRegisters() && getConsumerRegisters() && wanted > pool)
    return emitOpError() << "budgets need " << wanted
                         << " registers; the CTA has " << pool;
  if (&(*this)->getBlock()->back() != getOperation())
    return emitOpError() << "must be the last op of its kernel: the "
                            "warpgroups never meet again";
  return success();
}

LogicalResult TileRoundsOp::verify() {
  std::optional<WarpRole> role = warpRole(*this);
  if (!role || (*this)->getParentOp() == nullptr ||
      !isa<WarpSpecializeOp>((*this)->getParentOp()))
    return emitOpError() << "must sit directly in a region of a "
                            "flash.warp_specialize";
  size_t n = getRoles().size();
  if (n == 0 || n > 3 || getExtents().size() != n)
    return emitOpError() << "has " << n << " roles and "
                         << getExtents().size()
                         << " extents: 1 to 3 grid roles, one extent each";
  Block &body = getBody().front();
  Builder b(getContext());
  SmallVector<Type> wanted(n, b.getIndexType());
  wanted.append({b.getIndexType(), b.getI1Type(), b.getIndexType()});
  if (!llvm::equal(body.getArgumentTypes(), wanted))
    return emitOpError() << "body takes one index per role, then the round "
                            "(index), the last-round flag (i1) and the "
                            "carried key-tile count (index)";
  if (body.empty() || !isa<RoundsYieldOp>(body.back()))
    return emitOpError() << "body must end in 'flash.rounds_yield'";
  return success();
}

LogicalResult PipeProduceOp::verify() {
  if (failed(checkRing(*this, getRing())))
    return failure();
  if (getRows() <= 0)
    return emitOpError() << "copies " << getRows() << " rows";
  bool any = getRotateOffset() || getCos() || getSin() || getStyle() || getDims();
  if (any) {
    if (!getRotateOffset() || !getCos() || !getSin() || !getStyle() || !getDims())
      return emitOpError() << "rotates with part of its rotation: it needs a "
                              "style, dims, an offset and both tables";
    if (getRing() == TensorRole::v)
      return emitOpError() << "rotates ring v: rotary embedding turns q and k only";
    if (failed(verifyRotaryTables(getOperation(), getCos(), getSin(), *getDims())))
      return failure();
  }
  return checkRole(*this, WarpRole::Producer);
}
LogicalResult PipeDrainOp::verify() { return checkRole(*this, WarpRole::Producer); }
LogicalResult PipeWaitOp::verify() {
  if (failed(checkRing(*this, getRing())))
    return failure();
  if (getRotated() && getRing() == TensorRole::v)
    return emitOpError() << "waits for a rotated v: rotary embedding turns q and k only";
  return checkRole(*this, WarpRole::Consumers);
}
LogicalResult PipeRotateOp::verify() {
  if (getRows() <= 0)
    return emitOpError() << "rotates " << getRows() << " rows";
  if (failed(verifyRotaryTables(getOperation(), getCos(), getSin(), getDims())))
    return failure();
  return checkRole(*this, WarpRole::Consumers);
}
LogicalResult PipeReleaseOp::verify() {
  if (failed(checkRing(*this, getRing())))
    return failure();
  return checkRole(*this, WarpRole::Consumers);
}
LogicalResult TurnOpenOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult TurnWaitOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult TurnPassOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult TurnCloseOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult MmaWaitOp::verify() {
  if (getPending() < 0 || getPending() > 7)
    return emitOpError() << "pending = " << getPending()
                         << "; wgmma.wait_group takes 0 to 7";
  // flash3_dsplit's warpgroups wait for their chunk products themselves
  // (no producer, no split).
  auto kernel = (*this)->getParentOfType<KernelOp>();
  if (kernel && !(*this)->getParentOfType<WarpSpecializeOp>() &&
      kernel.getSchedule().getAlgorithm() == Algorithm::flash3_dsplit)
    return success();
  return checkRole(*this, WarpRole::Consumers);
}
LogicalResult MmaEmptyGroupOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult ProbabilitiesOp::verify() { return checkRole(*this, WarpRole::Consumers); }
LogicalResult OutputRescaleOp::verify() { return checkRole(*this, WarpRole::Consumers); }
