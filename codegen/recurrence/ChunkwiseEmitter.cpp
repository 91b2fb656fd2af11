//===- ChunkwiseEmitter.cpp - CUDA for the recurrence kernel families -----===//
//
// Prints `flash.kernel` ops of families `linear_fused`, `linear_states`,
// `linear_outputs`, `linear_scores` (chunk_scored's pre-pass: each chunk's
// gated P into scratch, which that schedule's linear_fused stages),
// `delta_prepare`, `delta_fused` and the gradient's
// `linear_grad_states` and `linear_grad_chunk` (built by
// flash-lower-kernels; the delta rule's prepare kernel writes every chunk's
// WY factors, its fused kernel is linear_fused's over the values corrected
// from them, both through chunk_delta.cuh): the constants and shared-memory
// plan from the schedule and problem (schedule/ChunkLayout.h, the same plan
// the checker holds schedules to), the carried state and accumulators, and each tile op as
// calls into the device tile library (codegen/device/recurrence/chunk_*.cuh on top of
// the attention pieces). The flash.chunk_gates and flash.decay_map regions
// become lambdas that the library calls per step and per score element;
// loops, branches and index arithmetic come from ScalarPrinter.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelFamilies.h"
#include "codegen/ScalarPrinter.h"
#include "codegen/recurrence/RecurrenceParams.h"
#include "schedule/ChunkLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Device headers every recurrence kernel includes, besides the umbrella.
constexpr const char *kChunkHeaders[] = {
    "flashgen/device/recurrence/chunk_io.cuh", "flashgen/device/recurrence/chunk_gates.cuh",
    "flashgen/device/recurrence/chunk_mma.cuh", "flashgen/device/recurrence/chunk_intra.cuh"};
/// The delta rule's chunk pieces, for its two kernels only.
constexpr const char *kDeltaHeader = "flashgen/device/recurrence/chunk_delta.cuh";
/// The gradient's chunk pieces, for linear_grad_chunk only.
constexpr const char *kGradHeader = "flashgen/device/recurrence/chunk_grad.cuh";

class LinearKernelPrinter : public ScalarPrinter {
public:
  using ScalarPrinter::ScalarPrinter;
  FailureOr<EmittedKernel> print();

private:
  GateKind gate = GateKind::none;
  KernelFamily family = KernelFamily::linear_fused;
  bool queries = true;    // the kernel computes outputs
  bool scalarGates = false, vectorGate = false, normalizer = false,
       stabilizer = false;
  bool delta = false;        // delta_fused: W and U stages, flash.chunk_delta
  bool deltaPrepare = false; // delta_prepare: beta, flash.chunk_wy
  /// linear_scores: q, k and gates in, each inner pair's gated P out; no
  /// values, no state.
  bool scoresPrepass = false;
  /// linear_fused of a chunk_scored schedule: P staged beside q, k, v;
  /// with scalar gates also the pre-pass's scanned gate buffers, and with
  /// a normaliser its key sums.
  bool stagedScores = false, stagedGates = false, stagedKeySums = false;
  /// The kernel fetches and scans raw scalar gates (flash.gate_fetch);
  /// chunk_scored's fused loop stages the pre-pass's scanned buffers.
  bool fetchesGates = false;
  bool l2normQk = false;     // the delta rule's q and k are l2-normalised
  /// linear_grad_states: the state pass backwards on q and dO (in the k and
  /// v stages), carrying the state's gradient.
  bool gradStates = false;
  /// linear_grad_chunk: one chunk's gradients (its own plan and printing).
  bool gradChunk = false;
  /// linear_grad_rows: dO / den and the rows' normaliser gradients from
  /// the forward's o and norm (the normaliser kinds).
  bool gradRows = false;
  /// The gradient kernels of a normaliser kind: the f32 a row of
  /// grad_rows' output they read (dN; mlstm_exp dN and dm); 0 otherwise.
  int64_t dqnCols = 0;
  /// The chunk states (and their gradients) go through scratch in the
  /// element type, not f32: a chunk_grad schedule's kernels, whose chunk
  /// kernel reads them as 16-bit MMA operands anyway.
  bool elemScratch = false;
  unsigned rawGates = 0;  // gate operands of a scalar kind
  ChunkShape shape;
  ChunkSmemPlan plan;
  GradChunkShape gradShape;
  GradChunkSmemPlan gradPlan;
  /// The chunk kernel passes over value slices (gradValueSlices > 1).
  bool gradValueSliced = false;

  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printChunkLoad(ChunkLoadOp op);
  LogicalResult printChunkGates(ChunkGatesOp op);
  LogicalResult printStateInit(StateInitOp op);
  LogicalResult printStateStore(StateStoreOp op);
  LogicalResult printInter(ChunkInterOp op);
  LogicalResult printScores(ChunkScoresOp op);
  LogicalResult printDecayMap(DecayMapOp op);
  LogicalResult printAccumulate(ChunkAccumulateOp op);
  LogicalResult printScoresStore(ChunkScoresStoreOp op);
  LogicalResult printGatesStore(ChunkGatesStoreOp op);
  LogicalResult printStagedAccumulate(ChunkStagedAccumulateOp op);
  LogicalResult printStore(ChunkStoreOp op);
  LogicalResult printStateUpdate(StateUpdateOp op);
  LogicalResult printL2Norm(ChunkL2NormOp op);
  LogicalResult printFeatureMap(ChunkFeatureMapOp op);
  LogicalResult printExtraLoad(ChunkExtraLoadOp op);
  LogicalResult printExtraRead(ChunkExtraReadOp op);
  /// While a flash.chunk_store's output_mod prints: its chunk's first row,
  /// its value tile's first column and its stage, where the staged reads
  /// (flash.chunk_extra_read) find their tiles; empty otherwise.
  std::string storeRow0, storeCol0, storeStage;
  LogicalResult printDelta(ChunkDeltaOp op);
  LogicalResult printWY(ChunkWYOp op);
  LogicalResult printChunkGrad(ChunkGradOp op);
  LogicalResult printChunkGradStage(ChunkGradStageOp op);
  LogicalResult printChunkRounds(ChunkRoundsOp op);
  /// The pointer to a gradient scratch tensor's (batch, head) row at
  /// boundary `index`.
  std::string gradBoundary(Value batch, Value head, StringRef scratch, StringRef index);
  /// Starts the copies of S (chunk_c at sIndex) and G (chunk_dc at gIndex),
  /// value slice `slice`'s columns ("": the whole).
  void printGradStatesLoad(Value batch, Value head, StringRef sIndex, StringRef gIndex,
                           StringRef slice);
  LogicalResult printNormalizerGradRows(NormalizerGradRowsOp op);
  /// linear_grad_rows: rows of o, dO and norm in, dO / den and the rows'
  /// normaliser gradients out (no tiles, no state).
  FailureOr<EmittedKernel> printGradRowsKernel();
  std::string gradRowsSignature();
  /// Writes a gradient tile of a warp from registers: (tensor, accumulator,
  /// columns per warp, the value slice's first column or "").
  using StoreGrad = llvm::function_ref<void(StringRef, StringRef, StringRef, StringRef)>;
  /// printChunkGrad's dq, dk, dv and log-decay gradients for vector gates
  /// (A and dP are in shared memory).
  LogicalResult printVectorGradTail(ChunkGradOp op, StoreGrad store);
  /// printChunkGrad's dv of the staged value columns (from `col0`).
  void printValueGrad(StoreGrad store, StringRef col0);
  /// Vector gates: the factor exp(b_i0 - b_j0) of key dim d between 16-row
  /// blocks i and j (the tables' lookup).
  std::string vectorBlockDecay(StringRef i, StringRef j, StringRef d);
  /// printChunkGrad over value slices: the passes that stage v, dO and the
  /// two states a slice at a time, summing dP (into s_tile) and dq's and
  /// dk's state products (dq_acc, dk_acc), writing each slice's dv;
  /// `loadStates` (S's boundary, G's, the slice) stages the states.
  void printValueSlicePasses(ChunkGradOp op, StoreGrad store,
                             llvm::function_ref<void(StringRef, StringRef, StringRef)> loadStates);
  /// One pass of a decay region (flash.decay_map's or flash.chunk_grad's)
  /// over `tile` (rows from `row0`, columns from `col0`, gate values from
  /// `buffer`); `finish` prints what to do with the element given the
  /// yielded (log weight, visible).
  LogicalResult printDecayPass(Block &block, StringRef tile, StringRef rowVec,
                               StringRef row0, StringRef col0,
                               llvm::function_ref<void(StringRef, StringRef)> finish);

  std::string base(StringRef tensor, Value batch, Value head);
  /// The scratch tensors indexed by chunk boundary (states and their
  /// gradients).
  static bool isBoundaryScratch(StringRef tensor);
  /// The scratch tensors of whole chunks of rows (the rows' normaliser
  /// gradients, the delta rule's W, U and row norms).
  static bool isChunkRowsScratch(StringRef tensor);
  void printSequenceScratch(Value batch) override;
  std::string gateTensor(unsigned i);
  std::string ring(Value buffer) {
    return "fg::chunk::gate_ring<kChunk>(s_gates, " + name(buffer) + ")";
  }
  std::string stage(StringRef ringName, Value stage) {
    return ringName.str() + ".stage(" + name(stage) + ")";
  }
  /// The delta rule's [L][2] row norms staged in `stage`.
  std::string rowNorms(Value stage) {
    return "(s_row_norms + (" + name(stage) + ") * 2 * kChunk)";
  }
  std::string header();
  std::string signature();
  std::string preamble();
  std::string gradChunkHeader();
  std::string gradChunkSignature();
  /// The rows the state-gradient pass and the chunk kernel read as dO: dO
  /// ("do" in the manifest), or for the normaliser kinds dO / den and the
  /// rows' normaliser gradients (linear_grad_rows' scratch).
  void printGradientRowsParameters(ParameterList &sep, StringRef elem);
  /// A tensor parameter, or, where the kernel's sequences are packed and
  /// it is one of their row tensors, the packed rows (printRowsParameter;
  /// flash.sequence re-declares it at the sequence's first row).
  void printTensorOrRows(ParameterList &sep, StringRef tensorName, StringRef type,
                         bool output, int rank);
  FailureOr<EmittedKernel> printGradChunkKernel(Type elementType);
};

std::string LinearKernelPrinter::base(StringRef tensor, Value batch, Value head) {
  // Packed sequences keep their chunk boundaries in one scratch [1, H, NB,
  // ...]: sequence b's start at seq_boundary0 (printSequenceScratch).
  if (packedQueries && isBoundaryScratch(tensor))
    return llvm::formatv("({0} + (long long)({1}) * {0}_s1 + seq_boundary0 * {0}_s2)", tensor,
                         name(head))
        .str();
  // The rows' normaliser gradients and the delta rule's WY factors
  // and row norms: whole chunks of rows, a sequence's from its first
  // boundary's (at least as many).
  if (packedQueries && isChunkRowsScratch(tensor))
    return llvm::formatv("({0} + (long long)({1}) * {0}_s1 + seq_boundary0 * kChunk * {0}_s2)",
                         tensor, name(head))
        .str();
  return batchHeadBase(tensor, name(batch), name(head));
}

bool LinearKernelPrinter::isChunkRowsScratch(StringRef tensor) {
  return tensor == "grad_dqn" || tensor == "delta_w" || tensor == "delta_u" ||
         tensor == "delta_norm";
}

bool LinearKernelPrinter::isBoundaryScratch(StringRef tensor) {
  return tensor == "chunk_c" || tensor == "chunk_dc" || tensor == "chunk_n" ||
         tensor == "chunk_dn" || tensor == "chunk_m" || tensor == "chunk_dm";
}

void LinearKernelPrinter::printSequenceScratch(Value batch) {
  // (The gradient's kernels and the delta rule's; the other packed
  // forwards have no scratch.)
  if (!elemScratch && !delta && !deltaPrepare)
    return;
  // A sequence of n rows has max(cdiv(n, L), 1) + 1 boundaries; starting
  // sequence b's at floor(cu[b] / L) + 2 b leaves them disjoint (the next
  // one starts at least floor(cu[b] / L) + floor(n / L) + 2 b + 2 >= this
  // one's last + 1), all below cdiv(T_total, L) + 2 B (BundleWriter sizes
  // the scratch so).
  line() << "const long long seq_boundary0 = (long long)(" << queryRow0
         << " / kChunk) + 2LL * (long long)(" << name(batch)
         << ");  // this sequence's first chunk boundary in the packed scratch\n";
}

std::string LinearKernelPrinter::gateTensor(unsigned i) {
  return rawGateTensorName(gate, i);
}

LogicalResult LinearKernelPrinter::printChunkLoad(ChunkLoadOp op) {
  TensorRole role = op.getTensor();
  StringRef tensor = stringifyTensorRole(role);
  int64_t chunkRows = gradChunk ? gradShape.chunk : shape.chunk;
  if (op.getRows() != chunkRows)
    return op.emitError() << "chunk_load of " << op.getRows()
                          << " rows in a kernel of chunk " << chunkRows;
  std::string row0 = "(long long)(" + name(op.getChunk()) + ") * kChunk";
  std::string col0 = "(long long)(" + name(op.getColTile()) + ") * " +
                     std::to_string(op.getCols());
  std::string src = base(tensor, op.getBatch(), op.getHead()) + " + " + row0 +
                    " * " + tensor.str() + "_s2 + " + col0;
  std::string valid = name(op.getExtent()) + " - (" + name(op.getChunk()) +
                      ") * kChunk";
  if (role == TensorRole::g) {
    // The gradient's chunk kernel pads the g tile's rows (kGStride).
    line() << "fg::cta::load_async_f32<kThreads, kChunk, kKeyDim"
           << (gradChunk ? ", kGStride" : "") << ">(smem + kSmemG, "
           << src << ", g_s2, " << valid << ");\n";
    return success();
  }
  if (role == TensorRole::grad_dqn) {
    // Whole chunks of rows (linear_grad_rows writes 0 past the sequence),
    // kDqnCols floats a row, contiguous.
    std::string at = "kSmemDqn + fg::u32((" + name(op.getStage()) + ") * kChunk * kDqnCols * 4)";
    line() << "fg::cta::load_async_bytes<kThreads, kChunk * kDqnCols * 4>(smem + " << at
           << ", " << base(tensor, op.getBatch(), op.getHead()) << " + " << row0
           << " * grad_dqn_s2);\n";
    return success();
  }
  if (role == TensorRole::score_gates) {
    // The pre-pass's scanned gate buffer of the chunk, whole, into gate
    // buffer `stage` of the ring.
    line() << "fg::cta::load_async_bytes<kThreads, fg::chunk::gate_buffer<kChunk>::kFloats * "
              "4>(fg::ptx::smem_addr("
           << ring(op.getStage()) << ".p), " << base(tensor, op.getBatch(), op.getHead())
           << " + (long long)(" << name(op.getChunk()) << ") * score_gates_s2);\n";
    return success();
  }
  if (role == TensorRole::score_key_sums) {
    line() << "fg::cta::load_async_bytes<kThreads, kKeyDim * 4>(smem + kSmemKeySums + fg::u32(("
           << name(op.getStage()) << ") * kKeyDim * 4), "
           << base(tensor, op.getBatch(), op.getHead()) << " + (long long)("
           << name(op.getChunk()) << ") * score_key_sums_s2);\n";
    return success();
  }
  if (role == TensorRole::scores) {
    // The pre-pass's P of the chunk: whole chunks of rows, L columns.
    line() << "fg::cta::load_async<kThreads>(" << stage("sP", op.getStage()) << ", "
           << base(tensor, op.getBatch(), op.getHead()) << " + " << row0
           << " * scores_s2, scores_s2, kChunk);\n";
    return success();
  }
  if (role == TensorRole::delta_norm) {
    // Whole chunks of rows (delta_prepare writes 0 past the sequence).
    line() << "fg::cta::load_async_bytes<kThreads, kChunk * 8>(smem + kSmemRowNorms + fg::u32(("
           << name(op.getStage()) << ") * kChunk * 8), " << src << ");\n";
    return success();
  }
  // The verifier allows q, k, v, g and the delta rule's W, U and norms
  // only; U takes v's stages (chunk_delta corrects it there).
  // linear_grad_states updates its state from q and dO as the forward's
  // from k and v: they take the k and v stages.
  // The normaliser kinds' gradient kernels read dO / den (grad_do) in
  // dO's place.
  bool doutRows = role == TensorRole::dout || role == TensorRole::grad_do;
  StringRef ringName = role == TensorRole::q         ? (gradStates ? "sK" : "sQ")
                       : role == TensorRole::k       ? "sK"
                       : role == TensorRole::delta_w ? "sW"
                       : doutRows                    ? (gradStates ? "sV" : "sDO")
                                                     : "sV";
  // linear_grad_chunk's one-stage rings are named <tile>_ring.
  std::string ringVar = gradChunk ? (ringName + "_ring").str() : ringName.str();
  line() << "fg::cta::load_async<kThreads>(" << stage(ringVar, op.getStage())
         << ", " << src << ", " << tensor << "_s2, " << valid << ");\n";
  return success();
}

LogicalResult LinearKernelPrinter::printChunkGates(ChunkGatesOp op) {
  Block &block = op.getBody().front();
  auto yield = cast<GateYieldOp>(block.getTerminator());
  std::string valid = name(op.getExtent()) + " - (" + name(op.getChunk()) +
                      ") * kChunk";
  if (vectorGate) {
    // Kernels with outputs gate q and k per 16-row tile; the state pass k
    // alone to the chunk's end; the gradient's state pass q (in k's stage)
    // from the chunk's start; its chunk kernel both per tile, keeping the
    // exponents for dq and dk.
    std::string q = gradChunk ? "sQ_ring" : queries ? "sQ" : "sK";
    std::string k = gradChunk ? "sK_ring" : "sK";
    const char *mode = queries || gradChunk ? "tile_relative"
                       : gradStates       ? "q_from_chunk_start"
                                          : "k_to_chunk_end";
    line() << "fg::cta::scan_vector_gates<kThreads, kChunk, kKeyDim, fg::cta::vector_gating::"
           << mode << (gradChunk ? ", true, kGStride" : "") << ">(s_g, s_tab_hi, s_tab_lo, "
           << stage(q, op.getStage()) << ", " << stage(k, op.getStage()) << ", " << valid
           << ", [&](float a0) -> float {\n";
    ++indent;
    names[block.getArgument(0)] = "a0";
    if (failed(printRegionOps(block)))
      return failure();
    line() << "return " << name(yield.getLogForget()) << ";\n";
    --indent;
    line() << "});\n";
    return success();
  }
  if (!scalarGates)
    return op.emitError() << "flash.chunk_gates in a kernel of gate '"
                          << stringifyGateKind(gate) << "', which has no gates";
  line() << "if (warp == 0) {\n";
  ++indent;
  // mlstm_exp's gradient kernels run the chunks out of order: each starts
  // from the state pass's stabiliser before it, and keeps its rows'.
  const bool stabilizedRows = stabilizer && (gradStates || gradChunk);
  if (stabilizedRows)
    line() << "fg::warp::scan_scalar_gates_from<kChunk, kGateRows, kRawGates, true>("
           << ring(op.getBuffer()) << ", "
           << base("chunk_m", op.getBatch(), op.getHead()) << "[(long long)("
           << name(op.getChunk()) << ") * chunk_m_s2], gate_raw, " << valid << ",\n";
  else
    line() << "fg::warp::scan_scalar_gates<kChunk, kGateRows, kRawGates, "
           << (stabilizer ? "true" : "false") << ">(" << ring(op.getBuffer())
           << ", fg::chunk::gate_ring<kChunk>(s_gates, (" << name(op.getBuffer())
           << ") ^ 1), gate_raw, " << valid << ",\n";
  line() << "    [&](float a0, float a1, float& lf, float& li) {\n";
  indent += 2;
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    names[arg] = "a" + std::to_string(i);
  if (failed(printRegionOps(block)))
    return failure();
  line() << "lf = " << name(yield.getLogForget()) << ";\n";
  line() << "li = " << name(yield.getLogInput()) << ";\n";
  line() << "(void)a0; (void)a1;\n";
  indent -= 2;
  if (stabilizedRows)
    line() << "    }, s_stab + (" << name(op.getBuffer()) << ") * 2 * kChunk);\n";
  else
    line() << "    });\n";
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult LinearKernelPrinter::printStateInit(StateInitOp op) {
  std::string vt = "(long long)(" + name(op.getColTile()) + ") * kTileDv";
  std::string b = name(op.getBatch()), h = name(op.getHead());
  auto zeroState = [&]() {
    line() << "fg::warp::zero(st_c);\n";
    if (normalizer)
      line() << "for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
                "s_norm[d] = 0.0f;\n";
    if (scalarGates)
      line() << "if (threadIdx.x == 0) fg::chunk::gate_ring<kChunk>(s_gates, "
                "1).m_end() = 0.0f;\n";
  };
  switch (op.getSource()) {
  case StateSource::zero:
    zeroState();
    if (gradStates && stabilizer)
      line() << "float dm_carry = 0.0f;  // dL/dm of the chunk's last row, from later chunks\n";
    break;
  case StateSource::initial:
    // Optional params: a null initial state means zeros.
    line() << "if (c0 != nullptr) {\n";
    ++indent;
    line() << "fg::warp::load_f32(st_c, " << base("c0", op.getBatch(), op.getHead())
           << " + (long long)srow0 * c0_s2 + " << vt << ", c0_s2);\n";
    if (normalizer)
      line() << "for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
                "s_norm[d] = "
             << "n0 == nullptr ? 0.0f : n0[(long long)(" << b << ") * n0_s0 + (long long)("
             << h << ") * n0_s1 + (long long)d * n0_s2];\n";
    if (stabilizer)
      line() << "if (threadIdx.x == 0) fg::chunk::gate_ring<kChunk>(s_gates, "
                "1).m_end() = m0 == nullptr ? 0.0f : m0[(long long)("
             << b << ") * m0_s0 + (long long)(" << h << ") * m0_s1];\n";
    else if (scalarGates)
      line() << "if (threadIdx.x == 0) fg::chunk::gate_ring<kChunk>(s_gates, "
                "1).m_end() = 0.0f;\n";
    --indent;
    line() << "} else {\n";
    ++indent;
    zeroState();
    --indent;
    line() << "}\n";
    break;
  case StateSource::final_grad:
    // The final state's gradient (optional: null means zeros; C's and n's
    // each, a loss may read one final state and not the other).
    line() << "if (dcf != nullptr) {\n";
    line() << "  fg::warp::load_f32(st_c, " << base("dcf", op.getBatch(), op.getHead())
           << " + (long long)srow0 * dcf_s2 + " << vt << ", dcf_s2);\n";
    line() << "} else {\n";
    ++indent;
    zeroState();
    --indent;
    line() << "}\n";
    if (normalizer)  // (each thread its own key dims, as zeroState's)
      line() << "for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) s_norm[d] = "
             << "dnf == nullptr ? 0.0f : " << base("dnf", op.getBatch(), op.getHead())
             << "[(long long)d * dnf_s2];\n";
    if (stabilizer) {
      // mlstm_exp (docs/semantics.md §4.7): the final state is stored
      // scaled by exp(-m_T), so the final stabiliser's gradient is dmf -
      // <dcf, C_T> - <dnf, n_T>: what the last chunk carries into its last
      // row. Value tile 0's CTA keeps this carry chunk to chunk (the
      // others' is never stored).
      std::string nc = name(op.getChunk());
      line() << "float dm_carry = 0.0f;  // dL/dm of the chunk's last row, from later chunks\n";
      line() << "if ((" << name(op.getColTile()) << ") == 0) {\n";
      ++indent;
      line() << "if (dcf != nullptr)\n";
      line() << "  dm_carry -= fg::cta::dot_global<kThreads>(" << base("dcf", op.getBatch(), op.getHead())
             << ", dcf_s2, " << base("chunk_c", op.getBatch(), op.getHead()) << " + (long long)("
             << nc << ") * chunk_c_s2, chunk_c_s3, kKeyDim, " << problemInt("value_dim")
             << ", s_red);  // <dcf, C_T>\n";
      line() << "if (dnf != nullptr)\n";
      line() << "  dm_carry -= fg::cta::dot_global<kThreads>(" << base("dnf", op.getBatch(), op.getHead())
             << ", dnf_s2, " << base("chunk_n", op.getBatch(), op.getHead()) << " + (long long)("
             << nc << ") * chunk_n_s2, 1LL, kKeyDim, 1, s_red);  // <dnf, n_T>\n";
      line() << "if (dmf != nullptr) dm_carry += *(" << base("dmf", op.getBatch(), op.getHead())
             << ");\n";
      --indent;
      line() << "}\n";
    }
    break;
  case StateSource::scratch: {
    std::string c = name(op.getChunk()); // the verifier requires it
    line() << "fg::warp::load_f32(st_c, " << base("chunk_c", op.getBatch(), op.getHead())
           << " + (long long)(" << c << ") * chunk_c_s2 + (long long)srow0 * chunk_c_s3 + "
           << vt << ", chunk_c_s3);\n";
    if (normalizer)
      line() << "for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
                "s_norm[d] = "
             << base("chunk_n", op.getBatch(), op.getHead()) << "[(long long)(" << c
             << ") * chunk_n_s2 + d];\n";
    if (stabilizer)
      line() << "if (threadIdx.x == 0) fg::chunk::gate_ring<kChunk>(s_gates, "
                "1).m_end() = "
             << base("chunk_m", op.getBatch(), op.getHead()) << "[(long long)(" << c
             << ") * chunk_m_s2];\n";
    else if (scalarGates)
      line() << "if (threadIdx.x == 0) fg::chunk::gate_ring<kChunk>(s_gates, "
                "1).m_end() = 0.0f;\n";
    break;
  }
  }
  if (queries)
    line() << "fg::warp::store(sC, srow0, 0, st_c);  // 16-bit copy for the "
              "inter-chunk product\n";
  return success();
}

LogicalResult LinearKernelPrinter::printStateStore(StateStoreOp op) {
  std::string vt = "(long long)(" + name(op.getColTile()) + ") * kTileDv";
  std::string first = "(" + name(op.getColTile()) + ") == 0";
  std::string c = name(op.getChunk()); // the verifier requires it
  // m at boundary c is the m_end of chunk c - 1: the other gate buffer.
  std::string m = "fg::chunk::gate_ring<kChunk>(s_gates, ((" + c + ") & 1) ^ 1).m_end()";
  if (op.getTarget() == StateTarget::initial_grad) {
    line() << "if (dc0 != nullptr) fg::warp::store_f32("
           << base("dc0", op.getBatch(), op.getHead())
           << " + (long long)srow0 * dc0_s2 + " << vt << ", dc0_s2, st_c);\n";
    if (normalizer)
      line() << "if (dn0 != nullptr && " << first
             << ") for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
             << base("dn0", op.getBatch(), op.getHead()) << "[(long long)d * dn0_s2] = s_norm[d];\n";
    return success();
  }
  if (gradStates) {
    // The state gradients' scratch: C's 16-bit, n's part f32 (the first
    // value tile's CTA; every one carries it).
    line() << "fg::warp::store_16bit(" << base("chunk_dc", op.getBatch(), op.getHead())
           << " + (long long)(" << c << ") * chunk_dc_s2 + (long long)srow0 * chunk_dc_s3 + "
           << vt << ", chunk_dc_s3, kStateRows, st_c);\n";
    if (normalizer)
      line() << "if (" << first
             << ") for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
             << base("chunk_dn", op.getBatch(), op.getHead()) << "[(long long)(" << c
             << ") * chunk_dn_s2 + d] = s_norm[d];\n";
    if (stabilizer)
      // What the chunks after boundary c carry into its stabiliser (the
      // last row of chunk c - 1; at boundary 0, into m0).
      line() << "if (" << first << " && threadIdx.x == 0) "
             << base("chunk_dm", op.getBatch(), op.getHead()) << "[(long long)(" << c
             << ") * chunk_dm_s2] = dm_carry;\n";
    return success();
  }
  if (op.getTarget() == StateTarget::final) {
    line() << "if (cf != nullptr) fg::warp::store_f32("
           << base("cf", op.getBatch(), op.getHead())
           << " + (long long)srow0 * cf_s2 + " << vt << ", cf_s2, st_c);\n";
    if (normalizer)
      line() << "if (nf != nullptr && " << first
             << ") for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
             << base("nf", op.getBatch(), op.getHead())
             << "[(long long)d * nf_s2] = s_norm[d];\n";
    if (stabilizer)
      line() << "if (mf != nullptr && " << first << " && threadIdx.x == 0) *("
             << base("mf", op.getBatch(), op.getHead()) << ") = " << m << ";\n";
    return success();
  }
  if (elemScratch)
    line() << "fg::warp::store_16bit(" << base("chunk_c", op.getBatch(), op.getHead())
           << " + (long long)(" << c << ") * chunk_c_s2 + (long long)srow0 * chunk_c_s3 + "
           << vt << ", chunk_c_s3, kStateRows, st_c);\n";
  else
    line() << "fg::warp::store_f32(" << base("chunk_c", op.getBatch(), op.getHead())
           << " + (long long)(" << c << ") * chunk_c_s2 + (long long)srow0 * chunk_c_s3 + "
           << vt << ", chunk_c_s3, st_c);\n";
  if (normalizer)
    line() << "if (" << first
           << ") for (int d = int(threadIdx.x); d < kKeyDim; d += kThreads) "
           << base("chunk_n", op.getBatch(), op.getHead()) << "[(long long)(" << c
           << ") * chunk_n_s2 + d] = s_norm[d];\n";
  if (stabilizer)
    line() << "if (" << first << " && threadIdx.x == 0) "
           << base("chunk_m", op.getBatch(), op.getHead()) << "[(long long)(" << c
           << ") * chunk_m_s2] = " << m << ";\n";
  return success();
}

LogicalResult LinearKernelPrinter::printInter(ChunkInterOp op) {
  std::string q = stage("sQ", op.getStage());
  line() << "const int qrow0 = (" << name(op.getQueryTile())
         << ") * kInnerQ + warp * kWarpRows;  // this warp's first row in the chunk\n";
  line() << "fg::acc_tile<kWarpRows, kTileDv> acc_h;  // H: output numerator\n";
  line() << "fg::row_vec<kWarpRows> acc_n, acc_mu;    // N (lane shares), mu\n";
  line() << "fg::warp::zero(acc_h);\n";
  line() << "fg::warp::fill(acc_n, 0.0f);\n";
  line() << "fg::warp::fill(acc_mu, 0.0f);\n";
  if (vectorGate) {
    // q was gated relative to its 16-row tile: the tile's own decay from
    // the chunk start goes onto q's key dims.
    line() << "fg::warp::mma_AB_chunk<kKeyDim>(acc_h, " << q
           << ", qrow0, sC, 0, 0, [&](int m, int d) {\n";
    line() << "  return fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, "
              "(qrow0 + m) / 16, -1, d);\n";
    line() << "});\n";
    line() << "fg::warp::mul(acc_h, acc_h, kScale);\n";
    return success();
  }
  line() << "fg::warp::mma_AB_chunk<kKeyDim>(acc_h, " << q << ", qrow0, sC, 0, 0);\n";
  if (gate == GateKind::none) {
    line() << "fg::warp::mul(acc_h, acc_h, kScale);\n";
    return success();
  }
  line() << "const fg::chunk::gate_buffer<kChunk> gb = " << ring(op.getBuffer())
         << ";\n";
  if (normalizer)
    line() << "fg::warp::rows_dot(acc_n, " << q << ", qrow0, s_norm);  // q . n\n";
  if (stabilizer) {
    // The inter-chunk term enters the online maximum first, with log
    // weight nu_r = b_r + m_start and so weight exp(nu_r - mu_r) = 1.
    line() << "fg::warp::rows_of(acc_mu, qrow0, [&](int r) { return (gb.hi()[r] + "
              "gb.m_start()) + gb.lo()[r]; });\n";
    line() << "fg::warp::mul(acc_h, acc_h, kScale);\n";
    line() << "fg::warp::mul_rv(acc_n, kScale);\n";
    line() << "fg::warp::to_quad_share(acc_n);\n";
    return success();
  }
  line() << "fg::row_vec<kWarpRows> row_w;  // scale * exp(b_r)\n";
  line() << "fg::warp::rows_of(row_w, qrow0, [&](int r) { return kScale * "
            "expf(gb.hi()[r] + gb.lo()[r]); });\n";
  line() << "fg::warp::mul_rows(acc_h, acc_h, row_w);\n";
  if (normalizer) {
    line() << "fg::warp::mul_rv(acc_n, row_w);\n";
    line() << "fg::warp::to_quad_share(acc_n);\n";
  }
  return success();
}

LogicalResult LinearKernelPrinter::printScores(ChunkScoresOp op) {
  std::string q = stage("sQ", op.getStage()), k = stage("sK", op.getStage());
  if (scoresPrepass) {
    // No flash.chunk_inter before: the warp's rows here, and the row
    // vector the scalar gates' decay map takes (unused without a
    // stabiliser).
    line() << "const int qrow0 = (" << name(op.getQueryTile())
           << ") * kInnerQ + warp * kWarpRows;  // this warp's first row in the chunk\n";
    if (scalarGates)
      line() << "fg::row_vec<kWarpRows> acc_mu;\n";
  }
  line() << "const int krow0 = (" << name(op.getKeyTile()) << ") * kInnerK;\n";
  line() << "fg::acc_tile<kWarpRows, kInnerK> s_tile;\n";
  line() << "fg::warp::zero(s_tile);\n";
  if (vectorGate)
    line() << "fg::warp::mma_ABt_vector<kKeyDim>(s_tile, " << q << ", qrow0, " << k
           << ", krow0, s_tab_hi, s_tab_lo);\n";
  else
    line() << "fg::warp::mma_ABt_chunk(s_tile, " << q << ", qrow0, " << k << ", krow0);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printDecayPass(
    Block &block, StringRef tile, StringRef rowVec, StringRef row0, StringRef col0,
    llvm::function_ref<void(StringRef, StringRef)> finish) {
  auto yield = cast<DecayYieldOp>(block.getTerminator());
  static const char *kArgs[] = {"x", "hr", "lr", "hs", "ls", "is", "r", "s"};
  if (!scalarGates) {
    line() << "fg::warp::for_each(" << tile << ", " << row0 << ", " << col0
           << ", [&](int r, int s, float& x) {\n";
  } else {
    line() << "fg::warp::for_each_gated(" << tile << ", " << rowVec << ", gbd, " << row0
           << ", " << col0 << ",\n";
    line() << "    [&](int r, int s, float& x, float& row, float hr, float lr, "
              "float hs, float ls, float is) {\n";
  }
  ++indent;
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    names[arg] = kArgs[i];
  if (failed(printRegionOps(block)))
    return failure();
  finish(name(yield.getLogWeight()), name(yield.getVisible()));
  if (scalarGates)
    line() << "(void)row; (void)hr; (void)lr; (void)hs; (void)ls; (void)is;\n";
  line() << "(void)r; (void)s;\n";
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult LinearKernelPrinter::printDecayMap(DecayMapOp op) {
  Block &block = op.getBody().front();
  auto yield = cast<DecayYieldOp>(block.getTerminator());
  bool unitWeight = matchPattern(yield.getLogWeight(), m_AnyZeroFloat());
  auto pass = [&](StringRef rowVec,
                  llvm::function_ref<void(StringRef, StringRef)> finish) {
    return printDecayPass(block, "s_tile", rowVec, "qrow0", "krow0", finish);
  };

  if (!scalarGates) {
    for (unsigned i = 1; i <= 5; ++i)
      if (!block.getArgument(i).use_empty())
        return op.emitError() << "decay_map reads gate-buffer value #" << i
                              << ", but gate '" << stringifyGateKind(gate)
                              << "' keeps no gate buffer";
    // P = score * scale * exp(D~), materialised in the score tile.
    return pass("", [&](StringRef logWeight, StringRef visible) {
      if (unitWeight)
        line() << "x = " << visible << " ? x * kScale : 0.0f;\n";
      else
        line() << "x = " << visible << " ? x * kScale * fg::exp_fast(" << logWeight
               << ") : 0.0f;\n";
    });
  }
  line() << "const fg::chunk::gate_buffer<kChunk> gbd = " << ring(op.getBuffer())
         << ";\n";
  if (!stabilizer)
    return pass("acc_mu", [&](StringRef logWeight, StringRef visible) {
      line() << "x = " << visible << " ? x * kScale * fg::exp_fast(" << logWeight
             << ") : 0.0f;\n";
    });
  // mlstm_exp: the region runs twice rather than keeping a log-weight tile
  // in registers: first the row maxima, then (after the online rescale of
  // H and N) P = score * scale * exp(D~ - mu).
  line() << "fg::row_vec<kWarpRows> mu_tile = acc_mu;\n";
  if (failed(pass("mu_tile", [&](StringRef logWeight, StringRef visible) {
        line() << "row = fmaxf(row, " << visible << " ? " << logWeight
               << " : fg::neg_inf());\n";
      })))
    return failure();
  line() << "fg::warp::stabilized_rescale(acc_mu, mu_tile, acc_h, acc_n);\n";
  return pass("acc_mu", [&](StringRef logWeight, StringRef visible) {
    line() << "x = " << visible << " ? x * kScale * fg::exp_fast(" << logWeight
           << " - row) : 0.0f;\n";
  });
}

LogicalResult LinearKernelPrinter::printAccumulate(ChunkAccumulateOp op) {
  // P is already in s_tile (the decay map materialised it).
  if (normalizer)
    line() << "fg::warp::row_partial_sum(acc_n, s_tile);\n";
  line() << "fg::a_tile<Elem, kWarpRows, kInnerK> p_tile;\n";
  line() << "fg::warp::convert(p_tile, s_tile);\n";
  line() << "fg::warp::mma_rAB(acc_h, p_tile, " << stage("sV", op.getStage())
         << ", krow0, 0);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printScoresStore(ChunkScoresStoreOp op) {
  // P is in s_tile (the decay map materialised it): 4-byte pairs straight
  // from the registers; the scratch holds whole chunks of rows.
  line() << "fg::warp::store_16bit(" << base("scores", op.getBatch(), op.getHead())
         << " + ((long long)(" << name(op.getChunk())
         << ") * kChunk + qrow0) * scores_s2 + krow0, scores_s2, kWarpRows, s_tile);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printGatesStore(ChunkGatesStoreOp op) {
  // Gate buffer 0 holds the chunk's scan (flash.chunk_gates, before the
  // wait's barrier); k is staged in stage 0.
  line() << "{\n";
  ++indent;
  line() << "const fg::chunk::gate_buffer<kChunk> gb = fg::chunk::gate_ring<kChunk>(s_gates, 0);\n";
  line() << "fg::cta::store_floats<kThreads, fg::chunk::gate_buffer<kChunk>::kFloats>("
         << base("score_gates", op.getBatch(), op.getHead()) << " + (long long)("
         << name(op.getChunk()) << ") * score_gates_s2, gb.p);\n";
  if (normalizer)
    line() << "fg::cta::store_key_sums<kThreads, kChunk, kKeyDim>("
           << base("score_key_sums", op.getBatch(), op.getHead()) << " + (long long)("
           << name(op.getChunk())
           << ") * score_key_sums_s2, sK.stage(0), [&](int s) { return gb.w()[s]; });\n";
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult LinearKernelPrinter::printStagedAccumulate(ChunkStagedAccumulateOp op) {
  // The 16-key blocks up to this warp's last row: the pre-pass wrote every
  // key tile that starts before the query tile's end.
  line() << "fg::warp::mma_staged_scores<" << (normalizer ? "true" : "false")
         << ">(acc_h, acc_n, " << stage("sP", op.getStage()) << ", qrow0, "
         << stage("sV", op.getStage()) << ", (qrow0 + kWarpRows) / 16);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printStore(ChunkStoreOp op) {
  if (delta && l2normQk)
    line() << "fg::warp::for_each(acc_h, qrow0, 0, [&](int r, int, float& x) { x *= "
           << rowNorms(op.getStage()) << "[2 * r]; });  // 1/|q_r|\n";
  std::string row0 = "(long long)(" + name(op.getChunk()) + ") * kChunk + qrow0";
  if (normalizer) {
    // The rows' N_r and floor_r for the gradient (value tile 0's CTAs),
    // where the caller asks for them.
    line() << "if (norm != nullptr && (" << name(op.getColTile()) << ") == 0)\n";
    line() << "  fg::warp::store_normalizer_rows<" << (stabilizer ? "true" : "false") << ">("
           << base("norm", op.getBatch(), op.getHead()) << " + (" << row0
           << ") * norm_s2, norm_s2, norm_s3, " << name(op.getExtent()) << " - (int)(" << row0
           << "), acc_n, acc_mu);\n";
    line() << "fg::warp::normalize_rows<" << (stabilizer ? "true" : "false")
           << ">(acc_h, acc_n, acc_mu, kEps);\n";
  }
  if (!op.getOutputMod().empty()) {
    // output_mod on each normalised element (docs/semantics.md §3.6), in
    // registers before the store: t the row's position in the sequence, d
    // its column in the head; staged reads from the chunk's tiles.
    storeRow0 = "(long long)(" + name(op.getChunk()) + ") * kChunk";
    storeCol0 = "(int)(" + name(op.getColTile()) + ") * kTileDv";
    storeStage = name(op.getStage());
    LogicalResult printed = printOutputModOver(op.getOutputMod().front(), "acc_h",
                                               "(int)(" + row0 + ")", storeCol0,
                                               op.getBatch(), op.getHead());
    storeRow0.clear();
    storeCol0.clear();
    storeStage.clear();
    if (failed(printed))
      return failure();
  }
  line() << "fg::warp::store_rows_staged(" << base("o", op.getBatch(), op.getHead())
         << " + (" << row0 << ") * o_s2 + (long long)(" << name(op.getColTile())
         << ") * kTileDv, o_s2, " << name(op.getExtent()) << " - (int)(" << row0
         << "), acc_h, " << stage("sQ", op.getStage()) << ", qrow0);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printStateUpdate(StateUpdateOp op) {
  std::string k = stage("sK", op.getStage()), v = stage("sV", op.getStage());
  line() << "{\n";
  ++indent;
  if (op.getGradient()) {
    // G = decay G + (Q diag(u))^T dO, u_t = scale exp(b_t): q and dO sit
    // in the k and v stages (none and decay only: the precondition).
    if (gate == GateKind::none) {
      line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
             << ", 0, 0, [&](int, int) { return kScale; });\n";
    } else if (vectorGate) {
      // Per key dim d: G = exp(b_L) G + sum_t (scale exp(b_t) q_t) dO_t^T,
      // q gated in place by exp(b_t) (the scan's q_from_chunk_start).
      line() << "fg::row_vec<kStateRows> decay_d;  // exp(g_d) of this warp's key dims\n";
      line() << "fg::warp::rows_of(decay_d, srow0, [&](int d) { return "
                "fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, kChunk / 16, -1, d); });\n";
      line() << "fg::warp::mul_rows(st_c, st_c, decay_d);\n";
      line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
             << ", 0, 0, [&](int, int) { return kScale; });\n";
    } else {
      line() << "const fg::chunk::gate_buffer<kChunk> gb = " << ring(op.getBuffer())
             << ";\n";
      // The rows' factor exp(b_t); mlstm_exp's state gradient is kept
      // scaled by exp(m) at its boundary (docs/semantics.md §4.7), so row
      // t's is exp(b_t + m_start - m_t) = exp(m_start - mu_t) <= 1, and
      // the decay exp(g + m_start - m_end) the scan's.
      std::string rowFactor =
          stabilizer ? "fg::exp_fast(gb.m_start() - stab[t])" : "fg::exp_fast(gb.hi()[t] + gb.lo()[t])";
      if (stabilizer)
        line() << "const float* const stab = s_stab + (" << name(op.getBuffer())
               << ") * 2 * kChunk;  // this chunk's mu [L], src [L]\n";
      line() << "fg::warp::mul(st_c, st_c, gb.decay());\n";
      line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
             << ", 0, 0, [&](int, int t) { return kScale * " << rowFactor << "; });\n";
      if (normalizer) {
        // n's part (the value column of ones): Gn = decay Gn + sum_t
        // (scale exp(b_t) dN_t) q_t, dN_t the rows kernel's (the ring's
        // stage of this chunk).
        std::string rows = "s_dqn_ring + (" + name(op.getStage()) + ") * kChunk * kDqnCols";
        line() << "fg::cta::copy_column<kThreads, kChunk, kDqnCols>(s_dqn, " << rows << ");\n";
        if (stabilizer)
          line() << "fg::cta::copy_column<kThreads, kChunk, kDqnCols>(s_dmr, " << rows
                 << " + 1);  // the rows' dm\n";
        line() << "fg::cta::sync();\n";
        line() << "fg::cta::update_normalizer<kThreads, kChunk, kKeyDim>(s_norm, " << k
               << ", gb.decay(), [&](int t) { return kScale * " << rowFactor
               << " * s_dqn[t]; });\n";
        if (stabilizer) {
          // The stabiliser's gradient the chunk carries into the one
          // before: its carried-stabiliser rows' dm, the last row's
          // including what the later chunks carried into it.
          line() << "if (warp == 0) {\n";
          line() << "  if (threadIdx.x == 0) s_dmr[kChunk - 1] += dm_carry;\n";
          line() << "  fg::ptx::warp_sync();\n";
          line() << "  dm_carry = fg::warp::carried_stabilizer_grad<kChunk>(s_dmr, stab + kChunk);\n";
          line() << "}\n";
        }
      }
    }
  } else if (gate == GateKind::none) {
    line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
           << ", 0, 0);\n";
  } else if (vectorGate) {
    line() << "fg::row_vec<kStateRows> decay_d;  // exp(g_d) of this warp's key dims\n";
    line() << "fg::warp::rows_of(decay_d, srow0, [&](int d) { return "
              "fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, kChunk / 16, -1, d); });\n";
    line() << "fg::warp::mul_rows(st_c, st_c, decay_d);\n";
    if (queries) {
      // k gated per 16-row tile (its scores need that): the tile's
      // exp(b_L - b_s0) as its fragments load.
      line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
             << ", 0, 0, [&](int m, int s) {\n";
      line() << "  return fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, kChunk "
                "/ 16, s / 16, srow0 + m);\n";
      line() << "});\n";
    } else {
      // The state pass: k gated to the chunk's end (k_to_chunk_end).
      line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
             << ", 0, 0);\n";
    }
  } else {
    line() << "const fg::chunk::gate_buffer<kChunk> gb = " << ring(op.getBuffer())
           << ";\n";
    line() << "fg::warp::mul(st_c, st_c, gb.decay());\n";
    line() << "fg::warp::mma_AtB_chunk<kChunk>(st_c, " << k << ", 0, srow0, " << v
           << ", 0, 0, [&](int, int s) { return gb.w()[s]; });\n";
    if (stagedKeySums)
      line() << "fg::cta::update_normalizer_from<kThreads, kKeyDim>(s_norm, s_key_sums + ("
             << name(op.getStage()) << ") * kKeyDim, gb.decay());  // the pre-pass's sums\n";
    else if (normalizer)
      line() << "fg::cta::update_normalizer<kThreads, kChunk, kKeyDim>(s_norm, " << k
             << ", gb.decay(), [&](int s) { return gb.w()[s]; });\n";
  }
  if (queries)
    line() << "fg::warp::store(sC, srow0, 0, st_c);  // the next chunk's 16-bit copy\n";
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult LinearKernelPrinter::printL2Norm(ChunkL2NormOp op) {
  // delta_prepare only (the verifier's rule): k normalised in place for A
  // and W; q's and k's row norms on to delta_fused.
  std::string row0 = "(long long)(" + name(op.getChunk()) + ") * kChunk";
  line() << "fg::cta::delta_row_norms<kThreads>(" << stage("sK", op.getStage()) << ", "
         << base("q", op.getBatch(), op.getHead()) << " + " << row0 << " * q_s2, q_s2, "
         << name(op.getExtent()) << " - (int)(" << row0 << "), s_row_norms, "
         << base("delta_norm", op.getBatch(), op.getHead()) << " + " << row0
         << " * delta_norm_s2);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printFeatureMap(ChunkFeatureMapOp op) {
  // The feature map on each element of the staged rows inside the
  // sequence (docs/semantics.md §3.7): i its position in the sequence, j
  // its column.
  Block &block = op.getBody().front();
  StringRef ringName = op.getTensor() == TensorRole::q ? "sQ" : "sK";
  line() << "fg::cta::map_rows<kThreads>(" << stage(ringName, op.getStage()) << ", "
         << name(op.getExtent()) << " - (" << name(op.getChunk()) << ") * kChunk, (int)("
         << name(op.getChunk()) << ") * kChunk, [&](float x, int i, int j) -> float {\n";
  ++indent;
  if (failed(printElementRegion(block, "x", op.getBatch(), op.getHead())))
    return failure();
  line() << "return " << name(cast<YieldOp>(block.getTerminator()).getValue()) << ";\n";
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult LinearKernelPrinter::printExtraLoad(ChunkExtraLoadOp op) {
  // The chunk's rows x the value tile's columns of the extra (strides of
  // its own: any layout), the other indices clamped as a read's are.
  auto extra = op.getExtra().getDefiningOp<ExtraOp>();
  if (!extra)
    return op.emitError() << "the CUDA emitter stages flash.extra operands only";
  std::string pointer = name(op.getExtra());
  std::string src = pointer;
  unsigned next = 0;
  for (int64_t d = 0, rank = extra.getTensor().getType().getRank(); d < rank; ++d)
    if (d != op.getRowDim() && d != op.getColDim())
      src += " + " + clampedExtraOffset(extra, d, name(op.getIndices()[next++]));
  std::string rowStride = pointer + "_s" + std::to_string(op.getRowDim());
  std::string colStride = pointer + "_s" + std::to_string(op.getColDim());
  src += " + (long long)(" + name(op.getChunk()) + ") * kChunk * " + rowStride +
         " + (long long)(" + name(op.getColTile()) + ") * kTileDv * " + colStride;
  line() << "fg::cta::load_async_f32_strided<kThreads, kChunk, kTileDv, kExtraStride>(smem + "
            "kSmemExtras + fg::u32(("
         << name(op.getStage()) << ") * kExtraStageFloats + " << op.getSlot()
         << " * kChunk * kExtraStride) * 4u, " << src << ", " << rowStride << ", " << colStride
         << ", " << name(op.getExtent()) << " - (" << name(op.getChunk()) << ") * kChunk);\n";
  return success();
}

LogicalResult LinearKernelPrinter::printExtraRead(ChunkExtraReadOp op) {
  if (storeStage.empty())
    return op.emitError() << "flash.chunk_extra_read outside a chunk_store's output_mod";
  std::string result = fresh();
  names[op.getValue()] = result;
  line() << "const float " << result << " = s_extras[(" << storeStage
         << ") * kExtraStageFloats + " << op.getSlot() << " * kChunk * kExtraStride + ((int)("
         << name(op.getRow()) << ") - (int)(" << storeRow0 << ")) * kExtraStride + ((int)("
         << name(op.getCol()) << ") - (int)(" << storeCol0 << "))];\n";
  return success();
}

LogicalResult LinearKernelPrinter::printDelta(ChunkDeltaOp op) {
  // With l2norm_qk, row s times the staged 1/|k_s| (column 1 of [L][2]).
  std::string scales = l2normQk ? rowNorms(op.getStage()) + " + 1, 2" : "nullptr, 0";
  line() << "fg::cta::delta_correct<kThreads>(" << stage("sW", op.getStage()) << ", "
         << stage("sV", op.getStage()) << ", sC, " << scales << ");  // U~ = U - W S\n";
  return success();
}

LogicalResult LinearKernelPrinter::printWY(ChunkWYOp op) {
  std::string row0 = "(long long)(" + name(op.getChunk()) + ") * kChunk";
  auto rows = [&](StringRef tensor) {
    return base(tensor, op.getBatch(), op.getHead()) + " + " + row0 + " * " + tensor.str() + "_s2";
  };
  std::string valid = name(op.getExtent()) + " - (int)(" + row0 + ")";
  line() << "{\n";
  ++indent;
  if (scalarGates) {
    line() << "const fg::chunk::gate_buffer<kChunk> gbu = " << ring(op.getBuffer())
           << ";  // gamma = hi + lo\n";
    line() << "const float* const d_hi = gbu.hi();\n";
    line() << "const float* const d_lo = gbu.lo();\n";
  } else {
    line() << "const float* const d_hi = nullptr;  // no decay: gamma = 0\n";
    line() << "const float* const d_lo = nullptr;\n";
  }
  line() << "fg::cta::delta_wy<kThreads>(sK.stage(0), sV.stage(0), TTile{smem + kSmemDeltaT}, "
         << rows("beta") << ", beta_s2, " << valid << ",\n";
  line() << "    d_hi, d_lo, s_delta_beta, s_delta_a, s_delta_t, " << rows("delta_w")
         << ", delta_w_s2, " << rows("delta_u") << ", delta_u_s2);\n";
  --indent;
  line() << "}\n";
  return success();
}

std::string LinearKernelPrinter::gradBoundary(Value batch, Value head, StringRef scratch,
                                              StringRef index) {
  return base(scratch, batch, head) + " + (long long)(" + index.str() + ") * " + scratch.str() +
         "_s2";
}

void LinearKernelPrinter::printGradStatesLoad(Value batch, Value head, StringRef sIndex,
                                              StringRef gIndex, StringRef slice) {
  std::string col = slice.empty() ? "" : " + (" + slice.str() + ") * kValueSlice";
  line() << "fg::cta::load_async<kThreads>(sS, " << gradBoundary(batch, head, "chunk_c", sIndex)
         << col << ", chunk_c_s3, kKeyDim);\n";
  line() << "fg::cta::load_async<kThreads>(sG, " << gradBoundary(batch, head, "chunk_dc", gIndex)
         << col << ", chunk_dc_s3, kKeyDim);\n";
}

LogicalResult LinearKernelPrinter::printChunkGradStage(ChunkGradStageOp op) {
  std::string c = name(op.getChunk()), next = "(" + c + ") + 1";
  if (gradValueSliced) {
    line() << "// S and G are staged a value slice a pass (flash.chunk_grad).\n";
  } else {
    line() << "// The state before the chunk S and the gradient of the state after it\n";
    line() << "// G (16-bit scratch), with the rows: one round trip.\n";
    printGradStatesLoad(op.getBatch(), op.getHead(), c, next, "");
  }
  if (normalizer) {
    // n before the chunk and n's part of the gradient after it (f32; the
    // value column of ones beside S and G).
    line() << "fg::cta::load_async_bytes<kThreads, kKeyDim * 4>(smem + kSmemNormRows + "
              "fg::u32(kChunk * 4), "
           << gradBoundary(op.getBatch(), op.getHead(), "chunk_n", c) << ");\n";
    line() << "fg::cta::load_async_bytes<kThreads, kKeyDim * 4>(smem + kSmemNormRows + "
              "fg::u32((kChunk + kKeyDim) * 4), "
           << gradBoundary(op.getBatch(), op.getHead(), "chunk_dn", next) << ");\n";
  }
  return success();
}

/// for (tile = blockIdx.x, round = 0; tile < tiles; tile += gridDim.x) {
///   this round's ids and the next round's (first role fastest); body }
/// The grid becomes one CTA per SM (fewer when there are fewer tiles).
LogicalResult LinearKernelPrinter::printChunkRounds(ChunkRoundsOp op) {
  Block &body = op.getBody().front();
  const PersistentTiles tiles = persistentTiles(op.getExtents());
  result.grid.assign(tiles.grid.begin(), tiles.grid.end());
  line() << "const int fg_tiles = " << tiles.tiles << ";  // chunk tiles of the whole launch\n";
  line() << "for (int fg_tile = int(blockIdx.x), fg_round = 0; fg_tile < fg_tiles; "
            "fg_tile += int(gridDim.x), ++fg_round) {\n";
  ++indent;
  line() << "const int fg_next = fg_tile + int(gridDim.x);\n";
  line() << "const bool fg_more = fg_next < fg_tiles;  // this CTA has a next round\n";
  for (size_t i = 0; i < 3; ++i) {
    std::string role = cast<StringAttr>(op.getRoles()[i]).getValue().str();
    names[body.getArgument(i)] = role + "_id";
    names[body.getArgument(4 + i)] = "next_" + role + "_id";
    line() << "const int " << role << "_id = " << tiles.id("fg_tile", i) << ";\n";
    line() << "const int next_" << role << "_id = " << tiles.id("fg_next", i) << ";\n";
  }
  names[body.getArgument(3)] = "fg_round";
  names[body.getArgument(7)] = "fg_more";
  for (Operation &inner : body)
    if (failed(printOp(&inner)))
      return failure();
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult LinearKernelPrinter::printChunkGrad(ChunkGradOp op) {
  Block &block = op.getBody().front();
  std::string c = name(op.getChunk());
  auto boundary = [&](StringRef scratch, StringRef index) {
    return gradBoundary(op.getBatch(), op.getHead(), scratch, index);
  };
  const bool initial = cast<BoolAttr>(kernel.getProblem().get("initial_state")).getValue();
  std::string next = "(" + c + ") + 1";
  std::string row0 = "(long long)(" + c + ") * kChunk + r0";
  std::string valid = name(op.getExtent()) + " - (int)(" + row0 + ")";
  // A gradient tile of this warp's rows and column slice, written straight
  // from registers (`col0`: the value slice's first column).
  auto store = [&](StringRef tensor, StringRef acc, StringRef cols, StringRef col0 = "") {
    line() << "fg::warp::store_16bit(" << base(tensor, op.getBatch(), op.getHead())
           << " + (" << row0 << ") * " << tensor << "_s2 + " << (col0.empty() ? "" : col0.str() + " + ")
           << "cs * " << cols << ", " << tensor << "_s2, " << valid << ", " << acc << ");\n";
  };
  // Over value slices (gradValueSlices), v, dO and the two states are
  // staged kValueSlice columns at a time.
  const bool sliced = gradValueSliced;
  // The states' columns from value slice `slice` ("" : the whole).
  auto loadStates = [&](StringRef sIndex, StringRef gIndex, StringRef slice) {
    printGradStatesLoad(op.getBatch(), op.getHead(), sIndex, gIndex, slice);
  };
  line() << "{\n";
  ++indent;
  // The rows of this chunk: stage `stage` of their rings.
  std::string st = name(op.getStage());
  line() << "const QTile sQ = sQ_ring.stage(" << st << "), sK = sK_ring.stage(" << st << ");\n";
  line() << "const VTile sV = sV_ring.stage(" << st << "), sDO = sDO_ring.stage(" << st
         << ");\n";
  // S and G (whole, or a slice a pass below), n and n's part of G were
  // staged by flash.chunk_grad_stage and landed at the kernel's tile wait.
  if (!sliced)
    line() << "// <G, S> for the log-decays' chunk-end term <G, S_next> = exp(b_L) <G, S> + "
              "sum_s k_s . (w_s G v_s).\n";
  if (normalizer)
    // Each row's normaliser gradient dN_r (read after dot_tiles' barriers).
    line() << "fg::cta::copy_column<kThreads, kChunk, kDqnCols>(s_dqn, s_dqn_rows + (" << st
           << ") * kChunk * kDqnCols);\n";
  if (stabilizer)
    // mlstm_exp: and each row's stabiliser gradient dm_r.
    line() << "fg::cta::copy_column<kThreads, kChunk, kDqnCols>(s_dm, s_dqn_rows + (" << st
           << ") * kChunk * kDqnCols + 1);\n";
  if (scalarGates) {
    std::string normDot = "fg::cta::dot_vectors<kThreads, kKeyDim>(s_n, s_gn, s_red)";
    if (sliced)
      line() << "float gs_dot = " << (normalizer ? normDot : "0.0f")
             << ";  // + each pass's <S, G>\n";
    else
      line() << "const float gs_dot = fg::cta::dot_tiles<kThreads>(sS, sG, s_red)"
             << (normalizer ? " + " + normDot : "") << ";\n";
    line() << "const fg::chunk::gate_buffer<kChunk> gbd = " << ring(op.getBuffer())
           << ";\n";
  }
  if (stabilizer)
    // What later chunks carry into the stabiliser of the chunk's last row
    // (the state-gradient pass's; the rows past the sequence share the
    // last real row's stabiliser). dot_tiles' barriers are behind us.
    line() << "if (threadIdx.x == 0) s_dm[kChunk - 1] += "
           << base("chunk_dm", op.getBatch(), op.getHead()) << "[(long long)(" << next
           << ") * chunk_dm_s2];\n";
  line() << "fg::row_vec<16> unused_rv;  // for_each_gated's per-row slot\n";
  line() << "fg::warp::fill(unused_rv, 0.0f);\n";
  // A = scale (Q K^T) o W and dP = (dO V^T) o W: this warp's rows and its
  // slice of the chunk's columns.
  line() << "fg::acc_tile<16, kColsA> s_tile;\n";
  // With a normaliser, dP_rs = (dO_r / den_r . v_s + dN_r) W_rs: the value
  // column of ones.
  for (auto [what, a, bTile, tile, scaled] :
       {std::tuple{"A", "sQ", "sK", "sA", true}, {"dP", "sDO", "sV", "sDP", false}}) {
    if (sliced && !scaled) {
      // dP's product is the passes' sum (in s_tile), dq's and dk's state
      // products beside it; each pass's dv is whole.
      printValueSlicePasses(op, store, loadStates);
    } else {
      line() << "fg::warp::zero(s_tile);  // " << what << "\n";
      if (vectorGate && scaled)
        // The gated q and k, their blocks' factors per key dim.
        line() << "fg::warp::mma_ABt_vector<kKeyDim>(s_tile, " << a << ", r0, " << bTile
               << ", cs * kColsA, s_tab_hi, s_tab_lo);\n";
      else
        line() << "fg::warp::mma_ABt_chunk(s_tile, " << a << ", r0, " << bTile
               << ", cs * kColsA);\n";
    }
    bool withScale = scaled;
    if (failed(printDecayPass(block, "s_tile", "unused_rv", "r0", "cs * kColsA",
                              [&](StringRef logWeight, StringRef visible) {
                                std::string x = !withScale && normalizer
                                                    ? std::string("(x + s_dqn[r])")
                                                    : std::string("x");
                                // mlstm_exp: W_rs = exp(b_r - b_s + i_s - m_r),
                                // m_r = b_r + mu_r.
                                std::string weight =
                                    stabilizer ? "(" + logWeight.str() + " - (hr + lr)) - s_stab[r]"
                                               : logWeight.str();
                                line() << "x = " << visible << " ? " << x
                                       << (withScale ? " * kScale" : "")
                                       << " * fg::exp_fast(" << weight << ") : 0.0f;\n";
                              })))
      return failure();
    line() << "fg::warp::store(" << tile << ", r0, cs * kColsA, s_tile);\n";
  }
  line() << "fg::cta::sync();  // every warp's slices of A and dP\n";
  if (vectorGate) {
    if (failed(printVectorGradTail(op, store)))
      return failure();
    --indent;
    line() << "}\n";
    return success();
  }
  if (!sliced)  // (the passes declared it)
    line() << "fg::row_vec<16> row_w;   // per-row factors\n";
  line() << "fg::row_vec<16> dlog;    // q . dq - k . dk over this slice (lane shares)\n";
  line() << "fg::warp::fill(dlog, 0.0f);\n";
  // dq = scale (exp(b_r) dO S^T + dP K), this warp's kColsK columns.
  if (sliced) {
    line() << "fg::acc_tile<16, kColsK> acc = dq_acc;  // dq: dO S^T over the passes\n";
  } else {
    line() << "fg::acc_tile<16, kColsK> acc;\n";
    line() << "fg::warp::zero(acc);  // dq\n";
    line() << "fg::warp::mma_ABt_chunk(acc, sDO, r0, sS, cs * kColsK);\n";
  }
  if (normalizer)
    line() << "fg::warp::for_each(acc, r0, cs * kColsK, [&](int r, int d, float& x) { x += "
              "s_dqn[r] * s_n[d]; });  // + dN_r n\n";
  if (scalarGates) {
    // exp(b_r); mlstm_exp's exp(b_r + m_start - m_r) = exp(m_start - mu_r).
    line() << "fg::warp::rows_of(row_w, r0, [&](int r) { return "
           << (stabilizer ? "expf(gbd.m_start() - s_stab[r])" : "expf(gbd.hi()[r] + gbd.lo()[r])")
           << "; });\n";
    line() << "fg::warp::mul_rows(acc, acc, row_w);\n";
  }
  line() << "fg::warp::mma_AB_chunk<kChunk>(acc, sDP, r0, sK, 0, cs * kColsK);\n";
  line() << "fg::warp::mul(acc, acc, kScale);\n";
  if (scalarGates)
    line() << "fg::warp::rows_dot_partial(dlog, acc, sQ, r0, cs * kColsK, 1.0f);\n";
  store("dq", "acc", "kColsK");
  // dk = w_s G v_s + scale dP^T Q, w_s = exp(b_L - b_s).
  if (sliced) {
    line() << "acc = dk_acc;  // dk: V G^T over the passes\n";
  } else {
    line() << "fg::warp::zero(acc);  // dk\n";
    line() << "fg::warp::mma_ABt_chunk(acc, sV, r0, sG, cs * kColsK);\n";
  }
  if (normalizer)
    line() << "fg::warp::for_each(acc, r0, cs * kColsK, [&](int, int d, float& x) { x += "
              "s_gn[d]; });  // + G's n part\n";
  if (scalarGates)
    line() << "fg::warp::rows_of(row_w, r0, [&](int r) { return gbd.w()[r] * (1.0f / kScale); });\n";
  else
    line() << "fg::warp::fill(row_w, 1.0f / kScale);\n";
  line() << "fg::warp::mul_rows(acc, acc, row_w);\n";
  if (scalarGates) {
    line() << "fg::row_vec<16> end_rows;  // k_s . (w_s G v_s) over this slice\n";
    line() << "fg::warp::fill(end_rows, 0.0f);\n";
    line() << "fg::warp::rows_dot_partial(end_rows, acc, sK, r0, cs * kColsK, kScale);\n";
    line() << "fg::warp::store_rows_to(s_rows + (kColSplit + cs) * kChunk, r0, end_rows);\n";
  }
  line() << "fg::warp::mma_AtB_chunk<kChunk>(acc, sDP, 0, r0, sQ, 0, cs * kColsK);\n";
  line() << "fg::warp::mul(acc, acc, kScale);\n";
  if (scalarGates)
    line() << "fg::warp::rows_dot_partial(dlog, acc, sK, r0, cs * kColsK, -1.0f);\n";
  if (normalizer) {
    // The log input weights' gradient: k_s . dk_s.
    line() << "fg::row_vec<16> kdk;  // k . dk over this slice\n";
    line() << "fg::warp::fill(kdk, 0.0f);\n";
    line() << "fg::warp::rows_dot_partial(kdk, acc, sK, r0, cs * kColsK, 1.0f);\n";
    line() << "fg::warp::store_rows_to(s_kdk + cs * kChunk, r0, kdk);\n";
  }
  store("dk", "acc", "kColsK");
  if (!sliced)
    printValueGrad(store, "");
  if (scalarGates) {
    // The log-decay's gradient: the reverse cumulative sum of the rows'
    // terms (summed over the column slices), the chunk end's term on top.
    line() << "fg::warp::store_rows_to(s_rows + cs * kChunk, r0, dlog);\n";
    line() << "fg::cta::sync();\n";
    if (normalizer) {
      // mlstm_sig: the log-forget gradient as decay's log-decay one, the
      // log-input one k . dk, both through log sigmoid.
      std::string rows = name(op.getExtent()) + " - (int)(" + c + ") * kChunk";
      auto at = [&](StringRef t) {
        return base(t, op.getBatch(), op.getHead()) + " + (long long)(" + c + ") * kChunk * " +
               t.str() + "_s2, " + t.str() + "_s2";
      };
      line() << "if (warp == 0)\n";
      if (stabilizer)
        // mlstm_exp: iota = i, and each row's stabiliser gradient routed
        // to the step that sets m_r (docs/semantics.md §4.7).
        line() << "  fg::warp::stabilized_gate_grads<kChunk, kColSplit>(" << at("digate") << ", "
               << at("dfgate") << ", " << rows
               << ", s_rows, s_rows + kColSplit * kChunk, gbd.decay() * gs_dot, s_kdk, s_dm, "
                  "s_stab + kChunk, s_e, "
               << at("fgate") << ");\n";
      else
        line() << "  fg::warp::sigmoid_gate_grads<kChunk, kColSplit>(" << at("digate") << ", "
               << at("dfgate") << ", " << rows
               << ", s_rows, s_rows + kColSplit * kChunk, gbd.decay() * gs_dot, s_kdk, "
               << at("igate") << ", " << at("fgate") << ");\n";
      if (stabilizer && initial) {
        // dm0 (chunk 0's CTA, after every other use of sG): what the
        // chunks carry into m0, plus <dC0, C0> + <dn0, n0>, the states
        // being stored scaled by exp(-m) (the gradient of the state at
        // boundary 0, the state-gradient pass's, in sG and s_gn).
        line() << "if ((" << c << ") == 0 && dm0 != nullptr) {\n";
        ++indent;
        line() << "fg::cta::sync();\n";
        if (sliced) {
          // S (boundary 0) and the gradient there, a value slice a pass.
          line() << "float dm0_state = 0.0f;\n";
          line() << "for (int vs = 0; vs < kValueSlices; ++vs) {\n";
          ++indent;
          line() << "if (vs > 0) fg::cta::sync();  // the previous pass's dot read\n";
          loadStates("0", "0", "vs");
          line() << "fg::cta::commit();\n";
          line() << "fg::cta::wait<0>();\n";
          line() << "fg::cta::sync();\n";
          line() << "dm0_state += fg::cta::dot_tiles<kThreads>(sS, sG, s_red);\n";
          --indent;
          line() << "}\n";
        } else {
          line() << "fg::cta::load_async<kThreads>(sG, " << boundary("chunk_dc", "0")
                 << ", chunk_dc_s3, kKeyDim);\n";
        }
        line() << "fg::cta::load_async_bytes<kThreads, kKeyDim * 4>(smem + kSmemNormRows + "
                  "fg::u32((kChunk + kKeyDim) * 4), "
               << boundary("chunk_dn", "0") << ");\n";
        line() << "fg::cta::commit();\n";
        line() << "fg::cta::wait<0>();\n";
        line() << "fg::cta::sync();\n";
        if (sliced)
          line() << "dm0_state += fg::cta::dot_vectors<kThreads, kKeyDim>(s_n, s_gn, s_red);\n";
        else
          line() << "const float dm0_state = fg::cta::dot_tiles<kThreads>(sS, sG, s_red) + "
                    "fg::cta::dot_vectors<kThreads, kKeyDim>(s_n, s_gn, s_red);\n";
        line() << "if (threadIdx.x == 0) *(" << base("dm0", op.getBatch(), op.getHead())
               << ") = dm0_state + " << base("chunk_dm", op.getBatch(), op.getHead())
               << "[0];\n";
        --indent;
        line() << "}\n";
      }
      --indent;
      line() << "}\n";
      return success();
    }
    line() << "if (warp == 0)\n";
    line() << "  fg::warp::reverse_cumsum_rows<kChunk, kColSplit>("
           << base("dg", op.getBatch(), op.getHead()) << " + (long long)(" << c
           << ") * kChunk * dg_s2, dg_s2, " << name(op.getExtent()) << " - (int)(" << c
           << ") * kChunk, s_rows, s_rows + kColSplit * kChunk, gbd.decay() * gs_dot);\n";
  }
  --indent;
  line() << "}\n";
  return success();
}

void LinearKernelPrinter::printValueGrad(StoreGrad store, StringRef col0) {
  // dv = w_s G^T k_s + A^T dO, this warp's kColsV columns (of the value
  // slice from col0).
  line() << "fg::acc_tile<16, kColsV> acc_v;\n";
  line() << "fg::warp::zero(acc_v);  // dv\n";
  if (vectorGate)
    // (K^ o exp(b_L - b_i0)) G, the factor per key dim; i0 this warp's
    // 16-row block.
    line() << "fg::warp::mma_AB_chunk<kKeyDim>(acc_v, sK, r0, sG, 0, cs * kColsV, [&](int, int d) "
              "{ return "
           << vectorBlockDecay("kChunk / 16", "r0 / 16", "d") << "; });\n";
  else
    line() << "fg::warp::mma_AB_chunk<kKeyDim>(acc_v, sK, r0, sG, 0, cs * kColsV);\n";
  if (scalarGates) {
    line() << "fg::warp::rows_of(row_w, r0, [&](int r) { return gbd.w()[r]; });\n";
    line() << "fg::warp::mul_rows(acc_v, acc_v, row_w);\n";
  }
  line() << "fg::warp::mma_AtB_chunk<kChunk>(acc_v, sA, 0, r0, sDO, 0, cs * kColsV);\n";
  store("dv", "acc_v", "kColsV", col0);
}

std::string LinearKernelPrinter::vectorBlockDecay(StringRef i, StringRef j, StringRef d) {
  return ("fg::chunk::table_decay<kKeyDim>(s_tab_hi, s_tab_lo, " + i + ", " + j + ", " + d + ")")
      .str();
}

void LinearKernelPrinter::printValueSlicePasses(
    ChunkGradOp op, StoreGrad store,
    llvm::function_ref<void(StringRef, StringRef, StringRef)> loadStates) {
  std::string c = name(op.getChunk());
  std::string row0 = "(long long)(" + c + ") * kChunk";
  std::string valid = name(op.getExtent()) + " - (" + c + ") * kChunk";
  StringRef dout = normalizer ? "grad_do" : "dout";
  line() << "// dP = dO V^T, and dq's and dk's state products dO S^T and V G^T,\n";
  line() << "// summed over the value slices; each slice's dv written whole.\n";
  line() << "fg::acc_tile<16, kColsK> dq_acc, dk_acc;\n";
  line() << "fg::warp::zero(s_tile);  // dP\n";
  line() << "fg::warp::zero(dq_acc);\n";
  line() << "fg::warp::zero(dk_acc);\n";
  if (!vectorGate)  // (vector gates scale by key dim)
    line() << "fg::row_vec<16> row_w;   // per-row factors\n";
  line() << "FG_CHUNK_NO_UNROLL\n";
  line() << "for (int vs = 0; vs < kValueSlices; ++vs) {\n";
  ++indent;
  line() << "if (vs > 0) fg::cta::sync();  // every warp done with the previous slice\n";
  for (auto [tile, tensor] : {std::pair{"sV", StringRef("v")}, {"sDO", dout}})
    line() << "fg::cta::load_async<kThreads>(" << tile << ", "
           << base(tensor, op.getBatch(), op.getHead()) << " + " << row0 << " * " << tensor
           << "_s2 + (long long)vs * kValueSlice, " << tensor << "_s2, " << valid << ");\n";
  loadStates(c, "(" + c + ") + 1", "vs");
  line() << "fg::cta::commit();\n";
  line() << "fg::cta::wait<0>();\n";
  line() << "fg::cta::sync();\n";
  if (scalarGates)
    line() << "gs_dot += fg::cta::dot_tiles<kThreads>(sS, sG, s_red);\n";
  if (vectorGate)
    line() << "fg::cta::row_dots<kThreads>(s_sg, sS, sG, vs > 0);  // <S, G> per key dim\n";
  line() << "fg::warp::mma_ABt_chunk(s_tile, sDO, r0, sV, cs * kColsA);\n";
  line() << "fg::warp::mma_ABt_chunk(dq_acc, sDO, r0, sS, cs * kColsK);\n";
  line() << "fg::warp::mma_ABt_chunk(dk_acc, sV, r0, sG, cs * kColsK);\n";
  printValueGrad(store, "(long long)vs * kValueSlice");
  --indent;
  line() << "}\n";
}

LogicalResult LinearKernelPrinter::printVectorGradTail(ChunkGradOp op, StoreGrad store) {
  // docs/semantics.md §4.5, vector gates: q^ and k^ are q and k gated in
  // place relative to their 16-row blocks, s_g holds the exponents that
  // gated q; a factor between blocks i and j is exp(b_i0 - b_j0) per key
  // dim d (the tables). This warp's rows are block i0.
  auto decay = [this](StringRef i, StringRef j, StringRef d) { return vectorBlockDecay(i, j, d); };
  // Over value slices the passes summed <S, G>, dO S^T and V G^T and wrote
  // dv.
  const bool sliced = gradValueSliced;
  if (!sliced)
    line() << "fg::cta::row_dots<kThreads>(s_sg, sS, sG);  // <S, G> per key dim (read after a "
              "barrier)\n";
  line() << "const int i0 = r0 / 16;  // this warp's 16-row block\n";
  line() << "fg::acc_tile<16, kColsK> qdq;   // q . dq per element\n";
  // dq^ = scale (exp(b_i0) dO S^T + sum_{j <= i0} (dP_j K^_j) exp(b_i0 - b_j0)).
  if (sliced) {
    line() << "fg::acc_tile<16, kColsK> dx = dq_acc;  // dq^: dO S^T over the passes, then dk^\n";
  } else {
    line() << "fg::acc_tile<16, kColsK> dx;    // dq, then dk\n";
    line() << "fg::warp::zero(dx);  // dq^\n";
    line() << "fg::warp::mma_ABt_chunk(dx, sDO, r0, sS, cs * kColsK);\n";
  }
  line() << "fg::warp::mul_cols(dx, cs * kColsK, [&](int d) { return kScale * "
         << decay("i0", "-1", "d") << "; });\n";
  line() << "fg::warp::mma_blocks<false>(dx, sDP, r0, sK, cs * kColsK, 0, i0, [&](int j, int d) "
            "{ return kScale * "
         << decay("i0", "j", "d") << "; });\n";
  line() << "fg::warp::ungate_q_grad<kGStride>(dx, qdq, sQ, s_g, r0, cs * kColsK);\n";
  store("dq", "dx", "kColsK", "");
  // dk^ = exp(b_L - b_i0) V G^T + scale sum_{j >= i0} (dP_j^T Q^_j) exp(b_j0 - b_i0);
  // the first term's dot with k^ is this block's share of the chunk end's
  // log-decay term.
  if (sliced) {
    line() << "dx = dk_acc;  // dk^: V G^T over the passes\n";
  } else {
    line() << "fg::warp::zero(dx);  // dk^\n";
    line() << "fg::warp::mma_ABt_chunk(dx, sV, r0, sG, cs * kColsK);\n";
  }
  line() << "fg::warp::mul_cols(dx, cs * kColsK, [&](int d) { return "
         << decay("kChunk / 16", "i0", "d") << "; });\n";
  line() << "fg::warp::cols_dot_to(s_end + i0 * kKeyDim, dx, sK, r0, cs * kColsK);\n";
  line() << "fg::warp::mma_blocks<true>(dx, sDP, r0, sQ, cs * kColsK, i0, kChunk / 16 - 1, "
            "[&](int j, int d) { return kScale * "
         << decay("j", "i0", "d") << "; });\n";
  line() << "fg::warp::ungate_k_grad<kGStride>(dx, qdq, sK, s_g, r0, cs * kColsK);\n";
  store("dk", "dx", "kColsK", "");
  // dv = (K^ o exp(b_L - b_i0)) G + A^T dO.
  if (!sliced)
    printValueGrad(store, "");
  // The log-decays' gradient: per key dim, the reverse cumulative sum of
  // q . dq - k . dk on top of the chunk end's term <G, S_next>_d =
  // exp(b_L) <G, S>_d + sum_s k_s . (w_s G v_s)_d.
  std::string c = name(op.getChunk());
  line() << "fg::cta::sync();  // every warp's terms and chunk-end shares\n";
  line() << "fg::cta::vector_gate_grad<kThreads, kChunk, kKeyDim, kGStride>("
         << base("dg", op.getBatch(), op.getHead()) << " + (long long)(" << c
         << ") * kChunk * dg_s2, dg_s2, " << name(op.getExtent()) << " - (int)(" << c
         << ") * kChunk, s_g, [&](int d) {\n";
  line() << "  float tail = " << decay("kChunk / 16", "-1", "d")
         << " * s_sg[d];\n";
  line() << "  for (int j = 0; j < kChunk / 16; ++j) tail += s_end[j * kKeyDim + d];\n";
  line() << "  return tail;\n";
  line() << "});\n";
  return success();
}

void LinearKernelPrinter::printGradientRowsParameters(ParameterList &sep, StringRef elem) {
  if (normalizer) {
    printTensorOrRows(sep, "grad_do", elem, false, 4);
    printTensorParameter(sep, result.arguments, "grad_dqn", "float", false, 4);
    return;
  }
  printTensorOrRows(sep, "dout", elem, false, 4);
  result.arguments.back().name = "do";
}

void LinearKernelPrinter::printTensorOrRows(ParameterList &sep, StringRef tensorName,
                                            StringRef type, bool output, int rank) {
  if (packedQueries && llvm::is_contained(queryTensors, tensorName)) {
    printRowsParameter([&]() -> llvm::raw_ostream & { return sep(); }, tensorName, output);
    return;
  }
  printTensorParameter(sep, result.arguments, tensorName, type, output, rank);
}

std::string LinearKernelPrinter::gradChunkSignature() {
  ParameterList sep;
  std::string elem = kernel.getSymName().str() + "_k::Elem";
  auto tensor = [&](StringRef tensorName, StringRef type, bool output, int rank) {
    printTensorOrRows(sep, tensorName, type, output, rank);
  };
  tensor("q", elem, false, 4);
  tensor("k", elem, false, 4);
  tensor("v", elem, false, 4);
  printGradientRowsParameters(sep, elem);
  if (vectorGate)
    tensor("g", "float", false, 4);
  for (unsigned i = 0; i < rawGates; ++i)
    tensor(gateTensor(i), "float", false, 3);
  tensor("chunk_c", elem, false, 5);
  tensor("chunk_dc", elem, false, 5);
  if (normalizer) {
    tensor("chunk_n", "float", false, 4);
    tensor("chunk_dn", "float", false, 4);
  }
  if (stabilizer) {
    tensor("chunk_m", "float", false, 3);
    tensor("chunk_dm", "float", false, 3);
  }
  tensor("dq", elem, true, 4);
  tensor("dk", elem, true, 4);
  tensor("dv", elem, true, 4);
  if (vectorGate)
    tensor("dg", "float", true, 4);
  for (unsigned i = 0; i < rawGates; ++i)
    tensor("d" + gateTensor(i), "float", true, 3);
  // mlstm_exp: chunk 0's CTA writes the initial stabiliser's gradient.
  if (stabilizer && cast<BoolAttr>(kernel.getProblem().get("initial_state")).getValue())
    printTensorParameter(sep, result.arguments, "dm0", "float", true, 2);
  if (packedQueries)
    printSequenceParameters([&]() -> llvm::raw_ostream & { return sep(); });
  printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
  return sep.text();
}

/// The generated kernel's first lines: where it comes from, its schedule,
/// the device headers it includes (result.headers, set first), and the
/// opening of its constants' namespace with Elem.
std::string LinearKernelPrinter::preamble() {
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName() << " ("
    << problemString("op") << ", variant " << problemInt("variant") << ", "
    << stringifyKernelFamily(family) << ", gate " << stringifyGateKind(gate) << ").\n"
    << "// Schedule: " << kernel.getSchedule() << "\n";
  for (const std::string &path : result.headers)
    h << "#include \"" << path << "\"\n";
  h << "\nnamespace " << kernel.getSymName() << "_k {\n\n"
    << "using Elem = " << elementTypeName(elementType) << ";\n";
  return text;
}

std::string LinearKernelPrinter::gradChunkHeader() {
  double scale = cast<FloatAttr>(kernel.getProblem().get("scale")).getValueAsDouble();
  std::string text = preamble();
  llvm::raw_string_ostream h(text);
  h << "constexpr int kKeyDim = " << gradShape.keyDim << ";\n"
    << "constexpr int kValueDim = " << gradShape.valueDim << ";\n"
    << "constexpr int kChunk = " << gradShape.chunk << ";    // L: steps per chunk\n"
    << "// Each 16 rows of the chunk have kColSplit warps, each a slice of the\n"
    << "// columns: kColsA of A and dP, kColsK of dq and dk, kColsV of dv.\n"
    << "constexpr int kColSplit = " << gradShape.columnSplit << ";\n"
    << "constexpr int kColsA = kChunk / kColSplit;\n"
    << "constexpr int kColsK = kKeyDim / kColSplit;\n"
    << "// v, dO and the two states are staged kValueSlice value columns at a\n"
    << "// time (kValueSlices passes; 1: the whole of Dv).\n"
    << "constexpr int kValueSlice = " << gradShape.valueSlice << ";\n"
    << "constexpr int kValueSlices = kValueDim / kValueSlice;\n"
    << "static_assert(kValueSlices * kValueSlice == kValueDim, \"whole value slices\");\n"
    << "constexpr int kColsV = kValueSlice / kColSplit;\n"
    << "constexpr int kWarps = " << gradChunkWarps(gradShape) << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n"
    << "// The rows' ring: " << (gradShape.rowStages > 1 ? "the persistent rounds' two stages"
                                                         : "one stage, one chunk a CTA")
    << ".\n"
    << "constexpr int kRowStages = " << gradShape.rowStages << ";\n";
  if (scalarGates)
    h << "constexpr int kGateRows = (kChunk + 31) / 32;  // chunk rows per lane in gate "
         "scans\n"
      << "constexpr int kRawGates = " << rawGates << ";\n";
  if (vectorGate)
    h << "constexpr int kGStride = " << gradGateTileStride(gradShape.keyDim)
      << ";  // floats between the f32 g tile's rows\n";
  if (normalizer)
    h << "constexpr int kDqnCols = " << gradShape.dqnCols
      << ";  // floats a row of grad_rows' output: dN"
      << (stabilizer ? ", dm" : "") << "\n"
      << "constexpr int kSmemDqn = " << gradPlan.dqn << ";\n"
      << "constexpr int kSmemNormRows = " << gradPlan.normRows
      << ";  // dN [L], n [Dk], G's n part [Dk], k . dk [split][L]"
      << (stabilizer ? ", mu and src [2][L], dm [L], e [L]" : "") << "\n"
      << "static_assert(kSmemNormRows - kSmemDqn >= kRowStages * kChunk * kDqnCols * 4 && "
      << gradPlan.total << " - kSmemNormRows >= (kChunk + 2 * kKeyDim + kColSplit * kChunk"
      << (stabilizer ? " + 4 * kChunk" : "") << ") * 4, "
      << "\"normaliser buffers overlap\");\n";
  h << "constexpr float kScale = " << floatLiteral(scale) << ";\n"
    << "using QTile = fg::smem_tile<Elem, kChunk, kKeyDim>;\n"
    << "using VTile = fg::smem_tile<Elem, kChunk, kValueSlice>;\n"
    << "using CTile = fg::smem_tile<Elem, kKeyDim, kValueSlice>;\n"
    << "using PTile = fg::smem_tile<Elem, kChunk, kChunk>;\n"
    << "using QRing = fg::smem_ring<QTile, kRowStages>;\n"
    << "using VRing = fg::smem_ring<VTile, kRowStages>;\n"
    << "// Shared memory (schedule/ChunkLayout.h's gradChunkSmemPlan).\n"
    << "constexpr int kSmemQ = " << gradPlan.q << ";\n"
    << "constexpr int kSmemK = " << gradPlan.k << ";\n"
    << "constexpr int kSmemV = " << gradPlan.v << ";\n"
    << "constexpr int kSmemDO = " << gradPlan.dout << ";\n"
    << "constexpr int kSmemS = " << gradPlan.state << ";\n"
    << "constexpr int kSmemDC = " << gradPlan.dstate << ";\n"
    << "constexpr int kSmemA = " << gradPlan.a << ";\n"
    << "constexpr int kSmemDP = " << gradPlan.dp << ";\n"
    << "constexpr int kSmemG = " << gradPlan.gtile << ";  // vector gates' f32 g tile\n"
    << "constexpr int kSmemGates = " << gradPlan.gates << ";\n"
    << "constexpr int kSmemRows = " << gradPlan.rows << ";\n"
    << "constexpr int kSmemBytes = " << gradPlan.total << ";\n"
    << "static_assert(kSmemK - kSmemQ >= kRowStages * QTile::kBytes &&\n"
    << "              kSmemV - kSmemK >= kRowStages * QTile::kBytes &&\n"
    << "              kSmemDO - kSmemV >= kRowStages * VTile::kBytes &&\n"
    << "              kSmemS - kSmemDO >= kRowStages * VTile::kBytes &&\n"
    << "              kSmemDC - kSmemS >= CTile::kBytes && kSmemA - kSmemDC >= CTile::kBytes &&\n"
    << "              kSmemDP - kSmemA >= PTile::kBytes && kSmemG - kSmemDP >= PTile::kBytes &&\n"
    << "              kSmemGates - kSmemG >= " << (vectorGate ? "kChunk * kGStride * 4" : "0")
    << " &&\n"
    << "              kSmemBytes - kSmemRows >= (2 * kColSplit * kChunk + 32) * 4, \"buffers overlap\");\n"
    << "static_assert(kColsA % 16 == 0 && kColsK % 16 == 0 && kColsV % 16 == 0,\n"
    << "              \"whole 16-column MMA tiles per warp\");\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

LogicalResult LinearKernelPrinter::printNormalizerGradRows(NormalizerGradRowsOp op) {
  std::string row0 = "(long long)(" + name(op.getChunk()) + ") * kChunk";
  line() << "fg::cta::normalizer_grad_rows<kThreads, kChunk, kValueDim, "
         << (stabilizer ? "true" : "false") << ">("
         << base("o", op.getBatch(), op.getHead()) << " + " << row0 << " * o_s2, o_s2, "
         << base("dout", op.getBatch(), op.getHead()) << " + " << row0 << " * dout_s2, dout_s2, "
         << base("norm", op.getBatch(), op.getHead()) << " + " << row0
         << " * norm_s2, norm_s2, norm_s3, " << base("grad_do", op.getBatch(), op.getHead())
         << " + " << row0 << " * grad_do_s2, grad_do_s2, "
         << base("grad_dqn", op.getBatch(), op.getHead()) << " + " << row0
         << " * grad_dqn_s2, grad_dqn_s2, grad_dqn_s3, (int)(" << name(op.getExtent()) << " - "
         << row0 << "), kEps);\n";
  return success();
}

std::string LinearKernelPrinter::gradRowsSignature() {
  ParameterList sep;
  std::string elem = kernel.getSymName().str() + "_k::Elem";
  auto tensor = [&](StringRef tensorName, StringRef type, bool output, int rank) {
    printTensorOrRows(sep, tensorName, type, output, rank);
  };
  // The forward's o and rows' normalisers and dO in; dO / den and the
  // rows' normaliser gradients out.
  tensor("o", elem, false, 4);
  tensor("dout", elem, false, 4);
  result.arguments.back().name = "do";
  tensor("norm", "float", false, 4);
  tensor("grad_do", elem, true, 4);
  printTensorParameter(sep, result.arguments, "grad_dqn", "float", true, 4);
  if (packedQueries)
    printSequenceParameters([&]() -> llvm::raw_ostream & { return sep(); });
  printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
  return sep.text();
}

FailureOr<EmittedKernel> LinearKernelPrinter::printGradRowsKernel() {
  double eps = cast<FloatAttr>(kernel.getProblem().get("eps")).getValueAsDouble();
  // Memory-bound row work: 4 warps, a warp a row at a time.
  constexpr int kWarps = 4;
  result.threads = kWarps * 32;
  result.dynamicSmemBytes = 0;
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  for (const char *path : kChunkHeaders)
    result.headers.push_back(path);
  result.headers.push_back(kGradHeader);
  std::string params = gradRowsSignature();
  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  if (failed(printBlock(kernel.getBody().front())))
    return failure();
  std::string text = preamble();
  llvm::raw_string_ostream h(text);
  h << "constexpr int kValueDim = " << problemInt("value_dim") << ";\n"
    << "constexpr int kChunk = " << kernel.getSchedule().getChunk()
    << ";    // rows a CTA (the gradient's chunk)\n"
    << "constexpr int kThreads = " << result.threads << ";\n"
    << "constexpr int kSmemBytes = 0;  // row by row from global memory\n"
    << "static_assert(kSmemBytes == 0 && kValueDim % 2 == 0, \"whole column pairs, no tiles\");\n"
    << "constexpr float kEps = " << floatLiteral(eps) << ";\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  result.source = text + kernelDefinition(std::to_string(result.threads), result.entry, params,
                                          body);
  return result;
}

LogicalResult LinearKernelPrinter::printKernelOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ChunkLoadOp>([&](auto load) { return printChunkLoad(load); })
      .Case<NormalizerGradRowsOp>([&](auto rows) { return printNormalizerGradRows(rows); })
      .Case<TileCommitOp>([&](auto) {
        line() << "fg::cta::commit();\n";
        return success();
      })
      .Case<TileWaitOp>([&](TileWaitOp wait) {
        line() << "fg::cta::wait<" << wait.getPending() << ">();\n";
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<BarrierOp>([&](auto) {
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<GateFetchOp>([&](GateFetchOp fetch) -> LogicalResult {
        if (!scalarGates)
          return fetch.emitError() << "gate_fetch needs a scalar gate kind";
        line() << "if (warp == 0) {\n";
        for (unsigned i = 0; i < rawGates; ++i) {
          std::string t = gateTensor(i);
          line() << "  fg::warp::fetch_gate_rows<kChunk, kGateRows>(gate_raw[" << i
                 << "], " << base(t, fetch.getBatch(), fetch.getHead()) << ", " << t
                 << "_s2, (" << name(fetch.getChunk()) << ") * kChunk, "
                 << name(fetch.getExtent()) << ");\n";
        }
        line() << "}\n";
        return success();
      })
      .Case<ChunkGatesOp>([&](auto gates) { return printChunkGates(gates); })
      .Case<StateInitOp>([&](auto init) { return printStateInit(init); })
      .Case<StateStoreOp>([&](auto store) { return printStateStore(store); })
      .Case<ChunkInterOp>([&](auto inter) { return printInter(inter); })
      .Case<ChunkScoresOp>([&](auto scores) { return printScores(scores); })
      .Case<DecayMapOp>([&](auto map) { return printDecayMap(map); })
      .Case<ChunkAccumulateOp>([&](auto acc) { return printAccumulate(acc); })
      .Case<ChunkScoresStoreOp>([&](auto store) { return printScoresStore(store); })
      .Case<ChunkGatesStoreOp>([&](auto store) { return printGatesStore(store); })
      .Case<ChunkStagedAccumulateOp>(
          [&](auto acc) { return printStagedAccumulate(acc); })
      .Case<ChunkStoreOp>([&](auto store) { return printStore(store); })
      .Case<StateUpdateOp>([&](auto update) { return printStateUpdate(update); })
      .Case<ChunkL2NormOp>([&](auto norm) { return printL2Norm(norm); })
      .Case<ChunkFeatureMapOp>([&](auto map) { return printFeatureMap(map); })
      .Case<ChunkExtraLoadOp>([&](auto load) { return printExtraLoad(load); })
      .Case<ChunkExtraReadOp>([&](auto read) { return printExtraRead(read); })
      .Case<ChunkDeltaOp>([&](auto d) { return printDelta(d); })
      .Case<ChunkWYOp>([&](auto wy) { return printWY(wy); })
      .Case<ChunkGradOp>([&](auto grad) { return printChunkGrad(grad); })
      .Case<ChunkGradStageOp>([&](auto stage) { return printChunkGradStage(stage); })
      .Case<ChunkRoundsOp>([&](auto rounds) { return printChunkRounds(rounds); })
      .Default([&](Operation *other) {
        return other->emitError() << "the CUDA emitter has no printing for '"
                                  << other->getName() << "' in a "
                                  << stringifyKernelFamily(family) << " kernel";
      });
}

std::string LinearKernelPrinter::signature() {
  ParameterList sep;
  std::string elem = kernel.getSymName().str() + "_k::Elem";
  auto tensor = [&](StringRef tensorName, StringRef type, bool output, int rank) {
    printTensorOrRows(sep, tensorName, type, output, rank);
  };
  bool initial = cast<BoolAttr>(kernel.getProblem().get("initial_state")).getValue();
  bool final = cast<BoolAttr>(kernel.getProblem().get("final_state")).getValue();
  if (gradStates) {
    // q and dO ("do" in the manifest), the gates, the final state's
    // gradient in, the initial state's out, the state gradients' scratch.
    // The normaliser kinds read dO / den and the rows' normaliser
    // gradients (linear_grad_rows') instead of dO, carry n's part of the
    // gradient beside C's and write it to chunk_dn (and dn0).
    tensor("q", elem, false, 4);
    printGradientRowsParameters(sep, elem);
    if (vectorGate)
      tensor("g", "float", false, 4);
    for (unsigned i = 0; i < rawGates; ++i)
      tensor(gateTensor(i), "float", false, 3);
    const bool finalGrad = cast<BoolAttr>(kernel.getProblem().get("final_grad")).getValue();
    if (finalGrad) {
      printTensorParameter(sep, result.arguments, "dcf", "float", false, 4);
      if (normalizer)
        printTensorParameter(sep, result.arguments, "dnf", "float", false, 3);
      if (stabilizer)
        printTensorParameter(sep, result.arguments, "dmf", "float", false, 2);
    }
    if (initial) {
      printTensorParameter(sep, result.arguments, "dc0", "float", true, 4);
      if (normalizer)
        printTensorParameter(sep, result.arguments, "dn0", "float", true, 3);
    }
    if (stabilizer) {
      // mlstm_exp: the state pass's stabilisers (each chunk's scan starts
      // from its own), and with a final-state gradient the final state
      // (C_T, n_T: the final stabiliser's gradient reads them).
      tensor("chunk_m", "float", false, 3);
      if (finalGrad) {
        tensor("chunk_c", elem, false, 5);
        tensor("chunk_n", "float", false, 4);
      }
    }
    tensor("chunk_dc", elem, true, 5);
    if (normalizer)
      tensor("chunk_dn", "float", true, 4);
    if (stabilizer)
      tensor("chunk_dm", "float", true, 3);
    if (packedQueries)
      printSequenceParameters([&]() -> llvm::raw_ostream & { return sep(); });
    printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
    return sep.text();
  }
  if (scoresPrepass) {
    // q, k and the gates in; every chunk's P out.
    tensor("q", elem, false, 4);
    tensor("k", elem, false, 4);
    for (unsigned i = 0; i < rawGates; ++i)
      tensor(gateTensor(i), "float", false, 3);
    tensor("scores", elem, true, 4);
    if (scalarGates)
      tensor("score_gates", "float", true, 4);
    if (scalarGates && normalizer)
      tensor("score_key_sums", "float", true, 4);
    printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
    return sep.text();
  }
  // delta_prepare reads q for its row norms (l2norm_qk).
  if (queries || (deltaPrepare && l2normQk))
    tensor("q", elem, false, 4);
  tensor("k", elem, false, 4);
  // The delta rule's recurrence reads its values as U from scratch.
  if (!delta)
    tensor("v", elem, false, 4);
  if (deltaPrepare) {
    Type betaType = cast<TypeAttr>(kernel.getProblem().get("beta_type")).getValue();
    tensor("beta", elementTypeName(betaType), false, 3);
  }
  if (vectorGate)
    tensor("g", "float", false, 4);
  for (unsigned i = 0; i < rawGates; ++i)
    tensor(gateTensor(i), "float", false, 3);
  bool ownsRecurrence =
      family != KernelFamily::linear_outputs && family != KernelFamily::delta_prepare;
  if (initial && ownsRecurrence)
    printStateParameters(sep, result.arguments, false, normalizer, stabilizer);
  if (queries) {
    tensor("o", elem, true, 4);
    // The normaliser kinds' rows' N_r and floor_r (optional: the
    // gradient reads them, docs/semantics.md §4.6).
    if (normalizer)
      tensor("norm", "float", true, 4);
  }
  if (final && ownsRecurrence)
    printStateParameters(sep, result.arguments, true, normalizer, stabilizer);
  if (family == KernelFamily::linear_states || family == KernelFamily::linear_outputs) {
    // Chunk states: written by linear_states, read by linear_outputs.
    bool write = family == KernelFamily::linear_states;
    tensor("chunk_c", elemScratch ? StringRef(elem) : StringRef("float"), write, 5);
    if (normalizer)
      tensor("chunk_n", "float", write, 4);
    if (stabilizer)
      tensor("chunk_m", "float", write, 3);
  }
  if (stagedScores)
    tensor("scores", elem, false, 4);  // the pre-pass's P of every chunk
  if (stagedGates)
    tensor("score_gates", "float", false, 4);  // and its scanned gates
  if (stagedKeySums)
    tensor("score_key_sums", "float", false, 4);
  if (delta || deltaPrepare) {
    // The WY factors: written by delta_prepare, read by delta_fused.
    tensor("delta_w", elem, deltaPrepare, 4);
    tensor("delta_u", elem, deltaPrepare, 4);
    if (l2normQk)
      tensor("delta_norm", "float", deltaPrepare, 4);
  }
  // The tensors an output_mod or feature_map reads (flash.extra; none
  // without one).
  printExtraParameters(sep);
  if (packedQueries)
    printSequenceParameters([&]() -> llvm::raw_ostream & { return sep(); });
  printDimParameters([&]() -> llvm::raw_ostream & { return sep(); });
  return sep.text();
}

std::string LinearKernelPrinter::header() {
  double scale = cast<FloatAttr>(kernel.getProblem().get("scale")).getValueAsDouble();
  double eps = cast<FloatAttr>(kernel.getProblem().get("eps")).getValueAsDouble();

  std::string text = preamble();
  llvm::raw_string_ostream h(text);
  h << "constexpr int kKeyDim = " << shape.keyDim << ";\n"
    << "constexpr int kTileDv = " << shape.tileDv << ";   // value columns per CTA (of "
    << problemInt("value_dim") << ")\n"
    << "constexpr int kChunk = " << shape.chunk << ";    // L: steps per chunk\n";
  if (queries)
    h << "constexpr int kInnerQ = " << shape.innerQ << ";   // query rows per inner tile\n";
  // (Staged scores come whole: no inner key tiles.)
  if (queries && !stagedScores)
    h << "constexpr int kInnerK = " << shape.innerKv << ";   // keys per inner tile\n";
  h << "constexpr int kStages = " << shape.stages << ";\n"
    << "constexpr int kWarps = " << shape.warps << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n";
  if (queries)
    h << "constexpr int kWarpRows = kInnerQ / kWarps;   // query rows per warp\n";
  h << "constexpr int kStateRows = kKeyDim / kWarps;  // state rows (key dims) per warp\n";
  if (fetchesGates)
    h << "constexpr int kGateRows = (kChunk + 31) / 32;  // chunk rows per lane in gate "
         "scans\n"
      << "constexpr int kRawGates = " << rawGates << ";\n";
  if (queries || gradStates)
    h << "constexpr float kScale = " << floatLiteral(scale) << ";\n";
  if (queries && normalizer && !scoresPrepass)
    h << "constexpr float kEps = " << floatLiteral(eps) << ";\n";
  if (dqnCols > 0)
    h << "constexpr int kDqnCols = " << dqnCols << ";  // floats a row of grad_rows' output: dN"
      << (stabilizer ? ", dm" : "") << "\n";
  h << "using QTile = fg::smem_tile<Elem, kChunk, kKeyDim>;\n"
    << "using KTile = fg::smem_tile<Elem, kChunk, kKeyDim>;\n"
    << "using VTile = fg::smem_tile<Elem, kChunk, kTileDv>;\n"
    << "using CTile = fg::smem_tile<Elem, kKeyDim, kTileDv>;\n"
    << "using QRing = fg::smem_ring<QTile, kStages>;\n"
    << "using KRing = fg::smem_ring<KTile, kStages>;\n"
    << "using VRing = fg::smem_ring<VTile, kStages>;\n"
    << "// Shared memory (schedule/ChunkLayout.h): stage rings, g tile, 16-bit\n"
    << "// state copy, normaliser, gate buffers.\n"
    << "constexpr int kSmemQ = " << plan.q << ";\n"
    << "constexpr int kSmemK = " << plan.k << ";\n"
    << "constexpr int kSmemV = " << plan.v << ";\n"
    << "constexpr int kSmemG = " << plan.g << ";\n"
    << "constexpr int kSmemC = " << plan.state << ";\n"
    << "constexpr int kSmemN = " << plan.norm << ";\n"
    << "constexpr int kSmemGates = " << plan.gates << ";\n";
  if (dqnCols > 0)
    h << "constexpr int kSmemDqn = " << plan.dqn
      << ";  // the rows' normaliser gradients' ring\n"
      << "constexpr int kSmemDqnRows = " << plan.dqnRows << ";  // this chunk's, one column\n"
      << "static_assert(kSmemDqnRows - kSmemDqn >= kStages * kChunk * kDqnCols * 4 && "
         "kSmemG - kSmemDqnRows >= "
      << (stabilizer ? "(6 * kChunk + 32) * 4" : "kChunk * 4") << ", \"normaliser gradients overlap\");\n";
  if (delta)
    h << "constexpr int kSmemW = " << plan.w << ";  // the W ring\n"
      << "constexpr int kSmemRowNorms = " << plan.rowNorms << ";  // 1/|q_r|, 1/|k_r|\n"
      << "using WTile = fg::smem_tile<Elem, kChunk, kKeyDim>;\n"
      << "using WRing = fg::smem_ring<WTile, kStages>;\n"
      << "static_assert(kSmemRowNorms - kSmemW >= WRing::kBytes, \"w ring overlaps\");\n";
  if (deltaPrepare && l2normQk)
    h << "constexpr int kSmemRowNorms = " << plan.rowNorms << ";  // 1/|q_r|, 1/|k_r|\n";
  if (stagedScores)
    h << "// The scores pre-pass's P of each chunk, staged beside q, k and v.\n"
      << "constexpr int kSmemP = " << plan.scores << ";\n"
      << "using PTile = fg::smem_tile<Elem, kChunk, kChunk>;\n"
      << "using PRing = fg::smem_ring<PTile, kStages>;\n"
      << "static_assert(kSmemV <= kSmemP && kSmemP + PRing::kBytes <= kSmemG, \"p ring "
         "overlaps\");\n";
  if (stagedKeySums)
    h << "constexpr int kSmemKeySums = " << plan.keySums
      << ";  // the pre-pass's key sums, Dk f32 a stage\n"
      << "static_assert(kSmemKeySums + kStages * kKeyDim * 4 <= kSmemG, \"key sums overlap\");\n";
  if (shape.stagedExtras > 0)
    h << "// The output_mod's staged extras (passes/StagedExtras.h): per stage, "
      << shape.stagedExtras << " f32 tile(s) of kChunk rows.\n"
      << "constexpr int kSmemExtras = " << plan.extras << ";\n"
      << "constexpr int kExtraStride = " << stagedExtraRowFloats(shape.tileDv)
      << ";  // floats a row (tile_dv, padded)\n"
      << "constexpr int kExtraStageFloats = " << plan.extraStage / 4 << ";\n"
      << "static_assert(kSmemExtras + kStages * kExtraStageFloats * 4 <= kSmemG, \"staged "
         "extras overlap\");\n";
  if (deltaPrepare)
    h << "// The WY solve's buffers: beta, A and T in f32, T in the element type.\n"
      << "constexpr int kSmemDeltaBeta = " << plan.deltaBeta << ";\n"
      << "constexpr int kSmemDeltaA = " << plan.deltaA << ";\n"
      << "constexpr int kSmemDeltaT32 = " << plan.deltaT32 << ";\n"
      << "constexpr int kSmemDeltaT = " << plan.deltaT << ";\n"
      << "using TTile = fg::smem_tile<Elem, kChunk, kChunk>;\n"
      << "static_assert(kSmemDeltaT + TTile::kBytes <= " << plan.total
      << ", \"T tile overlaps\");\n";
  h << "constexpr int kSmemBytes = " << plan.total << ";\n"
    << "static_assert(kSmemQ <= kSmemK && kSmemK <= kSmemV && kSmemV <= kSmemG && "
       "kSmemG <= kSmemC &&\n"
    << "              kSmemC <= kSmemN && kSmemN <= kSmemGates && kSmemGates <= "
       "kSmemBytes, \"buffers out of order\");\n";
  if (queries)
    h << "static_assert(kSmemK - kSmemQ >= QRing::kBytes, \"q ring overlaps\");\n";
  h << "static_assert(kSmemV - kSmemK >= KRing::kBytes, \"k ring overlaps\");\n";
  // (linear_scores stages no values and keeps no state.)
  if (!scoresPrepass)
    h << "static_assert(kSmemG - kSmemV >= VRing::kBytes, \"v ring overlaps\");\n";
  if (queries && !scoresPrepass)
    h << "static_assert(kSmemN - kSmemC >= CTile::kBytes, \"state copy overlaps\");\n";
  if (queries)
    h << "static_assert(kWarpRows % 16 == 0, \"whole 16-row MMA tiles per warp\");\n";
  h << "static_assert(kStateRows % 16 == 0, \"whole 16-row state tiles per warp\");\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

FailureOr<EmittedKernel> LinearKernelPrinter::print() {
  family = kernel.getFamily();
  gradStates = family == KernelFamily::linear_grad_states;
  gradChunk = family == KernelFamily::linear_grad_chunk;
  gradRows = family == KernelFamily::linear_grad_rows;
  elemScratch = kernel.getSchedule().getAlgorithm() == Algorithm::chunk_grad;
  queries = family != KernelFamily::linear_states && !gradStates && !gradChunk;
  std::optional<GateKind> kind = kernel.getProblemGate();
  if (!kind)
    return kernel.emitError("recurrence kernel without a problem.gate");
  gate = *kind;
  scalarGates = gate == GateKind::decay || gate == GateKind::mlstm_exp ||
                gate == GateKind::mlstm_sig;
  vectorGate = gate == GateKind::vector;
  delta = family == KernelFamily::delta_fused;
  deltaPrepare = family == KernelFamily::delta_prepare;
  scoresPrepass = family == KernelFamily::linear_scores;
  stagedScores = family == KernelFamily::linear_fused &&
                 kernel.getSchedule().getAlgorithm() == Algorithm::chunk_scored;
  kernel.walk([&](GateFetchOp) { fetchesGates = true; });
  queries = queries && !deltaPrepare;
  if (auto norm = kernel.getProblem().getAs<BoolAttr>("l2norm_qk"))
    l2normQk = norm.getValue();
  normalizer = gate == GateKind::mlstm_exp || gate == GateKind::mlstm_sig;
  stagedGates = stagedScores && scalarGates;
  stagedKeySums = stagedGates && normalizer;
  stabilizer = gate == GateKind::mlstm_exp;
  rawGates = scalarGates ? LinearAttentionOp::getGateOperandCount(gate) : 0;
  // linear_grad_rows' output read by the two gradient kernels: each row's
  // normaliser gradient (mlstm_exp: and its stabiliser's).
  if (normalizer && (gradStates || gradChunk))
    dqnCols = normalizerGradColumns(stabilizer);
  findSequence();
  if (packedQueries) {
    // Packed sequences (flash.sequence): every row tensor the kernel reads
    // or writes (q, k, v, the gates and o; a gradient kernel's dO and row
    // gradients) is rows of the one packed batch; the gates and their
    // gradients are f32, [T, H] (scalar kinds) or [T, H, Dk] (vector).
    queryTensors = gradStates    ? std::vector<std::string>{"q", "dout"}
                   : gradChunk   ? std::vector<std::string>{"q", "k", "v", "dout", "dq",
                                                             "dk", "dv"}
                   : gradRows    ? std::vector<std::string>{"o", "dout", "norm", "grad_do"}
                   : deltaPrepare ? (l2normQk ? std::vector<std::string>{"q", "k", "v", "beta"}
                                              : std::vector<std::string>{"k", "v", "beta"})
                   // The delta rule's recurrence reads its values as U.
                   : delta       ? std::vector<std::string>{"q", "k", "o"}
                   : !queries    ? std::vector<std::string>{"k", "v"}
                                 : std::vector<std::string>{"q", "k", "v", "o"};
    if (normalizer && queries && !gradRows)
      queryTensors.push_back("norm");  // the forward's optional row normalisers
    if (deltaPrepare) {
      Type betaType = cast<TypeAttr>(kernel.getProblem().get("beta_type")).getValue();
      packedForms["beta"] = {elementTypeName(betaType), 2};
    }
    // The normaliser kinds' dO / den: rows the rows kernel writes and the
    // two gradient kernels read in dO's place.
    outputRowTensors = {"o", "norm", "dq", "dk", "dv"};
    // The normaliser kinds' rows' N_r and floor_r: [T, H, 2] packed, the
    // forward's optional output, the rows kernel's input.
    packedForms["norm"] = {"float", 3};
    optionalRowTensors = {"norm"};
    if (gradRows)
      outputRowTensors = {"grad_do"};
    if (normalizer && (gradStates || gradChunk))
      std::replace(queryTensors.begin(), queryTensors.end(), std::string("dout"),
                   std::string("grad_do"));
    keyTensors = {};
    lseWithQueries = false;
    // (The rows kernel reads no gates.)
    std::vector<std::string> gateRows;
    if (vectorGate && !gradRows)
      gateRows.push_back("g");
    for (unsigned i = 0; i < rawGates && !gradRows; ++i)
      gateRows.push_back(gateTensor(i));
    for (const std::string &g : gateRows) {
      queryTensors.push_back(g);
      packedForms[g] = {"float", vectorGate ? 3 : 2};
      if (gradChunk) {
        // The chunk kernel writes the gates' gradients.
        queryTensors.push_back("d" + g);
        outputRowTensors.push_back("d" + g);
        packedForms["d" + g] = {"float", vectorGate ? 3 : 2};
      }
    }
  }

  ScheduleAttr s = kernel.getSchedule();
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  if (gradChunk)
    return printGradChunkKernel(elementType);
  if (gradRows)
    return printGradRowsKernel();
  shape.elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  shape.keyDim = problemInt("key_dim");
  shape.tileDv = s.getTileDv();
  shape.chunk = s.getChunk();
  shape.innerQ = s.getInnerQ();
  shape.innerKv = s.getInnerKv();
  // linear_outputs (and linear_grad_rows) handles one chunk per CTA: one
  // stage.
  shape.stages = family == KernelFamily::linear_outputs ? 1 : s.getStages();
  shape.dqnCols = gradStates ? dqnCols : 0;
  shape.gradStabilizer = gradStates && stabilizer;
  shape.warps = s.getWarps();
  shape.vectorGate = vectorGate;
  shape.scalarGates = scalarGates;
  shape.normalizer = normalizer;
  shape.stabilizer = stabilizer;
  shape.queries = queries;
  shape.delta = delta;
  shape.stagedScores = stagedScores;
  if (scoresPrepass) {
    // One chunk a CTA (schedule/LinearCost.cpp's scoresPrepassShape).
    shape.stages = 1;
    shape.scoresPrepass = true;
  }
  // The staged output_mod reads' slots (flash-lower-kernels numbers them
  // from 0).
  kernel.walk([&](ChunkExtraLoadOp load) {
    shape.stagedExtras = std::max<int64_t>(shape.stagedExtras, load.getSlot() + 1);
  });
  if (deltaPrepare) {
    // One chunk of k and the whole v rows (schedule/LinearCost.cpp's
    // deltaPrepareShape).
    shape.tileDv = problemInt("value_dim");
    shape.stages = 1;
    shape.deltaPrepare = true;
  }
  plan = chunkSmemPlan(shape);
  result.threads = shape.warps * 32;
  result.dynamicSmemBytes = plan.total;
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  for (const char *path : kChunkHeaders)
    result.headers.push_back(path);
  if (delta || deltaPrepare)
    result.headers.push_back(kDeltaHeader);
  if (dqnCols > 0)
    result.headers.push_back(kGradHeader);
  std::string params = signature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  // delta_prepare uses warps only to scan scalar gates.
  if (!deltaPrepare || scalarGates)
    line() << "const int warp = int(threadIdx.x) / 32;\n";
  // delta_prepare and linear_scores hold no state.
  const bool carriesState = !deltaPrepare && !scoresPrepass;
  if (carriesState)
    line() << "const int srow0 = warp * kStateRows;  // this warp's state rows\n";
  line() << "fg::u8* const smem_p = fg::ptx::dynamic_smem();\n";
  line() << "const fg::u32 smem = fg::ptx::smem_addr(smem_p);\n";
  if (queries)
    line() << "const QRing sQ{smem + kSmemQ};\n";
  line() << "const KRing sK{smem + kSmemK};\n";
  if (!scoresPrepass)
    line() << "const VRing sV{smem + kSmemV};\n";
  if (queries && !scoresPrepass)
    line() << "const CTile sC{smem + kSmemC};  // 16-bit copy of the carried state\n";
  if (stagedScores)
    line() << "const PRing sP{smem + kSmemP};  // each chunk's P (the scores pre-pass's)\n";
  if (normalizer && !scoresPrepass)
    line() << "float* const s_norm = reinterpret_cast<float*>(smem_p + kSmemN);\n";
  if (scalarGates)
    line() << "float* const s_gates = reinterpret_cast<float*>(smem_p + kSmemGates);\n";
  if (shape.stagedExtras > 0)
    line() << "const float* const s_extras = reinterpret_cast<const float*>(smem_p + "
              "kSmemExtras);\n";
  if (dqnCols > 0) {
    line() << "float* const s_dqn_ring = reinterpret_cast<float*>(smem_p + kSmemDqn);\n";
    line() << "float* const s_dqn = reinterpret_cast<float*>(smem_p + kSmemDqnRows);\n";
    if (stabilizer) {
      line() << "float* const s_dmr = s_dqn + kChunk;        // the rows' stabiliser gradients\n";
      line() << "float* const s_stab = s_dmr + kChunk;       // [buffer][mu [L], src [L]]\n";
      line() << "float* const s_red = s_stab + 4 * kChunk;   // [32]\n";
      line() << "(void)s_red;  // (the final-state gradient's dots)\n";
    }
  }
  if (delta)
    line() << "const WRing sW{smem + kSmemW};  // the delta rule's W tiles\n";
  if ((delta || deltaPrepare) && l2normQk)
    line() << "float* const s_row_norms = reinterpret_cast<float*>(smem_p + kSmemRowNorms);"
              "  // [stage][L][2]: 1/|q_r|, 1/|k_r|\n";
  if (deltaPrepare) {
    line() << "float* const s_delta_beta = reinterpret_cast<float*>(smem_p + kSmemDeltaBeta);\n";
    line() << "float* const s_delta_a = reinterpret_cast<float*>(smem_p + kSmemDeltaA);\n";
    line() << "float* const s_delta_t = reinterpret_cast<float*>(smem_p + kSmemDeltaT32);\n";
  }
  if (vectorGate) {
    line() << "float* const s_g = reinterpret_cast<float*>(smem_p + kSmemG);\n";
    line() << "float* const s_tab_hi = reinterpret_cast<float*>(smem_p + kSmemGates);\n";
    line() << "float* const s_tab_lo = s_tab_hi + (kChunk / 16 + 1) * kKeyDim;\n";
  }
  if (carriesState)
    line() << "fg::acc_tile<kStateRows, kTileDv> st_c;  // the carried state C, f32\n";
  if (fetchesGates)
    line() << "float gate_raw[kRawGates][kGateRows];  // next chunk's raw gates (warp 0)\n";
  if (stagedKeySums)
    line() << "const float* const s_key_sums = reinterpret_cast<const float*>(smem_p + "
              "kSmemKeySums);\n";
  if (failed(printBlock(kernel.getBody().front())))
    return failure();

  std::string constants = header();
  // delta_prepare says one CTA an SM is enough: with the thread count
  // alone, ptxas (CUDA 13, sm_80) held its 2-warp form to 80 registers
  // and spilled; told the minimum, it takes 104 and spills nothing.
  // The gradient's one-stage state passes likewise (chunk 64, 4 warps: held
  // to 72 registers, 8 bytes spilled), and those of fewer than 4 warps
  // (GLA's, chunk 32, 2 warps, sm_80: held to 128, 8 bytes spilled). Its
  // two-stage 4-warp ones keep the thread count alone: told one CTA, ptxas
  // took 168 registers instead of 128 and left room for 3 CTAs an SM
  // instead of 4 (the measured first choice).
  // The normaliser's state-gradient pass too (tile_dv = 16, two stages,
  // 4 warps, sm_90a: 8 bytes spilled without it).
  // linear_scores likewise (inner_kv = 64, 4 warps, sm_90a: 96 registers
  // and 8 bytes spilled with the thread count alone), and chunk_scored's
  // fused loop (mlstm_sig, Dk = 128, tile_dv = 32, one stage, 4 warps,
  // sm_90a: held to 128 registers, 12 bytes spilled; its shared memory
  // leaves room for two or three CTAs an SM whatever ptxas takes).
  // mlstm_exp's gradient state pass at Dk = 256 as well (tile_dv = 32, two
  // stages, 4 warps, sm_90a: held to 168 registers, 4 bytes spilled; told
  // one CTA, 216 and none).
  const bool oneCta =
      deltaPrepare || scoresPrepass || stagedScores ||
      (elemScratch && (shape.stages == 1 || shape.warps < 4 ||
                       (stabilizer && shape.keyDim > 128))) ||
      (gradStates && dqnCols > 0);
  std::string bounds = std::to_string(result.threads) + (oneCta ? ", 1" : "");
  result.source = constants + kernelDefinition(bounds, result.entry, params, body);
  return result;
}

FailureOr<EmittedKernel> LinearKernelPrinter::printGradChunkKernel(Type elementType) {
  gradShape.elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  gradShape.keyDim = problemInt("key_dim");
  gradShape.valueDim = problemInt("value_dim");
  gradShape.chunk = kernel.getSchedule().getChunk();
  gradShape.valueSlice = gradValueSlice(gradShape.valueDim, kernel.getSchedule().getValueSlice());
  gradShape.columnSplit = gradColumnSplit(gradShape.keyDim, kernel.getSchedule().getTileD());
  gradShape.scalarGates = scalarGates;
  gradShape.vectorGate = vectorGate;
  gradShape.dqnCols = dqnCols;
  gradShape.stabilizer = stabilizer;
  gradShape.rowStages = gradRowStages(kernel.getSchedule().getPersistent());
  gradPlan = gradChunkSmemPlan(gradShape);
  gradValueSliced = gradValueSlices(gradShape) > 1;
  result.threads = gradChunkWarps(gradShape) * 32;
  result.dynamicSmemBytes = gradPlan.total;
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  for (const char *path : kChunkHeaders)
    result.headers.push_back(path);
  result.headers.push_back(kGradHeader);
  std::string params = gradChunkSignature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  line() << "const int warp = int(threadIdx.x) / 32;\n";
  line() << "const int r0 = (warp / kColSplit) * 16;  // this warp's rows of the chunk\n";
  line() << "const int cs = warp % kColSplit;          // and its column slice\n";
  line() << "fg::u8* const smem_p = fg::ptx::dynamic_smem();\n";
  line() << "const fg::u32 smem = fg::ptx::smem_addr(smem_p);\n";
  line() << "const QRing sQ_ring{smem + kSmemQ}, sK_ring{smem + kSmemK};\n";
  line() << "const VRing sV_ring{smem + kSmemV}, sDO_ring{smem + kSmemDO};\n";
  line() << "const CTile sS{smem + kSmemS}, sG{smem + kSmemDC};  // S, G (16-bit)\n";
  line() << "const PTile sA{smem + kSmemA}, sDP{smem + kSmemDP};\n";
  line() << "float* const s_rows = reinterpret_cast<float*>(smem_p + kSmemRows);\n";
  line() << "float* const s_red = s_rows + 2 * kColSplit * kChunk;\n";
  line() << "(void)s_red;\n";
  if (scalarGates) {
    line() << "float* const s_gates = reinterpret_cast<float*>(smem_p + kSmemGates);\n";
    line() << "float gate_raw[kRawGates][kGateRows];  // the chunk's raw gates (warp 0)\n";
  }
  if (normalizer) {
    line() << "float* const s_dqn_rows = reinterpret_cast<float*>(smem_p + kSmemDqn);  // dN (dm)\n";
    line() << "float* const s_dqn = reinterpret_cast<float*>(smem_p + kSmemNormRows);  // dN_r\n";
    line() << "float* const s_n = s_dqn + kChunk;       // n before the chunk\n";
    line() << "float* const s_gn = s_n + kKeyDim;       // G's n part\n";
    line() << "float* const s_kdk = s_gn + kKeyDim;     // [split][L]\n";
    if (stabilizer) {
      line() << "float* const s_stab = s_kdk + kColSplit * kChunk;  // mu [L], src [L]\n";
      line() << "float* const s_dm = s_stab + 2 * kChunk;   // the rows' stabiliser gradients\n";
      line() << "float* const s_e = s_dm + kChunk;          // their sums per source step\n";
    }
  }
  if (vectorGate) {
    line() << "float* const s_g = reinterpret_cast<float*>(smem_p + kSmemG);\n";
    line() << "float* const s_tab_hi = reinterpret_cast<float*>(smem_p + kSmemGates);\n";
    line() << "float* const s_tab_lo = s_tab_hi + (kChunk / 16 + 1) * kKeyDim;\n";
    line() << "float* const s_end = s_tab_lo + (kChunk / 16 + 1) * kKeyDim;  // [L/16][Dk]\n";
    line() << "float* const s_sg = s_end + (kChunk / 16) * kKeyDim;  // <S, G> per key dim\n";
  }
  if (failed(printBlock(kernel.getBody().front())))
    return failure();
  // One CTA an SM is what its shared memory allows at the sizes that
  // matter; told so, ptxas (CUDA 13, sm_80) stops holding the 4-warp form
  // to 80 registers, where it spilled 8 bytes.
  result.source = gradChunkHeader() + kernelDefinition(std::to_string(result.threads) + ", 1",
                                                       result.entry, params, body);
  return result;
}

} // namespace

FailureOr<EmittedKernel> mlir::flash::emitLinearKernel(KernelOp kernel) {
  return LinearKernelPrinter(kernel).print();
}
