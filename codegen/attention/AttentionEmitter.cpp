//===- AttentionEmitter.cpp - CUDA for the attention kernel family --------===//
//
// Prints `flash.kernel` ops of family "attention": the constants from the
// schedule and problem, the shared-memory plan, the accumulators, and the
// tile ops (loads, MMAs, score maps, online softmax, output store) as calls
// into the device tile library. Scalar code and loops come from
// ScalarPrinter.
//
// Algorithm "flash2" prints the mma.sync path (warp tiles, smem_tile);
// "flash3" prints the same IR on the sm_90a warpgroup path of wgmma.cuh:
// wg_tile operands with 128-byte-swizzle descriptors, S = Q K^T and
// O += P V as wgmma per warpgroup of 4 warps (64 query rows, 16 per warp),
// the score_map / softmax code unchanged on each warp's 16-row share.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelFamilies.h"
#include "codegen/ScalarPrinter.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/Flash3Layout.h"
#include "schedule/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;
namespace fs = flashgen::schedule;

namespace {

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
const fs::Target &portableTarget() { return **fs::lookupTarget("sm_80"); }
const fs::Target &hopperTarget() { return **fs::lookupTarget("sm_90"); }
/// Registers the attention kernels need per thread (accumulators of the
/// output and score tiles plus addressing); a register cap below this
/// spills, so the occupancy hint never forces one.
constexpr int64_t kRegistersNeeded = 232;

std::string AttentionKernelPrinter::tensorBase(StringRef tensor, Value batch,
                                      Value head) {
  return llvm::formatv("{0} + (long long)({1}) * {0}_s0 + (long long)({2}) * {0}_s1",
                       tensor, name(batch), name(head))
      .str();
}

LogicalResult AttentionKernelPrinter::printScoreMap(ScoreMapOp op) {
  Block &block = op.getBody().front();
  auto yield = cast<ScoreYieldOp>(block.getTerminator());
  bool identityScore = yield.getScore() == block.getArgument(0);
  auto visible = yield.getVisible().getDefiningOp<arith::ConstantIntOp>();
  bool alwaysVisible = visible && visible.value() != 0;
  if (identityScore && alwaysVisible) {
    line() << "// interior tile: no score_mod, no mask\n";
    return success();
  }
  std::string q0 = "(" + name(op.getQueryTile()) + ") * kTileQ + wrow0";
  std::string k0 = "(" + name(op.getKeyTile()) + ") * kTileK";
  line() << "fg::warp::for_each(s_tile, " << q0 << ", " << k0
         << ", [&](int i, int j, float& x) {\n";
  ++indent;
  names[block.getArgument(0)] = scoresModified ? "(x * kScale)" : "x";
  names[block.getArgument(1)] = name(op.getBatch());
  names[block.getArgument(2)] = name(op.getHead());
  names[block.getArgument(3)] = "i";
  names[block.getArgument(4)] = "j";
  for (Operation &inner : block.without_terminator())
    if (failed(printOp(&inner)))
      return failure();
  std::string score = name(yield.getScore());
  if (alwaysVisible)
    line() << "x = " << score << ";\n";
  else
    line() << "x = " << name(yield.getVisible()) << " ? " << score
           << " : fg::neg_inf();\n";
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult AttentionKernelPrinter::printKernelOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<TileLoadOp>([&](TileLoadOp load) -> LogicalResult {
        StringRef tensor = load.getTensor();
        bool isQuery = tensor == "q";
        if (producer) {
          // The producer warpgroup's loop does the loads: remember what they read.
          std::string base = tensorBase(tensor, load.getBatch(), load.getHead());
          if (isQuery) {
            std::string row0 = "(" + name(load.getRowTile()) + ") * " +
                               std::to_string(load.getRows());
            qSource = base + " + (long long)(" + row0 + ") * q_s2";
            qStride = "q_s2";
            qRows = name(load.getExtent()) + " - " + row0;
          } else {
            kvBase[tensor == "k" ? 0 : 1] = base;
            kvExtent = name(load.getExtent());
            line() << "(void)(" << name(load.getStage()) << "); // loaded by the producer warpgroup\n";
          }
          return success();
        }
        std::string tile = isQuery ? "sQ"
                                   : (tensor == "k" ? "sK" : "sV") +
                                         std::string(".stage(") +
                                         name(load.getStage()) + ")";
        std::string row0 = "(" + name(load.getRowTile()) + ") * " +
                           std::to_string(load.getRows());
        line() << (flash3 ? "fg::wg::load_async<kThreads>(" : "fg::cta::load_async<kThreads>(") << tile << ", "
               << tensorBase(tensor, load.getBatch(), load.getHead())
               << " + (long long)(" << row0 << ") * " << tensor.str()
               << "_s2, " << tensor.str() << "_s2, " << name(load.getExtent())
               << " - " << row0 << ");\n";
        return success();
      })
      .Case<TileCommitOp>([&](auto) {
        if (!producer)
          line() << "fg::cta::commit();\n";
        return success();
      })
      .Case<TileWaitOp>([&](TileWaitOp wait) {
        if (producer) // consumer_turn waits on the tile's mbarriers
          return success();
        // flash3: the landed copies are fenced for wgmma's async proxy too.
        line() << (flash3 ? "fg::wg::wait_tiles<" : "fg::cta::wait<") << wait.getPending() << ">();\n";
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<BarrierOp>([&](auto) {
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<TileMmaOp>([&](TileMmaOp mma) -> LogicalResult {
        std::string stage = name(mma.getStage());
        if (mma.getProduct() == "qk" && producer) {
          line() << "(void)(" << stage << "); // stage = tile_it % kStages\n";
          line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
          line() << (pipelined ? "fg::wg::consumer_turn_pipelined<kGroups, kPvN>("
                               : "fg::wg::consumer_turn<kGroups, kPvN>(")
                 << "s_tile, acc_o, p_tile, sQ, grow0, sK, sV, pipe, tile_it"
                 << (persistent ? ", tile_it > fg_first_it" : "") << ");\n";
          return success();
        }
        if (mma.getProduct() == "pv" && pipelined) {
          line() << "fg::wg::consumer_finish_turn(acc_o, p_tile, s_tile, rescale, pipe, tile_it); // P V in the next turn\n";
          line() << "++tile_it;\n";
          return success();
        }
        if (mma.getProduct() == "pv" && producer) {
          line() << "fg::warp::convert(p_tile, s_tile); // P V in the next turn\n";
          line() << "++tile_it;\n";
          return success();
        }
        if (mma.getProduct() == "qk" && flash3) {
          line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
          line() << "fg::wg::mma_ABt(s_tile, sQ, grow0, sK.stage(" << stage
                 << "));\n";
          return success();
        }
        if (mma.getProduct() == "pv" && flash3) {
          line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile;\n";
          line() << "fg::warp::convert(p_tile, s_tile);\n";
          line() << "fg::wg::mma_rAB<kPvN>(acc_o, p_tile, sV.stage(" << stage
                 << "));\n";
          return success();
        }
        if (mma.getProduct() == "qk") {
          line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
          line() << "fg::warp::zero(s_tile);\n";
          line() << "fg::warp::mma_ABt(s_tile, sQ, wrow0, sK.stage(" << stage
                 << "), 0);\n";
          return success();
        }
        if (mma.getProduct() == "pv") {
          line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile;\n";
          line() << "fg::warp::convert(p_tile, s_tile);\n";
          line() << "fg::warp::mma_rAB(acc_o, p_tile, sV.stage(" << stage
                 << "), 0, 0);\n";
          return success();
        }
        return mma.emitError() << "unknown tile product '" << mma.getProduct()
                               << "'";
      })
      .Case<ScoreMapOp>([&](ScoreMapOp map) { return printScoreMap(map); })
      .Case<SoftmaxUpdateOp>([&](auto) {
        if (pipelined) { // O is in flight: its rescale waits for consumer_finish_turn
          line() << "fg::wg::softmax_rescale<kWarpRows> rescale;\n";
          line() << "fg::wg::online_softmax_deferred(sm, s_tile, kSoftmaxScale, rescale);\n";
          return success();
        }
        line() << "fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale);\n";
        return success();
      })
      .Case<OutputStoreOp>([&](OutputStoreOp store) {
        std::string row0 =
            "(" + name(store.getRowTile()) + ") * kTileQ + wrow0";
        if (producer) {
          line() << "fg::wg::consumer_last_turn<kGroups, kPvN>(acc_o, p_tile, sV, pipe, tile_it"
                 << (persistent ? ", tile_it > fg_first_it, fg_tile + int(gridDim.x) >= fg_tiles"
                                : "")
                 << ");\n";
        } else {
          // Other threads' Q copies may still land in the rows store_rows
          // stages through (a CTA with no key tile never synced after them).
          line() << "fg::cta::wait<0>();\n";
          line() << "fg::cta::sync();\n";
        }
        line() << "fg::warp::finalize(sm, acc_o);\n";
        line() << (flash3 ? "fg::wg::store_rows(" : "fg::warp::store_rows(")
               << tensorBase(store.getTensor(), store.getBatch(),
                             store.getHead())
               << " + (long long)(" << row0 << ") * o_s2, o_s2, "
               << name(store.getExtent()) << " - (" << row0
               << "), acc_o, sQ, wrow0);\n";
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitError() << "the CUDA emitter has no printing for '"
                                  << other->getName() << "'";
      });
}

std::string AttentionKernelPrinter::signature() {
  std::string text;
  llvm::raw_string_ostream sig(text);
  bool first = true;
  auto sep = [&]() -> llvm::raw_ostream & {
    if (!first)
      sig << ",\n    ";
    first = false;
    return sig;
  };
  for (StringRef tensor : {"q", "k", "v", "o"}) {
    bool output = tensor == "o";
    sep() << (output ? "" : "const ") << kernel.getSymName() << "_k::Elem* __restrict__ " << tensor;
    for (int d = 0; d < 4; ++d)
      sep() << "long long " << tensor.str() << "_s" << d;
    result.arguments.push_back({KernelArgument::Kind::Tensor, tensor.str()});
  }
  // Every distinct dynamic-size name, in dims order (batch, queries, keys).
  std::vector<std::string> dims;
  for (Attribute attr : cast<ArrayAttr>(kernel.getProblem().get("dims"))) {
    std::string dim = cast<StringAttr>(attr).getValue().str();
    if (std::find(dims.begin(), dims.end(), dim) == dims.end())
      dims.push_back(dim);
  }
  for (const std::string &dim : dims) {
    sep() << "int dim_" << dim;
    result.arguments.push_back({KernelArgument::Kind::Symbol, dim});
  }
  return text;
}

std::string AttentionKernelPrinter::header() {
  ScheduleAttr s = kernel.getSchedule();
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  int64_t threads = s.getWarps() * 32;
  int64_t smemBytes = (s.getTileQ() * headDim +
                       s.getStages() * s.getTileKv() * (headDim + valueDim)) *
                      elementBytes;
  result.threads = threads;
  result.dynamicSmemBytes = smemBytes;
  double scale = cast<FloatAttr>(kernel.getProblem().get("scale")).getValueAsDouble();
  constexpr double kLog2e = 1.4426950408889634;

  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName()
    << " (" << problemString("op") << ", variant " << problemInt("variant")
    << ").\n"
    << "// Schedule: " << s << "\n"
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n\n"
    << "namespace " << kernel.getSymName() << "_k {\n\n"
    << "using Elem = " << elementTypeName(elementType) << ";\n"
    << "constexpr int kHeadDim = " << headDim << ";\n"
    << "constexpr int kValueDim = " << valueDim << ";\n"
    << "constexpr int kTileQ = " << s.getTileQ() << ";   // query rows per CTA\n"
    << "constexpr int kTileK = " << s.getTileKv() << ";    // keys per pipeline stage\n"
    << "constexpr int kStages = " << s.getStages() << ";\n"
    << "constexpr int kWarps = " << s.getWarps() << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n"
    << "constexpr int kWarpRows = kTileQ / kWarps; // query rows per warp\n"
    << (scoresModified ? "constexpr float kScale = " + floatLiteral(scale) +
                             ";  // applied before score_mod\n"
                       : std::string())
    << "// exp2 of (score * kSoftmaxScale) is the softmax numerator.\n"
    << "constexpr float kSoftmaxScale = "
    << floatLiteral(scoresModified ? kLog2e : scale * kLog2e) << ";\n"
    << "using QTile = fg::smem_tile<Elem, kTileQ, kHeadDim>;\n"
    << "using KTile = fg::smem_tile<Elem, kTileK, kHeadDim>;\n"
    << "using VTile = fg::smem_tile<Elem, kTileK, kValueDim>;\n"
    << "using KRing = fg::smem_ring<KTile, kStages>;\n"
    << "using VRing = fg::smem_ring<VTile, kStages>;\n"
    << "constexpr int kSmemQ = 0;\n"
    << "constexpr int kSmemK = kSmemQ + QTile::kBytes;\n"
    << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n"
    << "constexpr int kSmemBytes = kSmemV + VRing::kBytes;\n"
    << "static_assert(kSmemBytes == " << smemBytes
    << ", \"shared-memory plan differs from the schedule's\");\n"
    << "static_assert(kWarpRows % 16 == 0, \"a warp owns whole 16-row MMA tiles\");\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

/// The constants of a flash3 kernel: the flash2 set plus the warpgroup
/// shape, wgmma-swizzled tiles and 1 KiB of alignment slack in the plan.
std::string AttentionKernelPrinter::headerFlash3() {
  ScheduleAttr s = kernel.getSchedule();
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  int64_t threads = s.getWarps() * 32;
  int64_t smemBytes = fs::flash3SmemBytes(headDim, valueDim, elementBytes, toLibrary(s));
  result.threads = threads;
  result.dynamicSmemBytes = smemBytes;
  double scale = cast<FloatAttr>(kernel.getProblem().get("scale")).getValueAsDouble();
  constexpr double kLog2e = 1.4426950408889634;

  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName()
    << " (" << problemString("op") << ", variant " << problemInt("variant")
    << ").\n"
    << "// Schedule: " << s << "\n"
    << "// sm_90a warpgroup path (wgmma): " << s.getWarps() / 4 - (producer ? 1 : 0)
    << " warpgroup(s) of 64 query rows"
    << (producer ? " and a producer warpgroup (cp.async, mbarriers).\n" : ".\n")
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n"
    << "#if !defined(FG_HAVE_WGMMA)\n"
    << "#error \"algorithm flash3 needs wgmma: compile for sm_90a\"\n"
    << "#endif\n\n"
    << "namespace " << kernel.getSymName() << "_k {\n\n"
    << "using Elem = " << elementTypeName(elementType) << ";\n"
    << "constexpr int kHeadDim = " << headDim << ";\n"
    << "constexpr int kValueDim = " << valueDim << ";\n"
    << "constexpr int kTileQ = " << s.getTileQ() << ";   // query rows per CTA\n"
    << "constexpr int kTileK = " << s.getTileKv() << ";    // keys per pipeline stage\n"
    << "constexpr int kStages = " << s.getStages() << ";\n"
    << "constexpr int kWarps = " << s.getWarps() << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n"
    << (producer ? "constexpr int kConsumerWarps = kWarps - 4; // the last warpgroup is the producer\n"
                   "constexpr int kGroups = kConsumerWarps / 4;  // consumer warpgroups\n"
                   "constexpr int kWarpRows = kTileQ / kConsumerWarps; // 16: a warp's share of its warpgroup's rows\n"
                 : "constexpr int kWarpRows = kTileQ / kWarps; // 16: a warp's share of its warpgroup's rows\n")
    << "constexpr int kGroupRows = 4 * kWarpRows;  // 64: the warpgroup's rows (wgmma M)\n"
    << "constexpr int kPvN = " << s.getInnerKv()
    << ";  // columns per O += P V wgmma (0: all of kValueDim)\n"
    << (producer ? producerRegisterBudget() : std::string())
    << (pipelined ? "// inner_q = 1: each warpgroup's softmax overlaps its own P V of the previous tile.\n"
                  : "")
    << (scoresModified ? "constexpr float kScale = " + floatLiteral(scale) +
                             ";  // applied before score_mod\n"
                       : std::string())
    << "// exp2 of (score * kSoftmaxScale) is the softmax numerator.\n"
    << "constexpr float kSoftmaxScale = "
    << floatLiteral(scoresModified ? kLog2e : scale * kLog2e) << ";\n"
    << "using QTile = fg::wg_tile<Elem, kTileQ, kHeadDim>;\n"
    << "using KTile = fg::wg_tile<Elem, kTileK, kHeadDim>;\n"
    << "using VTile = fg::wg_tile<Elem, kTileK, kValueDim>;\n"
    << "using KRing = fg::smem_ring<KTile, kStages>;\n"
    << "using VRing = fg::smem_ring<VTile, kStages>;\n"
    << (persistent ? "using QRing = fg::smem_ring<QTile, 2>;  // persistent: Q of this and the next tile\n"
                   : "")
    << "constexpr int kSmemQ = 0;\n"
    << (persistent ? "constexpr int kSmemK = kSmemQ + QRing::kBytes;\n"
                   : "constexpr int kSmemK = kSmemQ + QTile::kBytes;\n")
    << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n"
    << (persistent ? "using Pipe = fg::wg::pipe<kStages, kConsumerWarps, 2>;\n"
                     "constexpr int kSmemBar = kSmemV + VRing::kBytes;\n"
                     "constexpr int kSmemBytes = kSmemBar + Pipe::kBytes + fg::wg::kSmemAlign;\n"
        : producer ? "using Pipe = fg::wg::pipe<kStages, kConsumerWarps>;\n"
                   "constexpr int kSmemBar = kSmemV + VRing::kBytes;\n"
                   "constexpr int kSmemBytes = kSmemBar + Pipe::kBytes + fg::wg::kSmemAlign;\n"
                 : "constexpr int kSmemBytes = kSmemV + VRing::kBytes + fg::wg::kSmemAlign;\n")
    << "static_assert(kSmemBytes == " << smemBytes
    << ", \"shared-memory plan differs from the schedule's\");\n"
    << (producer ? "static_assert(kWarpRows == 16 && kConsumerWarps % 4 == 0, \"warpgroups of 4 warps, 16 rows per warp\");\n"
                   "static_assert(kThreads == kConsumerWarps * 32 + fg::wg::kProducerThreads, \"one producer warpgroup\");\n\n"
                 : "static_assert(kWarpRows == 16 && kWarps % 4 == 0, \"warpgroups of 4 warps, 16 rows per warp\");\n\n")
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

/// What the flash3 kernel shape supports: the rules of
/// schedule/Flash3Layout.h, which the scheduler's checker applies too.
LogicalResult AttentionKernelPrinter::checkFlash3Schedule() {
  ScheduleAttr s = kernel.getSchedule();
  Type elementType = cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
  if (!elementType.isBF16() && !elementType.isF16())
    return kernel.emitError() << "flash3 schedule " << s
                              << ": wgmma takes bf16 or f16 operands";
  std::vector<std::string> broken = fs::flash3Violations(
      problemInt("head_dim"), problemInt("value_dim"),
      elementType.getIntOrFloatBitWidth() / 8, toLibrary(s), hopperTarget().smemPerCTA);
  if (!broken.empty())
    return kernel.emitError() << "flash3 schedule " << s << ": " << broken.front();
  return success();
}

/// setmaxnreg budgets of the producer and the consumer warpgroups
/// (schedule/Flash3Layout.h; 0: keep the launch's registers).
std::string AttentionKernelPrinter::producerRegisterBudget() {
  fs::RegisterSplit split =
      fs::flash3RegisterSplit(toLibrary(kernel.getSchedule()), problemInt("head_dim"));
  return "constexpr int kProducerRegs = " + std::to_string(split.producer) +
         ";  // setmaxnreg budgets (0: the launch's)\n"
         "constexpr int kConsumerRegs = " + std::to_string(split.consumer) + ";\n";
}

/// Where the key loops begin: the producer warpgroup's whole job (Q, then K and V
/// of every key tile of [first's lower bound, last's upper bound)), then the
/// consumers' start. The loads seen so far (Q, the prologue's K and V) said
/// what to read.
LogicalResult AttentionKernelPrinter::printProducerSplit(scf::ForOp first,
                                                         scf::ForOp last) {
  if (qSource.empty() || kvBase[0].empty() || kvBase[1].empty())
    return kernel.emitError("flash3 producer kernel: Q, K and V loads must "
                            "precede the key loops");
  std::string lo = name(first.getLowerBound()), hi = name(last.getUpperBound());
  if (lo.empty() || hi.empty())
    return kernel.emitError("flash3 producer kernel: key range not printed yet");
  line() << "if (fg::wg::is_producer<kConsumerWarps>()) { // producer warpgroup: Q, then K/V tile by tile\n";
  ++indent;
  line() << "fg::wg::producer_registers<kProducerRegs>();\n";
  line() << "fg::wg::producer_q<kConsumerWarps>(sQ, " << qSource << ", " << qStride << ", " << qRows << ");\n";
  line() << "for (int t = " << lo << "; t < " << hi << "; ++t) {\n";
  ++indent;
  line() << "const int it = t - " << lo << ";\n";
  for (int i = 0; i < 2; ++i) {
    const char *tensor = i == 0 ? "k" : "v";
    line() << "fg::wg::producer_" << tensor << "(pipe, s" << (i == 0 ? "K" : "V") << ", it, "
           << kvBase[i] << " + (long long)(t * kTileK) * " << tensor << "_s2, " << tensor
           << "_s2, " << kvExtent << " - t * kTileK);\n";
  }
  --indent;
  line() << "}\n";
  line() << "fg::wg::producer_flush(pipe, fg::imax(" << hi << " - " << lo << ", 0));\n";
  --indent;
  line() << "} else { // consumer warpgroups\n";
  ++indent;
  line() << "fg::wg::consumer_registers<kConsumerRegs>();\n";
  line() << "fg::wg::wait_q(pipe);\n";
  line() << "fg::wg::turns_start<kGroups>();\n";
  return success();
}

/// The persistent producer kernel (wgmma_pipe.cuh, "persistent grid"):
///   if (producer) { for each of this CTA's query tiles: the tile's ids and
///                   key range; Q into its buffer; K and V of every key tile }
///   else          { for each: ids and key range; wait for Q; the key loops
///                   and the epilogue the IR holds; release Q's buffer }
/// The ops before the key loops (grid ids, key range) are printed once and
/// placed in both branches; the grid becomes one CTA per SM.
LogicalResult AttentionKernelPrinter::printPersistent(scf::ForOp first,
                                                      scf::ForOp last) {
  auto grid = *kernel.getBody().front().getOps<GridMapOp>().begin();
  std::string tiles;
  std::string gridExtent;
  for (Attribute extent : grid.getExtents()) {
    StringRef text = cast<StringAttr>(extent).getValue();
    tiles += (tiles.empty() ? "(" : " * (") + extentToCpp(text) + ")";
    gridExtent += (gridExtent.empty() ? "" : "*") + ("(" + text + ")").str();
  }
  line() << "const Pipe pipe{smem + kSmemBar};\n";
  line() << "fg::wg::init(pipe); // mbarriers; the last CTA-wide barrier\n";
  line() << "const int fg_tiles = " << tiles << "; // query tiles of the whole launch\n";

  // The per-tile prologue and the consumers' part, printed once each.
  persistentTile = "fg_tile";
  indent += 2;
  size_t mark = body.size();
  Block &block = kernel.getBody().front();
  auto it = block.begin();
  for (; &*it != first.getOperation(); ++it)
    if (failed(printOp(&*it)))
      return failure();
  std::string prologue = body.substr(mark);
  body.resize(mark);
  if (qSource.empty() || kvBase[0].empty() || kvBase[1].empty())
    return kernel.emitError("flash3 persistent kernel: Q, K and V loads must "
                            "precede the key loops");
  std::string lo = name(first.getLowerBound()), hi = name(last.getUpperBound());
  for (; it != block.end(); ++it)
    if (failed(printOp(&*it)))
      return failure();
  std::string consumerPart = body.substr(mark);
  body.resize(mark);
  // Each branch reads part of the prologue (the producer the load
  // addresses, the consumers the mask bounds): the rest is used on purpose
  // nowhere, which NVRTC would warn about.
  std::string unusedOk;
  {
    llvm::StringRef rest(prologue);
    while (!rest.empty()) {
      auto [lineText, tail] = rest.split('\n');
      rest = tail;
      lineText = lineText.ltrim();
      for (llvm::StringRef kind : {"const int ", "const bool "})
        if (lineText.consume_front(kind)) {
          llvm::StringRef var = lineText.take_until([](char c) { return c == ' '; });
          unusedOk += std::string(2 * indent, ' ') + "(void)" + var.str() + ";\n";
        }
    }
  }
  prologue += unusedOk;
  indent -= 2;

  const char *roundLoop = "for (int fg_tile = int(blockIdx.x), fg_round = 0; fg_tile < fg_tiles; "
                          "fg_tile += int(gridDim.x), ++fg_round) {\n";
  line() << "if (fg::wg::is_producer<kConsumerWarps>()) { // producer warpgroup: Q, K, V of every tile\n";
  ++indent;
  line() << "fg::wg::producer_registers<kProducerRegs>();\n";
  line() << "fg::wg::producer_state ps;\n";
  line() << "int tile_it = 0; // key tiles of earlier rounds: the rings run on\n";
  line() << roundLoop;
  body += prologue;
  ++indent;
  line() << "fg::wg::producer_q_round(pipe, sQs, fg_round, " << qSource << ", " << qStride << ", " << qRows
         << ", ps);\n";
  line() << "for (int t = " << lo << "; t < " << hi << "; ++t, ++tile_it) {\n";
  ++indent;
  for (int i = 0; i < 2; ++i) {
    const char *tensor = i == 0 ? "k" : "v";
    line() << "fg::wg::producer_" << tensor << "_it(pipe, s" << (i == 0 ? "K" : "V") << ", tile_it, "
           << kvBase[i] << " + (long long)(t * kTileK) * " << tensor << "_s2, " << tensor << "_s2, "
           << kvExtent << " - t * kTileK, ps);\n";
  }
  --indent;
  line() << "}\n";
  --indent;
  line() << "}\n";
  line() << "fg::wg::producer_drain(ps);\n";
  --indent;
  line() << "} else { // consumer warpgroups\n";
  ++indent;
  line() << "fg::wg::consumer_registers<kConsumerRegs>();\n";
  line() << "fg::wg::turns_start<kGroups>();\n";
  line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile; // P of the previous key tile\n";
  line() << "int tile_it = 0; // key tiles done: stage tile_it % kStages, phase tile_it / kStages\n";
  line() << roundLoop;
  body += prologue;
  ++indent;
  line() << "const QTile sQ = sQs.stage(fg_round % 2);\n";
  line() << "const int fg_first_it = tile_it; // this tile's first key tile\n";
  line() << "fg::warp::zero(acc_o);\n";
  line() << "fg::warp::init(sm);\n";
  line() << "fg::wg::wait_q_round(pipe, fg_round);\n";
  body += consumerPart;
  line() << "fg::wg::release_q_round(pipe, fg_round); // output stored: Q's buffer is free\n";
  --indent;
  line() << "}\n";
  --indent;
  line() << "}\n";
  // One CTA per SM of the target (fewer when there are fewer tiles).
  result.grid = {"min(" + gridExtent + "," + std::to_string(hopperTarget().numSMs) + ")", "1", "1"};
  return success();
}

/// The __launch_bounds__ occupancy hint: as many CTAs per SM as shared
/// memory allows, but never so many that registers would be capped below
/// what the kernel needs.
int64_t AttentionKernelPrinter::minBlocksPerSM() {
  const fs::Target &t = flash3 ? hopperTarget() : portableTarget();
  int64_t bySmem = t.smemPerSM / (result.dynamicSmemBytes + t.smemReservedPerCTA);
  int64_t byRegisters = 65536 / (result.threads * kRegistersNeeded);
  return std::max<int64_t>(1, std::min(bySmem, byRegisters));
}

FailureOr<EmittedKernel> AttentionKernelPrinter::print() {
  ScheduleAttr s = kernel.getSchedule();
  if (s.getStages() < 2)
    return kernel.emitError() << "schedule has " << s.getStages()
                              << " pipeline stage(s); the attention kernel "
                                 "needs at least 2";
  flash3 = s.getAlgorithm() == Algorithm::flash3;
  producer = flash3 && fs::flash3Shape(toLibrary(s)).producer;
  pipelined = producer && s.getInnerQ() == 1;
  persistent = producer && s.getPersistent() != 0;
  if (flash3 && failed(checkFlash3Schedule()))
    return failure();
  kernel.walk([&](ScoreMapOp map) {
    auto yield = cast<ScoreYieldOp>(map.getBody().front().getTerminator());
    if (yield.getScore() != map.getBody().front().getArgument(0))
      scoresModified = true;
  });
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  std::string params = signature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  line() << "const int wrow0 = (int(threadIdx.x) / 32) * kWarpRows; // this warp's first row\n";
  if (flash3) {
    line() << "const int grow0 = (int(threadIdx.x) / 128) * kGroupRows; // its warpgroup's first row\n";
    line() << "const fg::u32 smem = fg::wg::smem_base(); // 1024-byte aligned (swizzle atoms)\n";
  } else {
    line() << "const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());\n";
  }
  line() << (persistent ? "const QRing sQs{smem + kSmemQ}; // round r reads sQs.stage(r % 2)\n"
                        : "const QTile sQ{smem + kSmemQ};\n");
  line() << "const KRing sK{smem + kSmemK};\n";
  line() << "const VRing sV{smem + kSmemV};\n";
  line() << "fg::acc_tile<kWarpRows, kValueDim> acc_o;\n";
  line() << "fg::warp::zero(acc_o);\n";
  line() << "fg::softmax_state<kWarpRows> sm;\n";
  line() << "fg::warp::init(sm);\n";
  if (!producer) {
    if (failed(printBlock(kernel.getBody().front())))
      return failure();
  } else if (persistent) {
    SmallVector<scf::ForOp> loops;
    for (Operation &op : kernel.getBody().front())
      if (auto loop = dyn_cast<scf::ForOp>(op))
        loops.push_back(loop);
    if (loops.empty())
      return kernel.emitError("flash3 persistent kernel: no key-tile loop");
    if (failed(printPersistent(loops.front(), loops.back())))
      return failure();
  } else {
    line() << "const Pipe pipe{smem + kSmemBar};\n";
    line() << "fg::wg::init(pipe); // mbarriers; the last CTA-wide barrier\n";
    line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile; // P of the previous key tile\n";
    line() << "int tile_it = 0; // key tiles done: stage tile_it % kStages, phase tile_it / kStages\n";
    // The producer's loop goes where the key loops begin; it needs their range.
    SmallVector<scf::ForOp> loops;
    for (Operation &op : kernel.getBody().front())
      if (auto loop = dyn_cast<scf::ForOp>(op))
        loops.push_back(loop);
    if (loops.empty())
      return kernel.emitError("flash3 producer kernel: no key-tile loop");
    for (Operation &op : kernel.getBody().front()) {
      if (&op == loops.front().getOperation() &&
          failed(printProducerSplit(loops.front(), loops.back())))
        return failure();
      if (failed(printOp(&op)))
        return failure();
    }
    --indent;
    line() << "}\n";
  }

  std::string constants = flash3 ? headerFlash3() : header();
  result.source = constants + "extern \"C\" __global__ void __launch_bounds__(" +
                  std::to_string(result.threads) + ", " +
                  std::to_string(minBlocksPerSM()) + ")\n" + result.entry +
                  "(\n    " + params + ") {\n" + body + "}\n";
  return result;
}

} // namespace

FailureOr<EmittedKernel> mlir::flash::emitAttentionKernel(KernelOp kernel) {
  return AttentionKernelPrinter(kernel).print();
}
