//===- FlashKernelOps.cpp - verifiers of the kernel-level ops -------------===//
//
// The invariants of the ops of FlashKernelOps.td and FlashLinearKernelOps.td
// that the emitters (codegen/) rely on: a kernel's family and schedule
// agree, it has one grid mapping, tile ops sit inside a kernel of their
// family and name a tensor or state that op and that family have (the
// kernel's CUDA parameters), streamed tiles have the schedule's sizes, gate
// kinds match the kernel's, and the scalar regions have the arguments and
// terminator their emitter reads. Each message names the value found and
// what was expected.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashDialect.h"
#include "dialect/PagedKv.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/AttentionCost.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// A set of values of one of the kernel IR's enums (all below 32).
template <typename E> class EnumSet {
public:
  constexpr EnumSet() = default;
  constexpr EnumSet(std::initializer_list<E> values) {
    for (E value : values)
      bits |= 1u << static_cast<unsigned>(value);
  }
  bool contains(E value) const {
    return (bits >> static_cast<unsigned>(value)) & 1;
  }
  /// The names of the members, in enum order.
  SmallVector<StringRef> names() const {
    SmallVector<StringRef> out;
    for (unsigned i = 0; i < 32; ++i)
      if ((bits >> i) & 1)
        out.push_back(stringifyEnum(static_cast<E>(i)));
    return out;
  }

private:
  unsigned bits = 0;
};

/// The kernel families: the schedule algorithms each one lowers, and what
/// its tile ops may name, which is what its CUDA kernel has parameters for
/// (codegen/recurrence/ChunkwiseEmitter.cpp's signature): `linear_states`
/// computes no outputs (no q, no o) and hands its chunk states to
/// `linear_outputs` through scratch; only the kernels that run the
/// recurrence from the start read the initial state and write the final one.
struct FamilyRule {
  KernelFamily family;
  EnumSet<Algorithm> algorithms;
  bool recurrence;
  EnumSet<TensorRole> tensors;
  EnumSet<StateSource> sources;
  EnumSet<StateTarget> targets;
};
using TR = TensorRole;
constexpr FamilyRule kFamilies[] = {
    {KernelFamily::attention,
     {Algorithm::flash2, Algorithm::flash2_dsplit, Algorithm::flash3,
      Algorithm::flash3_dsplit, Algorithm::flash_decode},
     false,
     {TR::q, TR::k, TR::v, TR::o},
     {},
     {}},
    {KernelFamily::attention_combine,
     {Algorithm::flash_decode},
     false,
     {TR::o},
     {},
     {}},
    {KernelFamily::attention_rotate,
     {Algorithm::flash2, Algorithm::flash3, Algorithm::flash2_grad,
      Algorithm::flash2_grad_deterministic, Algorithm::flash3_grad,
      Algorithm::flash3_grad_deterministic},
     false,
     {TR::q, TR::k, TR::dq, TR::dk},
     {},
     {}},
    // Reads the mask_mod's extras alone and writes the workspace lists
    // (the forward's, or the gradient's kv and dq kernels').
    {KernelFamily::attention_mask_lists,
     {Algorithm::flash2, Algorithm::flash3, Algorithm::flash2_grad,
      Algorithm::flash2_grad_deterministic, Algorithm::flash3_grad,
      Algorithm::flash3_grad_deterministic},
     false,
     {},
     {},
     {}},
    {KernelFamily::attention_grad_prep,
     {Algorithm::flash2_grad, Algorithm::flash2_grad_deterministic,
      Algorithm::flash3_grad, Algorithm::flash3_grad_deterministic},
     false,
     {TR::o, TR::dout, TR::delta, TR::dq_accum},
     {},
     {}},
    {KernelFamily::attention_grad_kv,
     {Algorithm::flash2_grad, Algorithm::flash2_grad_deterministic,
      Algorithm::flash3_grad, Algorithm::flash3_grad_deterministic},
     false,
     {TR::q, TR::k, TR::v, TR::dout, TR::lse, TR::delta, TR::dq_accum, TR::dk,
      TR::dv},
     {},
     {}},
    {KernelFamily::attention_grad_dq,
     {Algorithm::flash2_grad_deterministic, Algorithm::flash3_grad_deterministic},
     false,
     {TR::q, TR::k, TR::v, TR::dout, TR::lse, TR::delta, TR::dq},
     {},
     {}},
    {KernelFamily::attention_grad_convert,
     {Algorithm::flash2_grad, Algorithm::flash3_grad},
     false,
     {TR::dq_accum, TR::dq},
     {},
     {}},
    {KernelFamily::linear_fused,
     {Algorithm::chunk_fused, Algorithm::chunk_scored},
     true,
     {TR::q, TR::k, TR::v, TR::g, TR::o, TR::scores, TR::score_gates, TR::score_key_sums},
     {StateSource::zero, StateSource::initial},
     {StateTarget::final}},
    {KernelFamily::delta_fused,
     {Algorithm::chunk_fused, Algorithm::chunk_fused},
     true,
     {TR::q, TR::k, TR::delta_w, TR::delta_u, TR::delta_norm, TR::g, TR::o},
     {StateSource::zero, StateSource::initial},
     {StateTarget::final}},
    {KernelFamily::delta_prepare,
     {Algorithm::chunk_fused, Algorithm::chunk_fused},
     true,
     {TR::k, TR::v, TR::g},
     {},
     {}},
    // chunk_scored's pre-pass: each chunk's gated P into scratch.
    {KernelFamily::linear_scores,
     {Algorithm::chunk_scored},
     true,
     {TR::q, TR::k, TR::g, TR::scores, TR::score_gates, TR::score_key_sums},
     {},
     {}},
    {KernelFamily::linear_states,
     {Algorithm::chunk_two_pass, Algorithm::chunk_grad},
     true,
     {TR::k, TR::v, TR::g},
     {StateSource::zero, StateSource::initial},
     {StateTarget::final, StateTarget::scratch}},
    {KernelFamily::linear_outputs,
     {Algorithm::chunk_two_pass, Algorithm::chunk_two_pass},
     true,
     {TR::q, TR::k, TR::v, TR::g, TR::o},
     {StateSource::scratch},
     {}},
    {KernelFamily::recurrent_step,
     {Algorithm::recurrent_step, Algorithm::recurrent_step},
     true,
     {TR::o},
     {StateSource::zero, StateSource::initial},
     {StateTarget::final}},
    // flash.linear_attention_grad's kernels (chunk_grad, after a
    // linear_states pass: the rule above admits chunk_grad too).
    // The normaliser kinds read dO / den and the rows' normaliser
    // gradients (linear_grad_rows') in dO's place.
    {KernelFamily::linear_grad_states,
     {Algorithm::chunk_grad, Algorithm::chunk_grad},
     true,
     {TR::q, TR::dout, TR::g, TR::grad_do, TR::grad_dqn},
     {StateSource::zero, StateSource::final_grad},
     {StateTarget::initial_grad, StateTarget::scratch}},
    {KernelFamily::linear_grad_chunk,
     {Algorithm::chunk_grad, Algorithm::chunk_grad},
     true,
     {TR::q, TR::k, TR::v, TR::dout, TR::g, TR::grad_do, TR::grad_dqn},
     {},
     {}},
    // (flash.normalizer_grad_rows: row by row from the forward's o and
    // norm, no chunk tiles, no states.)
    {KernelFamily::linear_grad_rows,
     {Algorithm::chunk_grad, Algorithm::chunk_grad},
     true,
     {},
     {},
     {}},
};

const FamilyRule &familyRule(KernelFamily family) {
  const FamilyRule *rule = llvm::find_if(
      kFamilies, [&](const FamilyRule &r) { return r.family == family; });
  assert(rule != std::end(kFamilies) && "every KernelFamily has a rule");
  return *rule;
}

/// "a", "a or b", "a, b or c" (for messages).
std::string oneOf(ArrayRef<StringRef> names) {
  std::string out;
  for (auto [i, name] : llvm::enumerate(names)) {
    if (i)
      out += i + 1 == names.size() ? " or " : ", ";
    out += name.str();
  }
  return out;
}

/// The enclosing kernel of a tile op, which must be of an attention family
/// (`recurrence` false) or a recurrence family (true).
FailureOr<KernelOp> enclosingKernel(Operation *op, bool recurrence) {
  auto kernel = op->getParentOfType<KernelOp>();
  const char *wanted = recurrence ? "a recurrence family (linear_fused, "
                                    "linear_states, linear_outputs, "
                                    "delta_fused, delta_prepare, "
                                    "linear_scores, "
                                    "recurrent_step, linear_grad_states, "
                                    "linear_grad_chunk, linear_grad_rows)"
                                  : "family attention";
  if (!kernel)
    return op->emitOpError() << "must be inside a flash.kernel of " << wanted;
  if (familyRule(kernel.getFamily()).recurrence != recurrence)
    return op->emitOpError() << "must be inside a flash.kernel of " << wanted
                             << ", not family "
                             << stringifyKernelFamily(kernel.getFamily());
  return kernel;
}

/// A tensor the op can name at all (`opTensors`: an output store stores o).
LogicalResult checkOpTensor(Operation *op, TensorRole tensor,
                            EnumSet<TensorRole> opTensors) {
  if (opTensors.contains(tensor))
    return success();
  return op->emitOpError() << "tensor " << stringifyTensorRole(tensor)
                           << " is not " << oneOf(opTensors.names());
}

/// A tensor, state source or state target (`what`) that the kernel's family
/// has (`familyRoles`: its FamilyRule's set).
template <typename E>
LogicalResult checkFamilyRole(Operation *op, KernelOp kernel, StringRef what,
                              E role, EnumSet<E> familyRoles) {
  if (familyRoles.contains(role))
    return success();
  InFlightDiagnostic diag =
      op->emitOpError() << "a " << stringifyKernelFamily(kernel.getFamily())
                        << " kernel has no " << what << " "
                        << stringifyEnum(role);
  SmallVector<StringRef> names = familyRoles.names();
  if (names.empty())
    diag << " (it has none)";
  else
    diag << " (its " << what << "s: " << llvm::join(names, ", ") << ")";
  return diag;
}

/// A recurrence tile op inside a kernel of the same gate kind.
FailureOr<KernelOp> checkRecurrenceOp(Operation *op, GateKind gate) {
  FailureOr<KernelOp> kernel = enclosingKernel(op, /*recurrence=*/true);
  if (failed(kernel))
    return failure();
  std::optional<GateKind> kernelGate = kernel->getProblemGate();
  if (kernelGate && *kernelGate != gate)
    return op->emitOpError() << "has gate " << stringifyGateKind(gate)
                             << " but its kernel's problem has gate "
                             << stringifyGateKind(*kernelGate);
  return kernel;
}

/// Whether the kernel's problem sets the boolean `key` to false (the
/// initial_state and final_state flags; an absent flag allows either).
bool problemFlagOff(KernelOp kernel, StringRef key) {
  auto flag = kernel.getProblem().getAs<BoolAttr>(key);
  return flag && !flag.getValue();
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

std::optional<GateKind> KernelOp::getProblemGate() {
  auto gate = getProblem().getAs<StringAttr>("gate");
  return gate ? symbolizeGateKind(gate.getValue()) : std::nullopt;
}

LogicalResult KernelOp::verify() {
  const FamilyRule &rule = familyRule(getFamily());
  Algorithm algorithm = getSchedule().getAlgorithm();
  if (!rule.algorithms.contains(algorithm))
    return emitOpError() << "family " << stringifyKernelFamily(getFamily())
                         << " takes a " << oneOf(rule.algorithms.names())
                         << " schedule, not " << stringifyAlgorithm(algorithm);
  if (Attribute gate = getProblem().get("gate"); gate && !getProblemGate()) {
    SmallVector<StringRef> kinds;
    for (unsigned i = 0; i <= getMaxEnumValForGateKind(); ++i)
      kinds.push_back(stringifyGateKind(static_cast<GateKind>(i)));
    return emitOpError() << "problem gate " << gate
                         << " is not a gate kind (" << oneOf(kinds) << ")";
  }
  auto grids = getBody().front().getOps<GridMapOp>();
  int64_t gridCount = std::distance(grids.begin(), grids.end());
  // A persistent kernel's flash.tile_rounds loops (FlashPipelineOps.td) or
  // its flash.chunk_rounds (the gradient's chunk kernel) take the grid's
  // place.
  bool rounds = false;
  walk([&](TileRoundsOp) { rounds = true; });
  for (Operation &op : getBody().front())
    rounds |= isa<ChunkRoundsOp>(op);
  if (gridCount != (rounds ? 0 : 1))
    return emitOpError() << "has " << gridCount
                         << " flash.grid_map ops in its body; a kernel has "
                            "exactly one, or none when flash.tile_rounds "
                            "loops or flash.chunk_rounds give the tiles";
  return success();
}

LogicalResult ExtraOp::verify() {
  RankedTensorType type = getTensor().getType();
  if (int64_t(getSizes().size()) != type.getNumDynamicDims())
    return emitOpError() << "has " << getSizes().size() << " sizes for "
                         << type.getNumDynamicDims()
                         << " dynamic dimensions of " << type;
  Type elem = type.getElementType();
  if (!elem.isInteger(32) && !elem.isInteger(64) && !elem.isF32())
    return emitOpError() << "element type " << elem
                         << " is not one of i32, i64, f32";
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

/// The rotary tables of a tile_rotate or a rotating pipe_produce: the same
/// f32 type, [P, R/2] or [B, P, R/2] (dialect/Rotary.h), R = `dims`.
LogicalResult mlir::flash::verifyRotaryTables(Operation *op, Value cos, Value sin,
                                              int64_t dims) {
  auto type = llvm::dyn_cast<RankedTensorType>(cos.getType());
  if (!type || cos.getType() != sin.getType())
    return op->emitOpError() << "rotary tables have types " << cos.getType()
                             << " and " << sin.getType() << ": they must match";
  if (!type.getElementType().isF32() || (type.getRank() != 2 && type.getRank() != 3))
    return op->emitOpError() << "rotary tables are f32 [P, R/2] or [B, P, R/2], got "
                             << type;
  if (dims <= 0 || type.getShape().back() != dims / 2 || dims % 2 != 0)
    return op->emitOpError() << "rotates " << dims << " dims with tables of type "
                             << type << ": the tables hold dims / 2 angles a position";
  return success();
}

LogicalResult TileRotateOp::verify() {
  if (getTensor() != TensorRole::q && getTensor() != TensorRole::k)
    return emitOpError() << "rotates " << stringifyTensorRole(getTensor())
                         << ": rotary embedding turns q and k only";
  if (getRows() <= 0)
    return emitOpError() << "rotates " << getRows() << " rows";
  if (getGroup() && *getGroup() < 1)
    return emitOpError() << "group = " << *getGroup() << " must be >= 1";
  return verifyRotaryTables(getOperation(), getCos(), getSin(), getDims());
}

LogicalResult TileClassifyOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  if (!kernel || kernel.getFamily() != KernelFamily::attention_mask_lists)
    return emitOpError() << "must be inside a flash.kernel of family attention_mask_lists";
  if (kernel.getSchedule().getMaskLists() == 0)
    return emitOpError() << "writes a mask_lists schedule's lists; this kernel's "
                            "schedule has mask_lists = 0";
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 || !body.getArgument(0).getType().isIndex())
    return emitOpError() << "takes one index argument, the listed tile (a key "
                            "tile, or with `transposed` a query tile); it has "
                         << body.getNumArguments() << " arguments";
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || !yield.getValue().getType().isInteger(32))
    return emitOpError() << "yields the listed tile's class as i32 (0 hidden, 1 "
                            "partial, 2 whole)";
  return success();
}

LogicalResult RowsRotateOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  if (!kernel || kernel.getFamily() != KernelFamily::attention_rotate)
    return emitOpError() << "must be inside a flash.kernel of family attention_rotate";
  // The forward rotates k into its copy under a rotary_prepass schedule;
  // the backward q and k into copies, and dq and dk back in place.
  Algorithm algorithm = kernel.getSchedule().getAlgorithm();
  bool forward = algorithm == Algorithm::flash2 || algorithm == Algorithm::flash3;
  TensorRole t = getTensor();
  bool gradient = t == TensorRole::dq || t == TensorRole::dk;
  if (forward && (t != TensorRole::k || getInverse() ||
                  kernel.getSchedule().getRotaryPrepass() == 0))
    return emitOpError() << "in a forward kernel rotates k (not inverse) under a "
                            "rotary_prepass schedule; this rotates "
                         << stringifyTensorRole(t) << (getInverse() ? " inverse" : "");
  if (!forward && !(t == TensorRole::q || t == TensorRole::k || gradient))
    return emitOpError() << "rotates " << stringifyTensorRole(t)
                         << ": the backward rotates q, k and turns dq, dk back";
  if (gradient != bool(getInverse()))
    return emitOpError() << (gradient ? "turns a gradient back: it needs inverse"
                                      : "rotates an input: inverse is for dq and dk");
  if (getRows() <= 0)
    return emitOpError() << "rotates " << getRows() << " rows";
  return verifyRotaryTables(getOperation(), getCos(), getSin(), getDims());
}

std::optional<std::array<TensorRole, 2>>
mlir::flash::gradRingTensors(KernelFamily family) {
  if (family == KernelFamily::attention_grad_kv)
    return std::array{TR::q, TR::dout};
  if (family == KernelFamily::attention_grad_dq)
    return std::array{TR::k, TR::v};
  return std::nullopt;
}

/// TMA ring copies (flash.tile_load ... tma, flash.tile_landed): the tiles
/// a warpgroup gradient kernel streams through its ring (gradRingTensors),
/// the only ones flash-warp-specialize marks.
static LogicalResult checkTmaRing(Operation *op, KernelOp kernel,
                                  TensorRole tensor) {
  Algorithm a = kernel.getSchedule().getAlgorithm();
  KernelFamily f = kernel.getFamily();
  std::optional<std::array<TensorRole, 2>> ring = gradRingTensors(f);
  if (!ring || !usesWgmma(a))
    return op->emitOpError()
           << "copies with TMA in a " << stringifyKernelFamily(f)
           << " kernel of algorithm " << stringifyAlgorithm(a)
           << "; only the ring of a flash3_grad or flash3_grad_deterministic "
              "attention_grad_kv or attention_grad_dq kernel does";
  if (!llvm::is_contained(*ring, tensor))
    return op->emitOpError()
           << "copies " << stringifyTensorRole(tensor) << " with TMA; the "
           << (f == KernelFamily::attention_grad_kv ? "kv" : "dq")
           << " kernel's ring holds " << stringifyTensorRole((*ring)[0])
           << " and " << stringifyTensorRole((*ring)[1]);
  return success();
}

LogicalResult TileLoadOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel) ||
      failed(checkOpTensor(*this, getTensor(),
                           {TR::q, TR::k, TR::v, TR::dout})) ||
      failed(checkFamilyRole(*this, *kernel, "tensor", getTensor(),
                             familyRule(kernel->getFamily()).tensors)))
    return failure();
  ScheduleAttr s = kernel->getSchedule();
  // flash_decode's query tile holds packed rows, and only its does.
  bool packed = splitsKeys(s.getAlgorithm()) && getTensor() == TensorRole::q;
  if (bool(getGroup()) != packed)
    return emitOpError() << (packed ? "must load packed rows (group G): a "
                                      "flash_decode query tile holds the query "
                                      "heads of a kv head"
                                    : "loads packed rows (group), which only a "
                                      "flash_decode kernel's q does");
  if (getGroup() && *getGroup() < 1)
    return emitOpError() << "group = " << *getGroup() << " must be >= 1";
  // Paged copies look each row's page up: k and v of the kernels whose
  // copies are per-row cp.async (flash2's and flash_decode's rings).
  if (std::optional<int64_t> pageSize = getPageSize()) {
    bool keyValue = getTensor() == TensorRole::k || getTensor() == TensorRole::v;
    bool perRow = s.getAlgorithm() == Algorithm::flash2 ||
                  splitsKeys(s.getAlgorithm());
    if (!keyValue || !perRow)
      return emitOpError() << "loads " << stringifyTensorRole(getTensor())
                           << " through a page table in a "
                           << stringifyAlgorithm(s.getAlgorithm())
                           << " kernel; only k and v of flash2 and "
                              "flash_decode kernels are paged";
    if (*pageSize < 1 || *pageSize > kMaxPageSize)
      return emitOpError() << "page_size = " << *pageSize
                           << " must be in [1, " << kMaxPageSize << "]";
  }
  // q and dO have a row per query, k and v a row per key.
  bool query = getTensor() == TensorRole::q || getTensor() == TensorRole::dout;
  int64_t rows = query ? s.getTileQ() : s.getTileKv();
  if (getRows() != rows)
    return emitOpError() << "loads " << getRows() << " rows of "
                         << stringifyTensorRole(getTensor())
                         << "; the kernel's schedule has "
                         << (query ? "tile_q = " : "tile_kv = ") << rows;
  // Column chunks: the small-cache schedule's q and k chunks (tile_d wide)
  // and v slices (tile_dv wide), and only there; its loads are all chunks.
  bool dsplit = splitsHeadDim(s.getAlgorithm());
  if (bool(getColTile()) != bool(getCols()))
    return emitOpError() << "names a column tile without its width, or a "
                            "width without the column tile";
  if (bool(getColTile()) != dsplit)
    return emitOpError() << (dsplit ? "must load a column chunk (cols C at "
                                      "INDEX): a small-cache (dsplit) kernel keeps "
                                      "no whole rows on chip"
                                    : "loads a column chunk, which only a "
                                      "small-cache (dsplit) kernel does; this one's "
                                      "schedule is ")
                         << (dsplit ? "" : stringifyAlgorithm(s.getAlgorithm()));
  if (dsplit) {
    int64_t width = getTensor() == TensorRole::v ? s.getTileDv() : s.getTileD();
    if (*getCols() != width)
      return emitOpError() << "loads " << *getCols() << " columns of "
                           << stringifyTensorRole(getTensor())
                           << "; the kernel's schedule has "
                           << (getTensor() == TensorRole::v ? "tile_dv = "
                                                            : "tile_d = ")
                           << width;
  }
  if (getTma() && failed(checkTmaRing(*this, *kernel, getTensor())))
    return failure();
  if (getTma() && !getAsync())
    return emitOpError() << "copies with TMA but is not async: its cp.async "
                            "fallback joins a copy group";
  return success();
}

LogicalResult TileLandedOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel))
    return failure();
  return checkTmaRing(*this, *kernel, getTensor());
}

LogicalResult TileMmaOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel))
    return failure();
  // The products each family computes (FlashGradKernelOps.td).
  using P = TileProduct;
  EnumSet<P> products;
  switch (kernel->getFamily()) {
  case KernelFamily::attention:
    products = {P::qk, P::pv};
    break;
  case KernelFamily::attention_grad_kv:
    products = gradAtomicDq(kernel->getSchedule().getAlgorithm())
                   ? EnumSet<P>{P::qk, P::dov, P::ptdo, P::dstq, P::dsk}
                   : EnumSet<P>{P::qk, P::dov, P::ptdo, P::dstq};
    break;
  case KernelFamily::attention_grad_dq:
    products = {P::qk, P::dov, P::dsk};
    break;
  default:
    break;
  }
  if (!products.contains(getProduct())) {
    InFlightDiagnostic diag =
        emitOpError() << "a " << stringifyKernelFamily(kernel->getFamily())
                      << " kernel with a "
                      << stringifyAlgorithm(kernel->getSchedule().getAlgorithm())
                      << " schedule computes no product "
                      << stringifyTileProduct(getProduct());
    SmallVector<StringRef> names = products.names();
    diag << (names.empty() ? std::string(" (it has none)")
                           : " (its products: " + llvm::join(names, ", ") + ")");
    return diag;
  }
  // Asynchronous products: flash3's consumers, and the gradient kernels of
  // the warpgroup schedules (waited for by flash.grad_mma_wait).
  bool gradFamily = kernel->getFamily() == KernelFamily::attention_grad_kv ||
                    kernel->getFamily() == KernelFamily::attention_grad_dq;
  ScheduleAttr schedule = kernel->getSchedule();
  bool chunkProduct =
      getAccumulate() &&
      flashgen::schedule::dsplitAsyncProducts(toLibrary(schedule.getAlgorithm()),
                                              schedule.getStages());
  if (getAsync() && !(*this)->getParentOfType<WarpSpecializeOp>() &&
      !(gradFamily && usesWgmma(kernel->getSchedule().getAlgorithm())) &&
      !chunkProduct)
    return emitOpError() << "async products are issued by the consumers of "
                            "a flash.warp_specialize (flash3), by the "
                            "gradient kernels of a flash3_grad schedule or as "
                            "flash3_dsplit's chunk products";
  // Only the small-cache schedule accumulates S over head-dim chunks, and
  // it accumulates every score product.
  bool dsplit = splitsHeadDim(kernel->getSchedule().getAlgorithm());
  if (getProduct() == TileProduct::qk && getAccumulate() != dsplit)
    return emitOpError()
           << (dsplit ? "must accumulate (a small-cache (dsplit) kernel adds S one "
                        "head-dim chunk at a time after flash.score_clear)"
                      : "accumulates S over head-dim chunks, which only a "
                        "small-cache (dsplit) kernel does");
  if (getProduct() != TileProduct::qk && getAccumulate())
    return emitOpError() << "only the qk product accumulates over chunks";
  if (getQueryStage() &&
      !(getAccumulate() &&
        kernel->getSchedule().getAlgorithm() == Algorithm::flash3_dsplit))
    return emitOpError() << "reads a resident query chunk (query_stage), which only "
                            "the accumulating qk product of a flash3_dsplit kernel does";
  return success();
}

LogicalResult ScoreClearOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel))
    return failure();
  if (!splitsHeadDim(kernel->getSchedule().getAlgorithm()))
    return emitOpError() << "starts a chunk-accumulated score tile, which "
                            "only a small-cache (dsplit) kernel has; this one's "
                            "schedule is "
                         << stringifyAlgorithm(
                                kernel->getSchedule().getAlgorithm());
  return success();
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
  if (std::optional<int64_t> every = getFmaExp2Every();
      every && (*every < 2 || *every > 64))
    return emitOpError() << "fma_exp2_every " << *every
                         << ": one in every 2 to 64 exponentials";
  return success();
}

LogicalResult LaunchValueOp::verify() {
  if (!isIdentifier(getName()))
    return emitOpError() << "name '" << getName()
                         << "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)";
  if (getExpr().empty())
    return emitOpError() << "'" << getName() << "' has an empty expression";
  return success();
}

/// A flash_decode op: inside a kernel of `family` whose schedule is
/// flash_decode, with a group of at least 1.
static LogicalResult checkDecodeOp(Operation *op, KernelFamily family,
                                   int64_t group) {
  auto kernel = op->getParentOfType<KernelOp>();
  if (!kernel || kernel.getFamily() != family ||
      !splitsKeys(kernel.getSchedule().getAlgorithm()))
    return op->emitOpError() << "must be inside a flash.kernel of family "
                             << stringifyKernelFamily(family)
                             << " with a flash_decode schedule";
  if (group < 1)
    return op->emitOpError() << "group = " << group
                             << ": the query heads per kv head must be >= 1";
  return success();
}

LogicalResult SplitStoreOp::verify() {
  return checkDecodeOp(*this, KernelFamily::attention, getGroup());
}

LogicalResult SplitMergeOp::verify() {
  return checkDecodeOp(*this, KernelFamily::attention_combine, getGroup());
}

LogicalResult OutputStoreOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/false);
  if (failed(kernel))
    return failure();
  if (splitsKeys(kernel->getSchedule().getAlgorithm()))
    return emitOpError() << "is in a flash_decode kernel, whose packed rows "
                            "flash.split_store writes";
  bool dsplit = splitsHeadDim(kernel->getSchedule().getAlgorithm());
  if (bool(getValueSlice()) != dsplit)
    return emitOpError() << (dsplit ? "must name its value slice (a "
                                      "small-cache (dsplit) kernel stores tile_dv "
                                      "columns of each row)"
                                    : "names a value slice, which only a "
                                      "small-cache (dsplit) kernel stores");
  return checkOpTensor(*this, getTensor(), {TR::o});
}

//===----------------------------------------------------------------------===//
// Attention gradient tile ops (FlashGradKernelOps.td)
//===----------------------------------------------------------------------===//

namespace {

/// A gradient tile op inside a kernel of one of `families`.
FailureOr<KernelOp> checkGradOp(Operation *op,
                                ArrayRef<KernelFamily> families) {
  auto kernel = op->getParentOfType<KernelOp>();
  if (kernel && llvm::is_contained(families, kernel.getFamily()))
    return kernel;
  SmallVector<StringRef> names;
  for (KernelFamily family : families)
    names.push_back(stringifyKernelFamily(family));
  InFlightDiagnostic diag = op->emitOpError()
                            << "must be inside a flash.kernel of family "
                            << oneOf(names);
  if (kernel)
    diag << ", not " << stringifyKernelFamily(kernel.getFamily());
  return diag;
}

constexpr KernelFamily kScoreGradFamilies[] = {KernelFamily::attention_grad_kv,
                                               KernelFamily::attention_grad_dq};

/// An op only an atomic-dQ schedule has (the f32 dQ accumulator).
LogicalResult checkAtomicSchedule(Operation *op, KernelOp kernel) {
  if (gradAtomicDq(kernel.getSchedule().getAlgorithm()))
    return success();
  return op->emitOpError()
         << "needs the f32 dQ accumulator of a flash2_grad or flash3_grad "
            "schedule; this kernel's is "
         << stringifyAlgorithm(kernel.getSchedule().getAlgorithm());
}

} // namespace

LogicalResult GradInitOp::verify() {
  return checkGradOp(*this, kScoreGradFamilies);
}
LogicalResult GradMmaWaitOp::verify() {
  FailureOr<KernelOp> kernel = checkGradOp(*this, kScoreGradFamilies);
  if (failed(kernel))
    return failure();
  if (!usesWgmma(kernel->getSchedule().getAlgorithm()))
    return emitOpError() << "waits for warpgroup products, which a "
                         << stringifyAlgorithm(kernel->getSchedule().getAlgorithm())
                         << " schedule does not issue";
  if (getPending() < 0 || getPending() > 7)
    return emitOpError() << "pending = " << getPending()
                         << "; wgmma.wait_group takes 0 to 7";
  return success();
}
/// The kv kernel of a warpgroup schedule: the ring that holds lse and D.
static LogicalResult checkRingRows(Operation *op, KernelOp kernel) {
  if (kernel.getFamily() == KernelFamily::attention_grad_kv &&
      usesWgmma(kernel.getSchedule().getAlgorithm()))
    return success();
  return op->emitOpError()
         << "keeps lse and D rows in the ring only in the attention_grad_kv "
            "kernels of warpgroup schedules (flash3_grad, "
            "flash3_grad_deterministic); this kernel is "
         << stringifyKernelFamily(kernel.getFamily()) << " of "
         << stringifyAlgorithm(kernel.getSchedule().getAlgorithm());
}

LogicalResult GradRowsOp::verify() {
  FailureOr<KernelOp> kernel = checkGradOp(*this, kScoreGradFamilies);
  if (failed(kernel))
    return failure();
  return getStage() ? checkRingRows(*this, *kernel) : success();
}

LogicalResult GradRowsStagedOp::verify() {
  FailureOr<KernelOp> kernel = checkGradOp(*this, kScoreGradFamilies);
  return failed(kernel) ? failure() : checkRingRows(*this, *kernel);
}
LogicalResult ScoreSaveOp::verify() {
  return checkGradOp(*this, kScoreGradFamilies);
}
LogicalResult GradProbabilitiesOp::verify() {
  return checkGradOp(*this, kScoreGradFamilies);
}

LogicalResult GradScoresOp::verify() {
  if (failed(checkGradOp(*this, kScoreGradFamilies)))
    return failure();
  if (getBody().empty())
    return success();
  Builder b(getContext());
  Type index = b.getIndexType();
  return checkScalarRegion<ScoreYieldOp>(
      *this, getBody(), {b.getF32Type(), index, index, index, index});
}

LogicalResult ScoresStageOp::verify() {
  FailureOr<KernelOp> kernel =
      checkGradOp(*this, {KernelFamily::attention_grad_kv});
  return failed(kernel) ? failure() : checkAtomicSchedule(*this, *kernel);
}

LogicalResult AccumAddOp::verify() {
  FailureOr<KernelOp> kernel =
      checkGradOp(*this, {KernelFamily::attention_grad_kv});
  if (failed(kernel) || failed(checkAtomicSchedule(*this, *kernel)))
    return failure();
  // It adds the tile the dQ product just made (the emitter computes and
  // adds dQ in column slices, one loop over both ops).
  auto product = dyn_cast_or_null<TileMmaOp>((*this)->getPrevNode());
  if (!product || product.getProduct() != TileProduct::dsk)
    return emitOpError() << "must directly follow the flash.tile_mma dsk "
                            "whose tile it adds";
  return checkOpTensor(*this, getTensor(), {TR::dq_accum});
}

LogicalResult AccumFlushOp::verify() {
  FailureOr<KernelOp> kernel =
      checkGradOp(*this, {KernelFamily::attention_grad_kv});
  if (failed(kernel) || failed(checkAtomicSchedule(*this, *kernel)))
    return failure();
  if (!usesWgmma(kernel->getSchedule().getAlgorithm()))
    return emitOpError() << "waits for bulk reductions, which only the "
                            "warpgroup schedule (flash3_grad) issues";
  return success();
}

LogicalResult GradStoreOp::verify() {
  FailureOr<KernelOp> kernel = checkGradOp(*this, kScoreGradFamilies);
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() == KernelFamily::attention_grad_kv)
    return checkOpTensor(*this, getTensor(), {TR::dk, TR::dv});
  return checkOpTensor(*this, getTensor(), {TR::dq});
}

LogicalResult RowDeltaOp::verify() {
  return checkGradOp(*this, {KernelFamily::attention_grad_prep});
}

LogicalResult AccumClearOp::verify() {
  FailureOr<KernelOp> kernel =
      checkGradOp(*this, {KernelFamily::attention_grad_prep});
  return failed(kernel) ? failure() : checkAtomicSchedule(*this, *kernel);
}

LogicalResult AccumConvertOp::verify() {
  return checkGradOp(*this, {KernelFamily::attention_grad_convert});
}

//===----------------------------------------------------------------------===//
// Recurrence tile ops
//===----------------------------------------------------------------------===//

LogicalResult ChunkLoadOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/true);
  TensorRole tensor = getTensor();
  if (failed(kernel) ||
      failed(checkOpTensor(*this, tensor,
                           {TR::q, TR::k, TR::v, TR::g, TR::dout, TR::delta_w,
                            TR::delta_u, TR::delta_norm, TR::grad_do,
                            TR::grad_dqn, TR::scores, TR::score_gates,
                            TR::score_key_sums})) ||
      failed(checkFamilyRole(*this, *kernel, "tensor", tensor,
                             familyRule(kernel->getFamily()).tensors)))
    return failure();
  std::optional<GateKind> gate = kernel->getProblemGate();
  if (tensor == TensorRole::g && gate && *gate != GateKind::vector)
    return emitOpError() << "loads g, the per-key-dim log-decays of a vector "
                            "gate, in a kernel of gate "
                         << stringifyGateKind(*gate);
  int64_t chunk = kernel->getSchedule().getChunk();
  if (getRows() != chunk)
    return emitOpError() << "loads " << getRows() << " rows of "
                         << stringifyTensorRole(tensor)
                         << "; the kernel's schedule has chunk = " << chunk;
  if (getCols() <= 0)
    return emitOpError() << "loads " << getCols() << " columns";
  if (tensor == TensorRole::scores && getCols() != chunk)
    return emitOpError() << "loads " << getCols()
                         << " columns of scores; a chunk's P has chunk = " << chunk;
  return success();
}

LogicalResult StateInitOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  StateSource source = getSource();
  if (failed(kernel) ||
      failed(checkFamilyRole(*this, *kernel, "source", source,
                             familyRule(kernel->getFamily()).sources)))
    return failure();
  if (source == StateSource::initial &&
      problemFlagOff(*kernel, "initial_state"))
    return emitOpError() << "reads the initial state, but its kernel's "
                            "problem has initial_state = false";
  // Scratch holds a state per chunk boundary; the others one state.
  // mlstm_exp's final-state gradient names the final boundary NC, whose
  // state its stabiliser's gradient reads.
  bool scratch = source == StateSource::scratch;
  bool finalBoundary = source == StateSource::final_grad && getGate() == GateKind::mlstm_exp;
  if (scratch && !getChunk())
    return emitOpError() << "reads scratch without a chunk boundary";
  if (finalBoundary && !getChunk())
    return emitOpError() << "reads mlstm_exp's final-state gradient without the final "
                            "chunk boundary";
  if (!scratch && !finalBoundary && getChunk())
    return emitOpError() << "has a chunk boundary, which source "
                         << stringifyStateSource(source) << " does not take";
  return success();
}

LogicalResult StateStoreOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  StateTarget target = getTarget();
  if (failed(kernel) ||
      failed(checkFamilyRole(*this, *kernel, "target", target,
                             familyRule(kernel->getFamily()).targets)))
    return failure();
  if (target == StateTarget::final && problemFlagOff(*kernel, "final_state"))
    return emitOpError() << "writes the final state, but its kernel's "
                            "problem has final_state = false";
  // Every store names its boundary: scratch is indexed by it, and the
  // emitter finds the stabiliser m of boundary c in chunk c - 1's gate
  // buffer (for the final state, c = NC).
  if (!getChunk())
    return emitOpError() << "writes " << stringifyStateTarget(target)
                         << " without a chunk boundary";
  return success();
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

/// A store of chunk_scored's pre-pass (`what` it writes): inside a
/// linear_scores kernel of the same gate kind.
static LogicalResult checkScoresPassStore(Operation *op, GateKind gate, StringRef what) {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(op, gate);
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::linear_scores)
    return op->emitOpError() << "writes " << what
                             << ", which only a linear_scores kernel does, not "
                             << stringifyKernelFamily(kernel->getFamily());
  return success();
}

LogicalResult ChunkScoresStoreOp::verify() {
  return checkScoresPassStore(*this, getGate(), "scores");
}

LogicalResult ChunkGatesStoreOp::verify() {
  if (failed(checkScoresPassStore(*this, getGate(), "a chunk's gates")))
    return failure();
  GateKind gate = getGate();
  if (gate != GateKind::decay && gate != GateKind::mlstm_sig)
    return emitOpError() << "gate " << stringifyGateKind(gate)
                         << " has no chunk-local scalar gates to store (decay, mlstm_sig)";
  return success();
}

LogicalResult ChunkStagedAccumulateOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::linear_fused ||
      kernel->getSchedule().getAlgorithm() != Algorithm::chunk_scored)
    return emitOpError() << "reads staged scores, which only a chunk_scored linear_fused "
                            "kernel has";
  if (getGate() == GateKind::mlstm_exp || getGate() == GateKind::vector)
    return emitOpError() << "gate " << stringifyGateKind(getGate())
                         << " has no staged scores (none, decay and mlstm_sig do: their P "
                            "does not depend on the carried state)";
  return success();
}

/// A recurrence store's output_mod: on `o` only, (o: f32, b, h, t, d:
/// index) -> f32 (flash.yield).
/// A per-element region of a recurrence kernel op (an output_mod, a
/// feature_map): (x: f32, b, h, t, d: index) -> f32, `x` named as the op
/// names it.
static LogicalResult checkElementRegion(Operation *op, Region &region, StringRef what,
                                        StringRef x) {
  Block &block = region.front();
  MLIRContext *ctx = op->getContext();
  Type f32 = Float32Type::get(ctx), index = IndexType::get(ctx);
  SmallVector<Type> expected = {f32, index, index, index, index};
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (TypeRange(block.getArgumentTypes()) != TypeRange(expected) || !yield ||
      yield.getValue().getType() != f32)
    return op->emitOpError() << what << " must take (" << x
                             << ": f32, b, h, t, d: index) and yield f32 (flash.yield)";
  return success();
}

static LogicalResult checkStoreOutputMod(Operation *op, Region &region) {
  if (region.empty())
    return success();
  return checkElementRegion(op, region, "output_mod", "o");
}

/// A kernel whose problem is a flash.linear_attention with a feature_map
/// maps q and k (the forward's kernels; flash-derive-backward refuses one).
static LogicalResult checkFeatureMapFamily(Operation *op, KernelOp kernel) {
  switch (kernel.getFamily()) {
  case KernelFamily::linear_fused:
  case KernelFamily::linear_states:
  case KernelFamily::linear_outputs:
  case KernelFamily::recurrent_step:
    return success();
  default:
    return op->emitOpError() << "maps q and k with a feature_map in a "
                             << stringifyKernelFamily(kernel.getFamily())
                             << " kernel; only linear_fused, linear_states, "
                                "linear_outputs and recurrent_step kernels take one";
  }
}

LogicalResult ChunkExtraLoadOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/true);
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::linear_fused &&
      kernel->getFamily() != KernelFamily::linear_outputs)
    return emitOpError() << "stages an output_mod's extra in a "
                         << stringifyKernelFamily(kernel->getFamily())
                         << " kernel; only linear_fused and linear_outputs store o";
  RankedTensorType type = getExtra().getType();
  int64_t rank = type.getRank(), rowDim = getRowDim(), colDim = getColDim();
  if (!type.getElementType().isF32())
    return emitOpError() << "stages " << type << "; only f32 extras are staged";
  if (rowDim < 0 || rowDim >= rank || colDim < 0 || colDim >= rank || rowDim == colDim)
    return emitOpError() << "row dim " << rowDim << " and col dim " << colDim
                         << " must be two different dimensions of " << type;
  if (int64_t(getIndices().size()) != rank - 2)
    return emitOpError() << "takes " << getIndices().size() << " indices; " << type
                         << " needs " << rank - 2 << " besides its row and col dims";
  if (getSlot() < 0 || getRows() <= 0 || getCols() <= 0)
    return emitOpError() << "slot, rows and cols must be a slot number and positive sizes";
  return success();
}

LogicalResult ChunkExtraReadOp::verify() {
  if (!(*this)->getParentOfType<ChunkStoreOp>())
    return emitOpError() << "must be inside a flash.chunk_store's output_mod";
  if (getSlot() < 0)
    return emitOpError() << "slot " << getSlot() << " is not a slot number";
  return success();
}

LogicalResult ChunkFeatureMapOp::verify() {
  FailureOr<KernelOp> kernel = enclosingKernel(*this, /*recurrence=*/true);
  if (failed(kernel) || failed(checkOpTensor(*this, getTensor(), {TR::q, TR::k})) ||
      failed(checkFeatureMapFamily(*this, *kernel)) ||
      failed(checkFamilyRole(*this, *kernel, "tensor", getTensor(),
                             familyRule(kernel->getFamily()).tensors)))
    return failure();
  return checkElementRegion(*this, getBody(), "the feature map", "x");
}

LogicalResult ChunkStoreOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  if (failed(kernel) || failed(checkOpTensor(*this, getTensor(), {TR::o})) ||
      failed(checkStoreOutputMod(*this, getOutputMod())))
    return failure();
  return checkFamilyRole(*this, *kernel, "tensor", getTensor(),
                         familyRule(kernel->getFamily()).tensors);
}

LogicalResult NormalizerGradRowsOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::linear_grad_rows)
    return emitOpError() << "belongs to linear_grad_rows kernels, not "
                         << stringifyKernelFamily(kernel->getFamily());
  if (getGate() != GateKind::mlstm_sig && getGate() != GateKind::mlstm_exp)
    return emitOpError() << "has gate " << stringifyGateKind(getGate())
                         << ": only the normaliser kinds (mlstm_sig, mlstm_exp) have row "
                            "normalisers";
  return success();
}

LogicalResult StateUpdateOp::verify() {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(*this, getGate());
  if (failed(kernel))
    return failure();
  bool gradKernel = kernel->getFamily() == KernelFamily::linear_grad_states;
  if (getGradient() != gradKernel)
    return emitOpError() << (gradKernel ? "in a linear_grad_states kernel must be "
                                          "the `gradient` update"
                                        : "`gradient` belongs to linear_grad_states "
                                          "kernels, not ")
                         << (gradKernel ? "" : stringifyKernelFamily(kernel->getFamily()));
  return success();
}

/// An op of the gradient's chunk kernel: inside a linear_grad_chunk kernel
/// of the same gate kind.
static LogicalResult checkGradChunkOp(Operation *op, GateKind gate) {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(op, gate);
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::linear_grad_chunk)
    return op->emitOpError() << "must be inside a flash.kernel of family "
                                "linear_grad_chunk, not "
                             << stringifyKernelFamily(kernel->getFamily());
  return success();
}

LogicalResult ChunkGradOp::verify() {
  if (failed(checkGradChunkOp(*this, getGate())))
    return failure();
  // The boundary states it reads come from a flash.chunk_grad_stage of the
  // same chunk earlier in its block (issued with the rows' copies), or, in
  // persistent rounds, from the body's stagings of the first round's chunk
  // and of the next round's.
  bool staged = false;
  for (Operation *prev = (*this)->getPrevNode(); prev && !staged; prev = prev->getPrevNode())
    if (auto stage = dyn_cast<ChunkGradStageOp>(prev))
      staged = stage.getChunk() == getChunk() && stage.getGate() == getGate();
  if (auto rounds = dyn_cast<ChunkRoundsOp>((*this)->getParentOp());
      !staged && rounds && getChunk() == rounds.getBody().front().getArgument(0)) {
    Value next = rounds.getBody().front().getArgument(4);
    bool first = false, following = false;
    rounds.getBody().walk([&](ChunkGradStageOp stage) {
      if (stage.getGate() != getGate())
        return;
      first |= stage.getChunk() == getChunk();
      following |= stage.getChunk() == next;
    });
    staged = first && following;
  }
  if (!staged)
    return emitOpError() << "needs a flash.chunk_grad_stage of the same chunk and gate earlier "
                            "in its block (in flash.chunk_rounds: of its round's chunk and of "
                            "the next round's): it stages the boundary states chunk_grad reads";
  Builder b(getContext());
  Type f32 = b.getF32Type(), index = b.getIndexType();
  return checkScalarRegion<DecayYieldOp>(
      *this, getBody(), {f32, f32, f32, f32, f32, f32, index, index});
}

LogicalResult ChunkGradStageOp::verify() { return checkGradChunkOp(*this, getGate()); }

LogicalResult ChunkRoundsOp::verify() {
  auto kernel = cast<KernelOp>((*this)->getParentOp());
  if (kernel.getFamily() != KernelFamily::linear_grad_chunk)
    return emitOpError() << "runs the rounds of a linear_grad_chunk kernel, not of a "
                         << stringifyKernelFamily(kernel.getFamily()) << " one";
  if (kernel.getSchedule().getPersistent() != 1)
    return emitOpError() << "needs a persistent schedule (persistent = 1); this kernel's has "
                            "persistent = "
                         << kernel.getSchedule().getPersistent();
  if (getRoles().size() != 3 || getExtents().size() != 3)
    return emitOpError() << "has " << getRoles().size() << " roles and " << getExtents().size()
                         << " extents: chunk, head and batch, one extent each";
  Builder b(getContext());
  Type index = b.getIndexType();
  SmallVector<Type> wanted(7, index);
  wanted.push_back(b.getI1Type());
  if (!llvm::equal(getBody().front().getArgumentTypes(), wanted))
    return emitOpError() << "body takes this round's chunk, head and batch, the round, the "
                            "next round's chunk, head and batch (index each) and whether "
                            "there is a next round (i1)";
  for (Operation &inner : (*this)->getParentRegion()->front())
    if (isa<GridMapOp>(inner))
      return emitOpError() << "replaces flash.grid_map: a kernel has one or the other";
  return success();
}

/// An op only the delta rule's kernels of the given families run.
static FailureOr<KernelOp> checkDeltaOp(Operation *op,
                                        EnumSet<KernelFamily> families) {
  FailureOr<KernelOp> kernel = enclosingKernel(op, /*recurrence=*/true);
  if (failed(kernel))
    return failure();
  if (!families.contains(kernel->getFamily()))
    return op->emitOpError() << "must be inside a flash.kernel of family "
                             << oneOf(families.names()) << ", not "
                             << stringifyKernelFamily(kernel->getFamily());
  return kernel;
}

/// A token-step op: inside a recurrent_step kernel of the same gate kind.
static FailureOr<KernelOp> checkStepOp(Operation *op, GateKind gate) {
  FailureOr<KernelOp> kernel = checkRecurrenceOp(op, gate);
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::recurrent_step)
    return op->emitOpError() << "must be inside a flash.kernel of family "
                                "recurrent_step, not "
                             << stringifyKernelFamily(kernel->getFamily());
  return kernel;
}

LogicalResult StepLoadOp::verify() {
  FailureOr<KernelOp> kernel = checkStepOp(*this, getGate());
  if (failed(kernel))
    return failure();
  if (getFeatureMap().empty())
    return success();
  if (kernel->getProblem().getAs<BoolAttr>("l2norm_qk"))
    return emitOpError() << "has a feature_map in a delta-rule kernel; only "
                            "flash.linear_attention maps q and k";
  return checkElementRegion(*this, getFeatureMap(), "feature_map", "x");
}

LogicalResult StepGatesOp::verify() {
  if (failed(checkStepOp(*this, getGate())))
    return failure();
  // As flash.chunk_gates: one raw value per gate operand, `vector` per key
  // dim (the delta rule's one log-decay is gate decay's).
  unsigned raw = LinearAttentionOp::getGateOperandCount(getGate());
  SmallVector<Type> arguments(raw, Float32Type::get(getContext()));
  return checkScalarRegion<GateYieldOp>(*this, getBody(), arguments);
}

LogicalResult StepUpdateOp::verify() {
  return checkStepOp(*this, getGate());
}

LogicalResult StepStoreOp::verify() {
  FailureOr<KernelOp> kernel = checkStepOp(*this, getGate());
  if (failed(kernel) || failed(checkOpTensor(*this, getTensor(), {TR::o})))
    return failure();
  return checkStoreOutputMod(*this, getOutputMod());
}

LogicalResult ChunkL2NormOp::verify() {
  return checkDeltaOp(*this, {KernelFamily::delta_prepare});
}

LogicalResult ChunkDeltaOp::verify() {
  return checkDeltaOp(*this, {KernelFamily::delta_fused});
}

LogicalResult ChunkWYOp::verify() {
  if (failed(checkDeltaOp(*this, {KernelFamily::delta_prepare})) ||
      failed(checkRecurrenceOp(*this, getGate())))
    return failure();
  if (getGate() != GateKind::none && getGate() != GateKind::decay)
    return emitOpError() << "has gate " << stringifyGateKind(getGate())
                         << "; the delta rule's chunks take gate none or decay";
  return success();
}
