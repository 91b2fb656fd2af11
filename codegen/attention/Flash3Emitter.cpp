//===- Flash3Emitter.cpp - CUDA for attention's flash3 path ---------------===//
//
// The members of the attention printer (AttentionPrinter.h) that only
// algorithm "flash3" uses: the sm_90a kernel's constants, its schedule
// check against schedule/Flash3Layout.h, and the ops flash-warp-specialize
// builds (FlashPipelineOps.td), each printed as one call of the device
// library (codegen/device/attention/wgmma_pipe.cuh). The split into
// producer and consumer warpgroups, their register budgets, the order of
// waits, issues and releases and the persistent loop are the IR's; nothing
// here decides them. AttentionEmitter.cpp calls these where the kernel's
// schedule is flash3.
//
//===----------------------------------------------------------------------===//

#include "codegen/attention/AttentionPrinter.h"

#include "dialect/ScheduleConversion.h"
#include "schedule/Flash3Layout.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

/// The constants of a flash3 kernel: the flash2 set plus the warpgroup
/// shape, wgmma-swizzled tiles and 1 KiB of alignment slack in the plan;
/// with a warp split, the rings' slots, the barriers and the budgets the
/// split carries.
std::string AttentionKernelPrinter::headerFlash3() {
  ScheduleAttr s = kernel.getSchedule();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t elementBytes = elementType().getIntOrFloatBitWidth() / 8;
  int64_t smemBytes = sched::flash3SmemBytes(headDim, valueDim, elementBytes, toLibrary(s), rotary());
  result.threads = s.getWarps() * 32;
  result.dynamicSmemBytes = smemBytes;
  bool split = bool(warpSplit);

  std::string text;
  llvm::raw_string_ostream h(text);
  h << headerOpening("// sm_90a warpgroup path (wgmma): " +
                     std::to_string(s.getWarps() / 4 - (split ? 1 : 0)) +
                     " warpgroup(s) of 64 query rows" +
                     (split ? " and a producer warpgroup (cp.async, mbarriers).\n"
                            : ".\n"))
    << tileConstants()
    << (split ? "constexpr int kConsumerWarps = kWarps - 4; // the last warpgroup is the producer\n"
                "constexpr int kGroups = kConsumerWarps / 4;  // consumer warpgroups\n"
                "constexpr int kWarpRows = kTileQ / kConsumerWarps; // 16: a warp's share of its warpgroup's rows\n"
              : "constexpr int kWarpRows = kTileQ / kWarps; // 16: a warp's share of its warpgroup's rows\n")
    << "constexpr int kGroupRows = 4 * kWarpRows;  // 64: the warpgroup's rows (wgmma M)\n"
    << "constexpr int kPvN = " << s.getInnerKv()
    << ";  // columns per O += P V wgmma (0: all of kValueDim)\n";
  if (split)
    h << "constexpr int kProducerRegs = " << warpSplit.getProducerRegisters()
      << ";  // setmaxnreg budgets (0: the launch's)\n"
      << "constexpr int kConsumerRegs = " << warpSplit.getConsumerRegisters() << ";\n";
  h << softmaxConstants()
    << "using QTile = fg::wg_tile<Elem, kTileQ, kHeadDim>;\n"
    << "using KTile = fg::wg_tile<Elem, kTileK, kHeadDim>;\n"
    << "using VTile = fg::wg_tile<Elem, kTileK, kValueDim>;\n"
    << "using KRing = fg::smem_ring<KTile, kStages>;\n"
    << "using VRing = fg::smem_ring<VTile, kStages>;\n";
  if (split)
    h << "using QRing = fg::smem_ring<QTile, " << (rounds ? 2 : 1)
      << ">;  // " << (rounds ? "persistent: Q of this and the next tile" : "one query tile")
      << "\n"
      << "constexpr int kSmemQ = 0;\n"
      << "constexpr int kSmemK = kSmemQ + QRing::kBytes;\n"
      << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n"
      << "using Pipe = fg::wg::pipe<kStages, kConsumerWarps, QRing::kStages"
      << (producerRotates() ? ", true>; // rotary: Q and K slots handed on through ready barriers\n" : ">;\n")
      << "constexpr int kSmemBar = kSmemV + VRing::kBytes;\n"
      << "constexpr int kSmemBytes = kSmemBar + Pipe::kBytes + fg::wg::kSmemAlign;\n";
  else
    h << "constexpr int kSmemQ = 0;\n"
      << "constexpr int kSmemK = kSmemQ + QTile::kBytes;\n"
      << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n"
      << "constexpr int kSmemBytes = kSmemV + VRing::kBytes + fg::wg::kSmemAlign;\n";
  h << "static_assert(kSmemBytes == " << smemBytes
    << ", \"shared-memory plan differs from the schedule's\");\n"
    << (split ? "static_assert(kWarpRows == 16 && kConsumerWarps % 4 == 0, \"warpgroups of 4 warps, 16 rows per warp\");\n"
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
      kernel.getProblem().contains("element_mods")
          ? static_cast<sched::ElementMods>(
                std::clamp<int64_t>(problemInt("element_mods"), 0, 3))
          : sched::ElementMods::None,
      rotary(), kernel.getProblem().contains("block_mask"));
  if (!broken.empty())
    return kernel.emitError() << "flash3 schedule " << s << ": " << broken.front();
  return success();
}


/// The ring of slots a pipe op names (the tensor it holds), as the device
/// library spells it.
static const char *ringTag(TensorRole ring) {
  switch (ring) {
  case TensorRole::q:
    return "fg::wg::ring::q";
  case TensorRole::k:
    return "fg::wg::ring::k";
  case TensorRole::v:
    return "fg::wg::ring::v";
  case TensorRole::g:
  case TensorRole::o:
    break;
  }
  llvm_unreachable("the pipe ops' verifiers allow rings q, k and v only");
}

/// if (producer) { budget; its region } else { budget; P; the consumers' }.
/// A TMA split prints the producer region twice: copies by one thread with
/// TMA when the runtime passed tensor maps, by every producer thread with
/// cp.async when it passed zeros; each branch keeps only its own addresses
/// live, within the producer's small register budget.
LogicalResult AttentionKernelPrinter::printWarpSpecialize(WarpSpecializeOp op) {
  line() << "const Pipe pipe{smem + kSmemBar};\n";
  if (op.getTma())
    line() << "const bool fg_tma = fg::tensor_map_valid(tm_q); // zero maps: copy with cp.async\n";
  line() << "fg::wg::init(pipe, " << (op.getTma() ? "fg_tma" : "false")
         << "); // mbarriers; the last CTA-wide barrier\n";
  line() << "if (fg::wg::is_producer<kConsumerWarps>()) { // producer warpgroup: copies only\n";
  ++indent;
  line() << "fg::wg::producer_registers<kProducerRegs>();\n";
  Block &producer = op.getProducer().front();
  if (op.getTma()) {
    line() << "if (fg_tma) { // TMA: the producer's first thread issues every copy\n";
    ++indent;
    line() << "if (fg::wg::producer_thread<kConsumerWarps>() == 0) {\n";
    ++indent;
    line() << "fg::ptx::prefetch_tensor_map(&tm_q);\n";
    line() << "fg::ptx::prefetch_tensor_map(&tm_k);\n";
    line() << "fg::ptx::prefetch_tensor_map(&tm_v);\n";
    // Under rotary embedding the copies leave the rotations' offsets unread.
    printingTmaCopies = true;
    partialReader = producerRotates();
    LogicalResult printed = printBlock(producer);
    printingTmaCopies = partialReader = false;
    if (failed(printed))
      return failure();
    --indent;
    if (producerRotates()) {
      // Rotary embedding: warps 1-3 rotate each Q and K tile once it landed.
      line() << "} else if (fg::wg::is_rotator<kConsumerWarps>()) { // rotate what the copies landed\n";
      ++indent;
      printingRotators = partialReader = true;
      printed = printBlock(producer);
      printingRotators = partialReader = false;
      if (failed(printed))
        return failure();
      --indent;
    }
    line() << "}\n";
    --indent;
    line() << "} else { // cp.async by every producer thread\n";
    ++indent;
  }
  line() << "fg::wg::producer_state ps; // the copy group published next\n";
  if (failed(printBlock(producer)))
    return failure();
  if (op.getTma()) {
    --indent;
    line() << "}\n";
  }
  --indent;
  line() << "} else { // consumer warpgroups\n";
  ++indent;
  line() << "fg::wg::consumer_registers<kConsumerRegs>();\n";
  line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile; // P of the previous key tile\n";
  if (failed(printBlock(op.getConsumers().front())))
    return failure();
  --indent;
  line() << "}\n";
  return success();
}

/// for (tile = blockIdx.x, round = 0; tile < tiles; tile += gridDim.x) {
///   the tile's ids (first role fastest); the body; carry = yield; }
/// The grid becomes one CTA per SM (fewer when there are fewer tiles).
LogicalResult AttentionKernelPrinter::printTileRounds(TileRoundsOp op) {
  Block &body = op.getBody().front();
  size_t n = op.getRoles().size();
  const PersistentTiles tiles = persistentTiles(op.getExtents());
  if (result.grid.empty())
    result.grid.assign(tiles.grid.begin(), tiles.grid.end());
  BlockArgument carry = body.getArgument(n + 2);
  names[carry] = "fg_tile_it";
  line() << "int fg_tile_it = " << name(op.getCarry())
         << "; // key tiles of earlier rounds: the rings run on\n";
  line() << "const int fg_tiles = " << tiles.tiles << "; // query tiles of the whole launch\n";
  auto split = cast<WarpSpecializeOp>(op->getParentOp());
  bool producer = op->getParentRegion() == &split.getProducer();
  BlockArgument last = body.getArgument(n + 1);
  if (!op.getClaimed()) {
    line() << "for (int fg_tile = int(blockIdx.x), fg_round = 0; fg_tile < fg_tiles; "
              "fg_tile += int(gridDim.x), ++fg_round) {\n";
  } else if (producer && printingRotators) {
    // The rotating warps read each round's tile as the consumers do.
    line() << "for (int fg_round = 0, fg_tile = fg::wg::claim_take(pipe, 0); fg_tile < fg_tiles; "
              "++fg_round, fg_tile = fg::wg::claim_take(pipe, fg_round)) { // claimed tiles\n";
  } else if (producer) {
    // The producer claims each round's tile; with cp.async every producer
    // thread copies and reads it back, with TMA the first one alone runs.
    auto claim = [&](StringRef round) {
      return ("fg::wg::claim_next(pipe, " + round + ", " + kTileClaimsScratch + ", " +
              (printingTmaCopies ? "false" : "true") + ")")
          .str();
    };
    line() << "for (int fg_round = 0, fg_tile = " << claim("0") << "; fg_tile < fg_tiles; "
           << "++fg_round, fg_tile = " << claim("fg_round") << ") { // claimed tiles\n";
  } else {
    line() << "for (int fg_round = 0, fg_tile = fg::wg::claim_take(pipe, 0); fg_tile < fg_tiles; "
              "++fg_round, fg_tile = fg::wg::claim_take(pipe, fg_round)) { // claimed tiles\n";
  }
  ++indent;
  for (size_t i = 0; i < n; ++i) {
    std::string role = cast<StringAttr>(op.getRoles()[i]).getValue().str();
    names[body.getArgument(i)] = role + "_id";
    if (!body.getArgument(i).use_empty())
      line() << "const int " << role << "_id = " << tiles.id("fg_tile", i) << ";\n";
  }
  names[body.getArgument(n)] = "fg_round";
  names[last] = "fg_last_round";
  if (op.getClaimed() && !last.use_empty())
    return op.emitError() << "claimed rounds do not know their last round "
                             "before they claim past the end";
  if (!last.use_empty())
    line() << "const bool fg_last_round = fg_tile + int(gridDim.x) >= fg_tiles;\n";
  for (Operation &inner : body.without_terminator())
    if (failed(printOp(&inner)))
      return failure();
  line() << "fg_tile_it = " << name(cast<RoundsYieldOp>(body.back()).getCarry()) << ";\n";
  --indent;
  line() << "}\n";
  return success();
}

LogicalResult AttentionKernelPrinter::printPipelineOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<WarpSpecializeOp>([&](WarpSpecializeOp split) { return printWarpSpecialize(split); })
      .Case<TileRoundsOp>([&](TileRoundsOp loop) { return printTileRounds(loop); })
      .Case<PipeProduceOp>([&](PipeProduceOp produce) -> LogicalResult {
        TensorRole ring = produce.getRing();
        std::string tensor = stringifyTensorRole(ring).str();
        const char *tiles = ring == TensorRole::q ? "sQs" : ring == TensorRole::k ? "sK" : "sV";
        std::string row0 = "(" + name(produce.getRowTile()) + ") * " + std::to_string(produce.getRows());
        std::optional<RotaryStyle> style = produce.getStyle();
        if (printingRotators) {
          // The rotating warps' share: rotate Q and K; V is the copies' alone.
          if (!style)
            return success();
          line() << "fg::wg::rotate_slot<" << ringTag(ring) << ", " << rotaryTemplate(*style, *produce.getDims())
                 << ">(pipe, " << tiles << ", " << name(produce.getSlot()) << ", "
                 << rotaryTables(produce.getCos(), produce.getSin(), produce.getBatch()) << ", " << row0 << ", "
                 << name(produce.getRotateOffset()) << ", " << name(produce.getExtent()) << " - " << row0
                 << ");\n";
          return success();
        }
        if (style && !printingTmaCopies) {
          line() << "fg::wg::produce_rotated<" << ringTag(ring) << ", "
                 << rotaryTemplate(*style, *produce.getDims()) << ">(pipe, " << tiles << ", "
                 << name(produce.getSlot()) << ", "
                 << tileSource(tensor, produce.getBatch(), produce.getHead(), produce.getRowTile(),
                               produce.getRows())
                 << ", " << tensor << "_s2, " << name(produce.getExtent()) << " - " << row0 << ", ps, "
                 << rotaryTables(produce.getCos(), produce.getSin(), produce.getBatch()) << ", " << row0
                 << ", " << name(produce.getRotateOffset()) << ");\n";
          return success();
        }
        if (printingTmaCopies) {
          line() << "fg::wg::produce_tma<" << ringTag(ring) << ">(pipe, " << tiles << ", "
                 << name(produce.getSlot()) << ", &tm_" << tensor << ", " << tmaRow(ring, row0) << ", "
                 << name(produce.getHead()) << ", " << tmaBatch(ring, produce.getBatch()) << ");\n";
          return success();
        }
        line() << "fg::wg::produce<" << ringTag(ring) << ">(pipe, " << tiles << ", "
               << name(produce.getSlot()) << ", "
               << tileSource(tensor, produce.getBatch(), produce.getHead(), produce.getRowTile(),
                             produce.getRows())
               << ", " << tensor << "_s2, " << name(produce.getExtent()) << " - " << row0 << ", ps);\n";
        return success();
      })
      .Case<PipeDrainOp>([&](auto) {
        // TMA copies leave no cp.async group to publish, nor do rotations.
        if (!printingTmaCopies && !printingRotators)
          line() << "fg::wg::producer_drain(ps);\n";
        return success();
      })
      .Case<PipeRotateOp>([&](PipeRotateOp rotate) {
        std::string row0 = "(" + name(rotate.getRowTile()) + ") * " + std::to_string(rotate.getRows());
        line() << "fg::wg::rotate_own_rows<" << rotaryTemplate(rotate.getStyle(), rotate.getDims())
               << ">(sQs, " << name(rotate.getSlot()) << ", "
               << rotaryTables(rotate.getCos(), rotate.getSin(), rotate.getBatch()) << ", " << row0 << ", "
               << name(rotate.getOffset()) << ", " << name(rotate.getExtent()) << " - " << row0 << ");\n";
        return success();
      })
      .Case<PipeWaitOp>([&](PipeWaitOp wait) {
        line() << (wait.getRotated() ? "fg::wg::wait_ready<" : "fg::wg::wait_full<") << ringTag(wait.getRing())
               << ">(pipe, " << name(wait.getSlot()) << ");\n";
        if (wait.getRing() == TensorRole::q)
          line() << "const QTile sQ = sQs.stage((" << name(wait.getSlot())
                 << ") % QRing::kStages); // the query tile the products read\n";
        return success();
      })
      .Case<PipeReleaseOp>([&](PipeReleaseOp release) {
        line() << "fg::wg::release_slot<" << ringTag(release.getRing()) << ">(pipe, "
               << name(release.getSlot()) << ");\n";
        return success();
      })
      .Case<TurnOpenOp>([&](auto) {
        line() << "fg::wg::turns_start<kGroups>();\n";
        return success();
      })
      .Case<TurnWaitOp>([&](auto) {
        line() << "fg::wg::turn_begin<kGroups>();\n";
        return success();
      })
      .Case<TurnPassOp>([&](TurnPassOp pass) {
        line() << "fg::wg::turn_end<kGroups>(" << name(pass.getFinal()) << ");\n";
        return success();
      })
      .Case<TurnCloseOp>([&](auto) {
        line() << "fg::wg::turns_close<kGroups>(); // the last round's pass\n";
        return success();
      })
      .Case<MmaWaitOp>([&](MmaWaitOp wait) {
        std::string tiles = wait.getScore() && wait.getOutput() ? "s_tile, acc_o"
                            : wait.getScore()                   ? "s_tile"
                                                                : "acc_o";
        line() << "fg::wg::mma_wait<" << wait.getPending() << ">(" << tiles << ");\n";
        return success();
      })
      .Case<MmaEmptyGroupOp>([&](auto) {
        line() << "fg::ptx::wgmma_commit(); // an empty group: the waits count the same\n";
        return success();
      })
      .Case<ProbabilitiesOp>([&](auto) {
        line() << "fg::warp::convert(p_tile, s_tile); // P, read by the next turn's P V\n";
        return success();
      })
      .Case<OutputRescaleOp>([&](auto) {
        line() << "fg::warp::apply_rescale(acc_o, rescale);\n";
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitError() << "the CUDA emitter has no printing for '"
                                  << other->getName() << "'";
      });
}
