//===- FlashKernelOps.cpp - verifiers of the kernel-level ops -------------===//
//
// The invariants of the ops of FlashKernelOps.td and FlashLinearKernelOps.td
// that the emitters (codegen/) rely on: a kernel's family and schedule
// agree, it has one grid mapping, tile ops sit inside a kernel of their
// family and name a buffer role that family has, streamed tiles have the
// schedule's sizes, gate kinds match the kernel's, and the scalar regions
// have the arguments and terminator their emitter reads. Each message names
// the value found and what was expected.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashDialect.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// The kernel families and the schedule algorithms each one lowers.
struct FamilyRule {
  StringRef family;
  Algorithm algorithms[2];
  bool recurrence;
};
constexpr FamilyRule kFamilies[] = {
    {"attention", {Algorithm::flash2, Algorithm::flash3}, false},
    {"linear_fused", {Algorithm::chunk_fused, Algorithm::chunk_fused}, true},
    {"linear_states", {Algorithm::chunk_two_pass, Algorithm::chunk_two_pass}, true},
    {"linear_outputs", {Algorithm::chunk_two_pass, Algorithm::chunk_two_pass}, true},
};

const FamilyRule *familyRule(StringRef family) {
  for (const FamilyRule &rule : kFamilies)
    if (rule.family == family)
      return &rule;
  return nullptr;
}

/// "a", "b" or "c" (for messages).
std::string oneOf(ArrayRef<StringRef> names) {
  std::string out;
  for (auto [i, name] : llvm::enumerate(names)) {
    if (i)
      out += i + 1 == names.size() ? " or " : ", ";
    out += "\"" + name.str() + "\"";
  }
  return out;
}

/// The enclosing kernel of a tile op, which must be of an attention family
/// (`recurrence` false) or a recurrence family (true).
FailureOr<KernelOp> enclosingKernel(Operation *op, bool recurrence) {
  auto kernel = op->getParentOfType<KernelOp>();
  const char *wanted = recurrence ? "a recurrence family (linear_fused, "
                                    "linear_states, linear_outputs)"
                                  : "family \"attention\"";
  if (!kernel)
    return op->emitOpError() << "must be inside a flash.kernel of " << wanted;
  const FamilyRule *rule = familyRule(kernel.getFamily());
  if (!rule || rule->recurrence != recurrence)
    return op->emitOpError() << "must be inside a flash.kernel of " << wanted
                             << ", not family \"" << kernel.getFamily()
                             << "\"";
  return kernel;
}

/// A tile op's string role must be one of `roles`.
LogicalResult checkRole(Operation *op, StringRef what, StringRef role,
                        ArrayRef<StringRef> roles) {
  if (llvm::is_contained(roles, role))
    return success();
  return op->emitOpError() << what << " \"" << role << "\" is not "
                           << oneOf(roles);
}

/// A recurrence tile op inside a kernel of the same gate kind.
LogicalResult checkRecurrenceOp(Operation *op, GateKind gate) {
  FailureOr<KernelOp> kernel = enclosingKernel(op, /*recurrence=*/true);
  if (failed(kernel))
    return failure();
  auto kernelGate = kernel->getProblem().getAs<StringAttr>("gate");
  if (kernelGate && kernelGate.getValue() != stringifyGateKind(gate))
    return op->emitOpError() << "has gate " << stringifyGateKind(gate)
                             << " but its kernel's problem has gate \""
                             << kernelGate.getValue() << "\"";
  return success();
}

/// The single block of a scalar region: its argument types and terminator.
template <typename YieldOp>
LogicalResult checkScalarRegion(Operation *op, Region &region,
                                ArrayRef<Type> arguments) {
  Block &body = region.front();
  if (!llvm::equal(body.getArgumentTypes(), arguments)) {
    std::string wanted, found;
    llvm::raw_string_ostream wantedOs(wanted), foundOs(found);
    llvm::interleaveComma(arguments, wantedOs);
    llvm::interleaveComma(body.getArgumentTypes(), foundOs);
    return op->emitOpError() << "region takes (" << found << "); expected ("
                             << wanted << ")";
  }
  if (body.empty() || !isa<YieldOp>(body.back()))
    return op->emitOpError() << "region must end in '"
                             << YieldOp::getOperationName() << "'";
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Kernel, grid and shared ops
//===----------------------------------------------------------------------===//

LogicalResult KernelOp::verify() {
  const FamilyRule *rule = familyRule(getFamily());
  if (!rule) {
    SmallVector<StringRef> names;
    for (const FamilyRule &r : kFamilies)
      names.push_back(r.family);
    return emitOpError() << "family \"" << getFamily()
                         << "\" is not a kernel family (" << oneOf(names)
                         << ")";
  }
  Algorithm algorithm = getSchedule().getAlgorithm();
  if (!llvm::is_contained(rule->algorithms, algorithm))
    return emitOpError() << "family \"" << getFamily() << "\" takes a "
                         << stringifyAlgorithm(rule->algorithms[0])
                         << (rule->algorithms[0] != rule->algorithms[1]
                                 ? " or " + stringifyAlgorithm(
                                                rule->algorithms[1]).str()
                                 : std::string())
                         << " schedule, not " << stringifyAlgorithm(algorithm);
  auto grids = getBody().front().getOps<GridMapOp>();
  int64_t gridCount = std::distance(grids.begin(), grids.end());
  // A persistent kernel's flash.tile_rounds loops take the grid's place
  // (FlashPipelineOps.td).
  bool rounds = false;
  walk([&](TileRoundsOp) { rounds = true; });
  if (gridCount != (rounds ? 0 : 1))
    return emitOpError() << "has " << gridCount
                         << " flash.grid_map ops in its body; a kernel has "
                            "exactly one, or none when flash.tile_rounds "
                            "loops give the tiles";
  return success();
}

LogicalResult GridMapOp::verify() {
  if (getRoles().size() != getIds().size() ||
      getExtents().size() != getIds().size())
    return emitOpError() << "has " << getIds().size() << " ids, "
                         << getRoles().size() << " roles and "
                         << getExtents().size()
                         << " extents: they must be equal";
  if (getIds().empty() || getIds().size() > 3)
    return emitOpError() << "maps " << getIds().size()
                         << " grid dimensions; CUDA grids have 1 to 3";
  return success();
}

LogicalResult TileWaitOp::verify() {
  // I64Attr reads back unsigned: take the attribute's signed value.
  int64_t pending = getPendingAttr().getInt();
  if (pending < 0)
    return emitOpError() << "pending = " << pending
                         << ": the count of load groups left in flight "
                            "cannot be negative";
  return success();
}

//===----------------------------------------------------------------------===//
// Attention tile ops
//===----------------------------------------------------------------------===//

LogicalResult TileLoadOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel) || failed(checkRole(*this, "tensor", getTensor(),
                                         {"q", "k", "v"})))
    return failure();
  ScheduleAttr s = kernel->getSchedule();
  bool query = getTensor() == "q";
  int64_t rows = query ? s.getTileQ() : s.getTileKv();
  if (getRows() != rows)
    return emitOpError() << "loads " << getRows() << " rows of \""
                         << getTensor() << "\"; the kernel's schedule has "
                         << (query ? "tile_q = " : "tile_kv = ") << rows;
  return success();
}

LogicalResult TileMmaOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel))
    return failure();
  if (getAsync() && !(*this)->getParentOfType<WarpSpecializeOp>())
    return emitOpError() << "async products are issued by the consumers of "
                            "a flash.warp_specialize (flash3)";
  return checkRole(*this, "product", getProduct(), {"qk", "pv"});
}

LogicalResult ScoreMapOp::verify() {
  if (failed(enclosingKernel(*this, /*recurrence=*/false)))
    return failure();
  Builder b(getContext());
  Type index = b.getIndexType();
  return checkScalarRegion<ScoreYieldOp>(
      *this, getBody(), {b.getF32Type(), index, index, index, index});
}

LogicalResult SoftmaxUpdateOp::verify() {
  if (failed(enclosingKernel(*this, /*recurrence=*/false)))
    return failure();
  if (getDeferred() && !(*this)->getParentOfType<WarpSpecializeOp>())
    return emitOpError() << "a deferred update is only made by the consumers "
                            "of a flash.warp_specialize (flash3)";
  return success();
}

LogicalResult OutputStoreOp::verify() {
  if (failed(enclosingKernel(*this, /*recurrence=*/false)))
    return failure();
  return checkRole(*this, "tensor", getTensor(), {"o"});
}

//===----------------------------------------------------------------------===//
// Recurrence tile ops
//===----------------------------------------------------------------------===//

LogicalResult ChunkLoadOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/true);
  if (failed(kernel) || failed(checkRole(*this, "tensor", getTensor(),
                                         {"q", "k", "v", "g"})))
    return failure();
  int64_t chunk = kernel->getSchedule().getChunk();
  if (getRows() != chunk)
    return emitOpError() << "loads " << getRows() << " rows of \""
                         << getTensor()
                         << "\"; the kernel's schedule has chunk = " << chunk;
  if (getCols() <= 0)
    return emitOpError() << "loads " << getCols() << " columns";
  return success();
}

/// state_init and state_store: a role; "scratch" is addressed by a chunk
/// boundary. `boundaryRoles` may carry one as well.
template <typename StateOp>
static LogicalResult verifyStateOp(StateOp op, StringRef what, StringRef role,
                                   ArrayRef<StringRef> roles,
                                   ArrayRef<StringRef> boundaryRoles) {
  if (failed(checkRecurrenceOp(op, op.getGate())) ||
      failed(checkRole(op, what, role, roles)))
    return failure();
  if (role == "scratch" && !op.getChunk())
    return op.emitOpError() << "addresses \"scratch\" without a chunk boundary";
  if (op.getChunk() && !llvm::is_contained(boundaryRoles, role))
    return op.emitOpError() << "has a chunk boundary, which " << what << " \""
                            << role << "\" does not take";
  return success();
}

LogicalResult StateInitOp::verify() {
  return verifyStateOp(*this, "source", getSource(),
                       {"zero", "initial", "scratch"}, {"scratch"});
}

LogicalResult StateStoreOp::verify() {
  // The final state may name its boundary (NC), as the scratch ones do.
  return verifyStateOp(*this, "target", getTarget(), {"final", "scratch"},
                       {"final", "scratch"});
}

LogicalResult GateFetchOp::verify() {
  if (failed(checkRecurrenceOp(*this, getGate())))
    return failure();
  GateKind gate = getGate();
  if (gate != GateKind::decay && gate != GateKind::mlstm_exp &&
      gate != GateKind::mlstm_sig)
    return emitOpError() << "gate " << stringifyGateKind(gate)
                         << " has no per-step scalar gates to fetch (decay, "
                            "mlstm_exp, mlstm_sig)";
  return success();
}

LogicalResult ChunkGatesOp::verify() {
  if (failed(checkRecurrenceOp(*this, getGate())))
    return failure();
  // One raw value per gate operand; `vector` runs per (step, key dim).
  unsigned raw = getGate() == GateKind::vector
                     ? 1
                     : LinearAttentionOp::getGateOperandCount(getGate());
  SmallVector<Type> arguments(raw, Float32Type::get(getContext()));
  return checkScalarRegion<GateYieldOp>(*this, getBody(), arguments);
}

LogicalResult ChunkInterOp::verify() {
  return checkRecurrenceOp(*this, getGate());
}

LogicalResult ChunkScoresOp::verify() {
  return checkRecurrenceOp(*this, getGate());
}

LogicalResult DecayMapOp::verify() {
  if (failed(enclosingKernel(*this, /*recurrence=*/true)))
    return failure();
  Builder b(getContext());
  Type f32 = b.getF32Type(), index = b.getIndexType();
  return checkScalarRegion<DecayYieldOp>(
      *this, getBody(), {f32, f32, f32, f32, f32, f32, index, index});
}

LogicalResult ChunkAccumulateOp::verify() {
  return checkRecurrenceOp(*this, getGate());
}

LogicalResult ChunkStoreOp::verify() {
  if (failed(checkRecurrenceOp(*this, getGate())))
    return failure();
  return checkRole(*this, "tensor", getTensor(), {"o"});
}

LogicalResult StateUpdateOp::verify() {
  return checkRecurrenceOp(*this, getGate());
}
