//===- Flash3Emitter.cpp - CUDA for attention's flash3 path ---------------===//
//
// The members of the attention printer (AttentionPrinter.h) that only
// algorithm "flash3" uses: the sm_90a kernel's constants, its schedule
// check against schedule/Flash3Layout.h, the setmaxnreg split of the
// producer and consumer warpgroups, the producer / consumer split of the
// key loops and the persistent grid (codegen/device/attention/
// wgmma_pipe.cuh). AttentionEmitter.cpp calls them where the kernel's
// schedule is flash3.
//
//===----------------------------------------------------------------------===//

#include "codegen/attention/AttentionPrinter.h"

#include "dialect/ScheduleConversion.h"
#include "schedule/Flash3Layout.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

/// The constants of a flash3 kernel: the flash2 set plus the warpgroup
/// shape, wgmma-swizzled tiles and 1 KiB of alignment slack in the plan.
std::string AttentionKernelPrinter::headerFlash3() {
  ScheduleAttr s = kernel.getSchedule();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t elementBytes = elementType().getIntOrFloatBitWidth() / 8;
  int64_t smemBytes = sched::flash3SmemBytes(headDim, valueDim, elementBytes, toLibrary(s));
  result.threads = s.getWarps() * 32;
  result.dynamicSmemBytes = smemBytes;

  std::string text;
  llvm::raw_string_ostream h(text);
  h << banner()
    << "// sm_90a warpgroup path (wgmma): " << s.getWarps() / 4 - (producer ? 1 : 0)
    << " warpgroup(s) of 64 query rows"
    << (producer ? " and a producer warpgroup (cp.async, mbarriers).\n" : ".\n")
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n"
    << "#if !defined(FG_HAVE_WGMMA)\n"
    << "#error \"algorithm flash3 needs wgmma: compile for sm_90a\"\n"
    << "#endif\n\n"
    << "namespace " << kernel.getSymName() << "_k {\n\n"
    << tileConstants()
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
    << softmaxConstants()
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
  Type element = elementType();
  if (!element.isBF16() && !element.isF16())
    return kernel.emitError() << "flash3 schedule " << s
                              << ": wgmma takes bf16 or f16 operands";
  std::vector<std::string> broken = sched::flash3Violations(
      problemInt("head_dim"), problemInt("value_dim"),
      element.getIntOrFloatBitWidth() / 8, toLibrary(s), hopperTarget().smemPerCTA,
      kernel.getProblem().contains("element_mods") &&
          problemInt("element_mods") != 0);
  if (!broken.empty())
    return kernel.emitError() << "flash3 schedule " << s << ": " << broken.front();
  return success();
}

/// setmaxnreg budgets of the producer and the consumer warpgroups
/// (schedule/Flash3Layout.h; 0: keep the launch's registers).
std::string AttentionKernelPrinter::producerRegisterBudget() {
  sched::RegisterSplit split =
      sched::flash3RegisterSplit(toLibrary(kernel.getSchedule()), problemInt("head_dim"));
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
