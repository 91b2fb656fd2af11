//===- AttentionEmitter.cpp - CUDA for the attention kernel family --------===//
//
// Prints `flash.kernel` ops of family `attention`: the constants from the
// schedule and problem, the shared-memory plan, the accumulators, and the
// tile ops (loads, MMAs, score maps, online softmax, output store) as calls
// into the device tile library. Scalar code and loops come from
// ScalarPrinter.
//
// This file holds the kernel, the flash2 path, the small-cache kernels
// (flash2_dsplit on mma.sync, flash3_dsplit on wgmma: headerDSplit) and what
// all algorithms share; Flash3Emitter.cpp the flash3-only parts
// (AttentionPrinter.h declares the printer for both). Algorithm "flash2" prints the mma.sync
// path (warp tiles, smem_tile); "flash3" prints the same IR on the sm_90a
// warpgroup path of wgmma.cuh:
// wg_tile operands with 128-byte-swizzle descriptors, S = Q K^T and
// O += P V as wgmma per warpgroup of 4 warps (64 query rows, 16 per warp),
// the score_map / softmax code unchanged on each warp's 16-row share.
//
//===----------------------------------------------------------------------===//

#include "codegen/attention/AttentionPrinter.h"
#include "codegen/attention/PositionBias.h"

#include "codegen/KernelFamilies.h"
#include "dialect/PagedKv.h"
#include "dialect/Varlen.h"
#include "dialect/ScheduleConversion.h"
#include "schedule/AttentionCost.h"
#include "schedule/Flash3Layout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;
namespace sched = flashgen::schedule;

const sched::Target &mlir::flash::portableTarget() {
  return **sched::lookupTarget("sm_80");
}
const sched::Target &mlir::flash::hopperTarget() {
  return **sched::lookupTarget("sm_90");
}

std::string AttentionKernelPrinter::tensorBase(StringRef tensor, Value batch,
                                      Value head) {
  return batchHeadOffset(tensor, name(batch), name(head));
}

std::string AttentionKernelPrinter::tileSource(StringRef tensor, Value batch,
                                               Value head, Value rowTile,
                                               int64_t rows) {
  return tensorBase(tensor, batch, head) + " + (long long)((" + name(rowTile) +
         ") * " + std::to_string(rows) + ") * " + tensor.str() + "_s2";
}

std::string AttentionKernelPrinter::tmaRow(TensorRole tensor, StringRef row0) {
  const std::string &start = tensor == TensorRole::q ? queryRow0 : keyRow0;
  return start.empty() ? row0.str() : row0.str() + " + " + start;
}

std::string AttentionKernelPrinter::tmaBatch(TensorRole tensor, Value batch) {
  bool packed = tensor == TensorRole::q ? packedQueries : packedKeys;
  return packed ? "0" : name(batch);
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
  // flash_decode's key warps each hold a slice of the tile (wkey0 on).
  std::string k0 = "(" + name(op.getKeyTile()) + ") * kTileK" + (decode ? " + wkey0" : "");
  std::optional<ScoreBias> bias;
  if (positionBias && !identityScore)
    bias = matchPositionBias(op);
  if (bias) {
    pendingLaneBias = fresh();
    line() << "float " << pendingLaneBias
           << " = 0.0f;  // the bias at the lane's first element (PositionBias.h)\n";
  }
  line() << "fg::warp::for_each_at(s_tile, " << q0 << ", " << k0
         << ", [&](int i, int j, int di, int dj, float& x) {\n";
  ++indent;
  SmallVector<Operation *, 2> skipped;
  if (bias)
    skipped = {bias->sum, bias->product};
  if (failed(printElementRegion(block, scoresModified && !positionBias ? "(x * kScoreScale)" : "x",
                                op.getBatch(), op.getHead(), /*fragmentOffsets=*/true,
                                skipped)))
    return failure();
  if (bias) {
    // The same value for every element of the lane: one per key tile once
    // the compiler has unrolled the fragment loop.
    auto [lane, offset] = splitConversionTerms(
        "float", name(bias->conversion.getIn()), bias->coefficients, "di", "dj");
    std::string factor = fresh();
    line() << "const float " << factor << " = " << name(bias->factor) << " * kBiasScale;\n";
    line() << pendingLaneBias << " = " << factor << " * " << lane << ";\n";
    // Masked first (fmaf(f, offset, -inf) is -inf): a select of the score
    // the compiler keeps as one, where a select of the product became a
    // branch around it per element.
    std::string kept = alwaysVisible ? std::string("x")
                                     : "(" + name(yield.getVisible()) + " ? x : fg::neg_inf())";
    line() << "x = fmaf(" << factor << ", " << offset << ", " << kept << ");\n";
  } else if (alwaysVisible) {
    line() << "x = " << name(yield.getScore()) << ";\n";
  } else {
    line() << "x = " << name(yield.getVisible()) << " ? " << name(yield.getScore())
           << " : fg::neg_inf();\n";
  }
  --indent;
  line() << "});\n";
  return success();
}

LogicalResult AttentionKernelPrinter::printKernelOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<TileLoadOp>([&](TileLoadOp load) -> LogicalResult {
        StringRef tensor = stringifyTensorRole(load.getTensor());
        bool isQuery = load.getTensor() == TensorRole::q;
        std::string ring = isQuery ? "sQ" : load.getTensor() == TensorRole::k ? "sK" : "sV";
        // The query tile is a ring only in the small-cache kernels (its
        // head-dim chunks stream beside K's).
        std::string tile = isQuery && !dsplit ? ring : ring + ".stage(" + name(load.getStage()) + ")";
        std::string row0 = "(" + name(load.getRowTile()) + ") * " +
                           std::to_string(load.getRows());
        std::string source = tileSource(tensor, load.getBatch(), load.getHead(),
                                        load.getRowTile(), load.getRows());
        if (std::optional<int64_t> group = load.getGroup()) {
          // flash_decode: packed rows from the kv head's first query head.
          line() << "fg::decode::load_packed_async<kThreads, " << *group << ">(" << tile << ", "
                 << packedGroupBase(tensor, load.getBatch(), load.getHead(), *group) << ", "
                 << tensor << "_s1, " << tensor << "_s2, " << row0 << ", "
                 << name(load.getExtent()) << " - " << row0 << ");\n";
          return success();
        }
        if (std::optional<int64_t> pageSize = load.getPageSize()) {
          // A paged cache: the pool [pages, P, Hkv, D] at the kv head, the
          // sequence's page table row (dialect/PagedKv.h).
          std::string t = tensor.str();
          line() << "fg::paged::load_async<kThreads, " << *pageSize << ">(" << tile << ", " << t
                 << " + (long long)(" << name(load.getHead()) << ") * " << t << "_s2, " << t << "_s0, " << t
                 << "_s1, " << kPageTableName.str() << " + (long long)(" << name(load.getBatch()) << ") * "
                 << kPageTableName.str() << "_s0, " << kPageTableName.str() << "_s1, "
                 << kPoolPagesDim.str() << ", " << row0 << ", " << name(load.getExtent()) << " - " << row0
                 << ");\n";
          return success();
        }
        if (load.getColTile())
          source += " + (long long)(" + name(load.getColTile()) + ") * " +
                    std::to_string(*load.getCols());
        line() << (wgmma ? "fg::wg::load_async<kThreads>(" : "fg::cta::load_async<kThreads>(") << tile << ", "
               << source << ", " << tensor.str() << "_s2, " << name(load.getExtent())
               << " - " << row0 << ");\n";
        return success();
      })
      .Case<TileRotateOp>([&](TileRotateOp rotate) {
        // Every thread takes a share; the flash.barrier after it syncs.
        // Rotated rows are written through the generic proxy: wgmma reads
        // them after a fence. A key tile prefetches the next one's table
        // rows (the ring's tiles are consecutive but for block lists').
        bool isQuery = rotate.getTensor() == TensorRole::q;
        std::string tile = isQuery ? "sQ" : "sK.stage(" + name(rotate.getStage()) + ")";
        std::string row0 = "(" + name(rotate.getRowTile()) + ") * " + std::to_string(rotate.getRows());
        line() << "fg::rotary::rotate_rows<" << rotaryTemplate(rotate.getStyle(), rotate.getDims()) << ", "
               << rotate.getGroup().value_or(1) << ">(" << tile << ", int(threadIdx.x), kThreads, "
               << rotaryTables(rotate.getCos(), rotate.getSin(), rotate.getBatch()) << ", " << row0 << ", "
               << name(rotate.getOffset()) << ", " << name(rotate.getExtent()) << " - " << row0
               << (isQuery ? "" : ", " + std::to_string(rotate.getRows())) << ");\n";
        if (wgmma)
          line() << "fg::ptx::fence_proxy_async_smem(); // rotated rows, read by wgmma\n";
        return success();
      })
      .Case<TileCommitOp>([&](auto) {
        line() << "fg::cta::commit();\n";
        return success();
      })
      .Case<TileWaitOp>([&](TileWaitOp wait) {
        // wgmma kernels: the landed copies are fenced for its async proxy too.
        line() << (wgmma ? "fg::wg::wait_tiles<" : "fg::cta::wait<") << wait.getPending() << ">();\n";
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<BarrierOp>([&](auto) {
        line() << "fg::cta::sync();\n";
        return success();
      })
      .Case<ScoreClearOp>([&](auto) {
        line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
        line() << "fg::warp::zero(s_tile);\n";
        return success();
      })
      .Case<TileMmaOp>([&](TileMmaOp mma) -> LogicalResult {
        std::string stage = name(mma.getStage());
        if (mma.getAccumulate() && wgmma) { // one head-dim chunk of S = Q K^T
          std::string querySlot = mma.getQueryStage() ? name(mma.getQueryStage()) : stage;
          line() << "fg::wg::issue_ABt(s_tile, sQ.stage(" << querySlot << "), grow0, sK.stage(" << stage
                 << "), /*zero_init=*/false);\n";
          if (!mma.getAsync()) // else a flash.mma_wait follows
            line() << "fg::wg::mma_wait<0>(s_tile);\n";
          return success();
        }
        if (mma.getAccumulate()) {
          line() << "fg::warp::mma_ABt(s_tile, sQ.stage(" << stage << "), wrow0, sK.stage("
                 << stage << "), 0);\n";
          return success();
        }
        if (mma.getProduct() == TileProduct::qk && mma.getAsync()) {
          line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
          line() << "fg::wg::issue_ABt(s_tile, sQ, grow0, sK.stage(" << stage << "));\n";
          return success();
        }
        if (mma.getProduct() == TileProduct::pv && mma.getAsync()) {
          // P is the flash.probabilities of an earlier turn.
          line() << "fg::wg::issue_rAB<kPvN>(acc_o, p_tile, sV.stage(" << stage << "));\n";
          return success();
        }
        if (mma.getProduct() == TileProduct::qk && flash3) {
          line() << "fg::acc_tile<kWarpRows, kTileK> s_tile;\n";
          line() << "fg::wg::mma_ABt(s_tile, sQ, grow0, sK.stage(" << stage
                 << "));\n";
          return success();
        }
        if (mma.getProduct() == TileProduct::pv && wgmma) {
          line() << "fg::a_tile<Elem, kWarpRows, kTileK> p_tile;\n";
          line() << "fg::warp::convert(p_tile, s_tile);\n";
          line() << "fg::wg::mma_rAB<kPvN>(acc_o, p_tile, sV.stage(" << stage
                 << "));\n";
          return success();
        }
        // flash_decode's key warps: this warp's kWarpKeys keys of the tile,
        // from row wkey0 of K and V.
        const char *keys = decode ? "kWarpKeys" : "kTileK";
        const char *keyRow0 = decode ? "wkey0" : "0";
        if (mma.getProduct() == TileProduct::qk) {
          line() << "fg::acc_tile<kWarpRows, " << keys << "> s_tile;\n";
          line() << "fg::warp::zero(s_tile);\n";
          line() << "fg::warp::mma_ABt(s_tile, sQ, wrow0, sK.stage(" << stage
                 << "), " << keyRow0 << ");\n";
          return success();
        }
        // The other product, pv.
        line() << "fg::a_tile<Elem, kWarpRows, " << keys << "> p_tile;\n";
        line() << "fg::warp::convert(p_tile, s_tile);\n";
        line() << "fg::warp::mma_rAB(acc_o, p_tile, sV.stage(" << stage
               << "), " << keyRow0 << ", 0);\n";
        return success();
      })
      .Case<ScoreMapOp>([&](ScoreMapOp map) { return printScoreMap(map); })
      .Case<SoftmaxUpdateOp>([&](SoftmaxUpdateOp update) {
        // One in every N exponentials on the FMA pipe: the functions'
        // leading template argument.
        std::string every;
        if (std::optional<int64_t> n = update.getFmaExp2Every())
          every = "<" + std::to_string(*n) + ">";
        // The lane's bias of the score map just printed (PositionBias.h).
        std::string laneBias =
            pendingLaneBias.empty() ? std::string() : ", " + pendingLaneBias;
        pendingLaneBias.clear();
        if (update.getDeferred()) { // O is in flight: flash.output_rescale applies it
          line() << "fg::softmax_rescale<kWarpRows> rescale;\n";
          line() << "fg::warp::online_softmax_deferred" << every
                 << "(sm, s_tile, kSoftmaxScale, rescale" << laneBias << ");\n";
          return success();
        }
        line() << "fg::warp::online_softmax" << every
               << "(sm, s_tile, acc_o, kSoftmaxScale" << laneBias << ");\n";
        return success();
      })
      .Case<OutputInitOp>([&](auto) {
        line() << "fg::warp::zero(acc_o);\n";
        line() << "fg::warp::init(sm);\n";
        return success();
      })
      .Case<OutputStoreOp>([&](OutputStoreOp store) {
        std::string row0 =
            "(" + name(store.getRowTile()) + ") * kTileQ + wrow0";
        if (!store->getParentOfType<WarpSpecializeOp>()) {
          // Other threads' Q copies may still land in the rows store_rows
          // stages through (a CTA with no key tile never synced after them).
          // (Consumers of a warp split waited for Q's slot instead.)
          line() << "fg::cta::wait<0>();\n";
          line() << "fg::cta::sync();\n";
        }
        line() << "fg::warp::finalize(sm, acc_o);\n";
        if (!store.getOutputMod().empty()) {
          // output_mod on each normalised element (docs/semantics.md §2.11),
          // in registers before the store.
          std::string col0 = store.getValueSlice()
                                 ? "(" + name(store.getValueSlice()) + ") * kTileDv"
                                 : std::string("0");
          if (failed(printOutputModOver(store.getOutputMod().front(), "acc_o", row0, col0,
                                        store.getBatch(), store.getHead())))
            return failure();
        }
        std::string dst = tensorBase(stringifyTensorRole(store.getTensor()), store.getBatch(),
                                     store.getHead()) +
                          " + (long long)(" + row0 + ") * o_s2";
        std::string rowsValid = name(store.getExtent()) + " - (" + row0 + ")";
        if (Value slice = store.getValueSlice()) {
          // The small-cache kernel's O slice: staged through the (now idle)
          // rings when its rows fit there (OTile in headerDSplit).
          dst += " + (long long)(" + name(slice) + ") * kTileDv";
          line() << "if constexpr (kStageOutput)\n";
          line() << (wgmma ? "  fg::wg::store_rows(" : "  fg::warp::store_rows(") << dst << ", o_s2, "
                 << rowsValid << ", acc_o, OTile{smem}, wrow0);\n";
          line() << "else\n";
          line() << "  fg::warp::store_rows_direct(" << dst << ", o_s2, " << rowsValid
                 << ", acc_o);\n";
          // Every slice computed the same statistics; one writes them.
          line() << "if (lse != nullptr && " << name(slice) << " == 0)\n";
        } else {
          line() << (wgmma ? "fg::wg::store_rows(" : "fg::warp::store_rows(") << dst
                 << ", o_s2, " << rowsValid << ", acc_o, sQ, wrow0);\n";
          line() << "if (lse != nullptr)\n";
        }
        line() << "  fg::warp::store_lse(lse + (long long)(" << name(store.getBatch())
               << ") * lse_s0 + (long long)(" << name(store.getHead())
               << ") * lse_s1 + (long long)(" << row0 << ") * lse_s2, lse_s2, "
               << name(store.getExtent()) << " - (" << row0
               << "), sm, kSoftmaxScale);\n";
        return success();
      })
      .Case<SplitStoreOp>([&](SplitStoreOp store) {
        // Other threads' Q copies may still land in rows this CTA never
        // synced after (a split with no key tile).
        line() << "fg::cta::wait<0>();\n";
        line() << "fg::cta::sync();\n";
        // Key warps: their states merge into each row group's first one
        // (through the idle ring), which alone stores the rows.
        bool keyWarps = keyWarpCount() > 1;
        if (keyWarps) {
          line() << "fg::decode::merge_key_warps<kKeyWarps>(sm, acc_o, "
                    "reinterpret_cast<float*>(fg::ptx::dynamic_smem()), kSoftmaxScale);\n";
          line() << "if (wkey0 == 0) {  // the row group's merged state\n";
          ++indent;
        }
        line() << "fg::warp::finalize(sm, acc_o);\n";
        std::string g = std::to_string(store.getGroup());
        std::string row0 = "(" + name(store.getRowTile()) + ") * kTileQ + wrow0";
        std::string rows = name(store.getExtent()) + " - (" + row0 + ")";
        auto firstHead = [&](StringRef tensor) {
          return packedGroupBase(tensor, store.getBatch(), store.getHead(), store.getGroup());
        };
        line() << "if (" << name(store.getSplits()) << " == 1) {  // the rows are the result\n";
        line() << "  fg::decode::store_packed_rows<" << g << ">(" << firstHead("o")
               << ", o_s1, o_s2, " << row0 << ", " << rows << ", acc_o);\n";
        line() << "  if (lse != nullptr)\n";
        line() << "    fg::decode::store_packed_lse<" << g << ">(" << firstHead("lse")
               << ", lse_s1, lse_s2, " << row0 << ", " << rows << ", sm, kSoftmaxScale);\n";
        line() << "} else {  // this split's partial rows, merged by the next launch\n";
        std::string prow = "(long long)(" + name(store.getPartialRow()) + " + wrow0)";
        line() << "  fg::decode::store_partial_rows(o_split + " << prow << " * o_split_s0, lse_split + "
               << prow << " * lse_split_s0, " << rows << ", acc_o, sm, kSoftmaxScale);\n";
        line() << "}\n";
        if (keyWarps) {
          --indent;
          line() << "}\n";
        }
        return success();
      })
      .Default([&](Operation *other) { return printPipelineOp(other); });
}

std::string AttentionKernelPrinter::signature() {
  ParameterList sep;
  // A split with TMA copies: one tensor map per copied tensor, boxes of a
  // ring slot's rows (all zero when the runtime cannot encode them). ptxas
  // places each 64-byte aligned in the parameter bank, as TMA needs; the
  // runtime takes their offsets from the cubin.
  if (warpSplit && warpSplit.getTma()) {
    ScheduleAttr s = kernel.getSchedule();
    for (auto [role, rows] : {std::pair<TensorRole, int64_t>{TensorRole::q, s.getTileQ()},
                              {TensorRole::k, s.getTileKv()},
                              {TensorRole::v, s.getTileKv()}}) {
      StringRef tensor = stringifyTensorRole(role);
      sep() << "const __grid_constant__ fg::tensor_map tm_" << tensor;
      if (role == TensorRole::k && keysRotated())
        result.arguments.push_back(
            {KernelArgument::Kind::TensorMap, kRotatedKeysScratch, rows, "", /*ofScratch=*/true});
      else
        result.arguments.push_back({KernelArgument::Kind::TensorMap, tensor.str(), rows});
    }
  }
  // A rotary pre-pass's copy of K is read in k's place: the same parameter.
  for (TensorRole role : {TensorRole::q, TensorRole::k, TensorRole::v, TensorRole::o})
    printRowsParameter(sep, stringifyTensorRole(role), role == TensorRole::o,
                       role == TensorRole::k && keysRotated() ? kRotatedKeysScratch : "");
  // The rows' log-sum-exp, for a backward pass or a log-sum-exp merge of
  // partial outputs; optional (nullptr: not written).
  printLseParameter(sep);
  if (decode) {
    // The key splits' partial rows [rows, Dv] and their log-sum-exp [rows]
    // (scratch, f32), which the merge kernel reads.
    printSplitScratchParameters(sep);
  }
  // Claimed persistent rounds: the launch's tile counter (scratch, zeroed).
  bool claimed = false;
  kernel.walk([&](TileRoundsOp rounds) { claimed |= rounds.getClaimed(); });
  if (claimed) {
    sep() << "int* __restrict__ " << kTileClaimsScratch;
    sep() << "long long " << kTileClaimsScratch << "_s0";
    result.arguments.push_back({KernelArgument::Kind::Scratch, kTileClaimsScratch});
  }
  printExtraParameters(sep);
  printPageTableParameters(sep);
  printSequenceParameters(sep);
  printDimParameters(sep);
  printLaunchValueParameters(sep);
  return sep.text();
}

/// The first lines of every attention kernel: where it comes from.
std::string AttentionKernelPrinter::banner() {
  std::string text;
  llvm::raw_string_ostream h(text);
  h << "// Generated by flashgen from flash.kernel @" << kernel.getSymName()
    << " (" << problemString("op") << ", variant " << problemInt("variant")
    << ").\n"
    << "// Schedule: " << kernel.getSchedule() << "\n";
  return text;
}

/// The first lines of every attention kernel's header: the banner, which
/// path it takes (`pathNote`, a comment line; empty on mma.sync), the device
/// headers, on the warpgroup path the sm_90a guard, and its namespace
/// opened.
std::string AttentionKernelPrinter::headerOpening(StringRef pathNote) {
  std::string text;
  llvm::raw_string_ostream h(text);
  h << banner() << pathNote
    << "#include \"" << kDeviceUmbrellaHeader << "\"\n"
    << "#include \"" << kDeviceIndexMathHeader << "\"\n";
  if (wgmma)
    h << "#if !defined(FG_HAVE_WGMMA)\n"
      << "#error \"algorithm " << stringifyAlgorithm(kernel.getSchedule().getAlgorithm())
      << " needs wgmma: compile for sm_90a\"\n"
      << "#endif\n";
  h << "\nnamespace " << kernel.getSymName() << "_k {\n\n";
  return text;
}

/// The element type and the tile, stage and warp counts (both algorithms).
Type AttentionKernelPrinter::elementType() {
  return cast<TypeAttr>(kernel.getProblem().get("element_type")).getValue();
}

std::string AttentionKernelPrinter::tileConstants() {
  ScheduleAttr s = kernel.getSchedule();
  std::string text;
  llvm::raw_string_ostream h(text);
  h << "using Elem = " << elementTypeName(elementType()) << ";\n"
    << "constexpr int kHeadDim = " << problemInt("head_dim") << ";\n"
    << "constexpr int kValueDim = " << problemInt("value_dim") << ";\n"
    << "constexpr int kTileQ = " << s.getTileQ() << ";   // query rows per CTA\n"
    << "constexpr int kTileK = " << s.getTileKv() << ";    // keys per pipeline stage\n"
    << "constexpr int kStages = " << s.getStages() << ";\n"
    << "constexpr int kWarps = " << s.getWarps() << ";\n"
    << "constexpr int kThreads = kWarps * 32;\n";
  return text;
}

/// The softmax's scale: kSoftmaxScale turns what the score tile holds into
/// an exp2 argument. With a score_mod the tile holds what the region
/// yields, the region seeing q k^T * kScoreScale; without one, q k^T, and
/// both factors fold into kSoftmaxScale (the problem's score_scale and
/// softmax_scale, ScoreScaling.h).
std::string AttentionKernelPrinter::softmaxConstants() {
  constexpr double kLog2e = 1.4426950408889634;
  auto factor = [&](StringRef key) {
    return cast<FloatAttr>(kernel.getProblem().get(key)).getValueAsDouble();
  };
  double scoreScale = factor("score_scale"), softmaxScale = factor("softmax_scale");
  bool scaled = scoresModified && !positionBias;
  return (scaled ? "constexpr float kScoreScale = " + floatLiteral(scoreScale) +
                       ";  // applied before score_mod\n"
                 : std::string()) +
         (positionBias ? "constexpr float kBiasScale = " + floatLiteral(1.0 / scoreScale) +
                             ";  // the score_mod's bias in units of q k^T (PositionBias.h)\n"
                       : std::string()) +
         "// exp2 of (score * kSoftmaxScale) is the softmax numerator.\n" +
         "constexpr float kSoftmaxScale = " +
         floatLiteral((scaled ? softmaxScale : scoreScale * softmaxScale) * kLog2e) +
         ";\n";
}

std::string AttentionKernelPrinter::header() {
  ScheduleAttr s = kernel.getSchedule();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");
  int64_t elementBytes = elementType().getIntOrFloatBitWidth() / 8;
  int64_t smemBytes = (s.getTileQ() * headDim +
                       s.getStages() * s.getTileKv() * (headDim + valueDim)) *
                      elementBytes;
  result.threads = s.getWarps() * 32;
  result.dynamicSmemBytes = smemBytes;

  std::string text;
  llvm::raw_string_ostream h(text);
  h << headerOpening("")
    << tileConstants();
  if (decode)
    // flash_decode: kKeyWarps warps split each key tile (Schedule::keyWarps),
    // the others its rows.
    h << "constexpr int kKeyWarps = " << keyWarpCount()
      << ";  // warps splitting a key tile\n"
      << "constexpr int kWarpKeys = kTileK / kKeyWarps; // keys per warp\n"
      << "constexpr int kWarpRows = kTileQ / (kWarps / kKeyWarps); // query rows per warp\n";
  else
    h << "constexpr int kWarpRows = kTileQ / kWarps; // query rows per warp\n";
  h << softmaxConstants()
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
    << "static_assert(kWarpRows % 16 == 0, \"a warp owns whole 16-row MMA tiles\");\n";
  if (decode)
    h << "static_assert(kWarpKeys % 16 == 0 && kWarps % kKeyWarps == 0, \"whole 16-key MMA steps a key warp\");\n"
      << "static_assert(fg::decode::key_warp_merge<kKeyWarps, kWarps / kKeyWarps, kWarpRows, "
         "kValueDim>::kBytes <= kSmemBytes, \"the key warps' merge fits in the ring\");\n";
  h << "\n} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}
/// The small-cache kernel's constants and shared-memory plan: rings of Q
/// and K head-dim chunks, two V slice buffers (schedule/AttentionCost.h's
/// plan, whose size the schedule records).
std::string AttentionKernelPrinter::headerDSplit() {
  ScheduleAttr s = kernel.getSchedule();
  result.threads = s.getWarps() * 32;
  result.dynamicSmemBytes = s.getSmemBytes();
  int64_t headDim = problemInt("head_dim"), valueDim = problemInt("value_dim");

  // The warpgroup form (flash3_dsplit) keeps the same plan in wgmma's
  // 128-byte-swizzle tiles, 1024-byte aligned inside kSmemAlign of slack.
  const char *tile = wgmma ? "fg::wg_tile" : "fg::smem_tile";
  std::string text;
  llvm::raw_string_ostream h(text);
  h << headerOpening(wgmma ? "// sm_90a warpgroup path (wgmma): " +
                                 std::to_string(s.getWarps() / 4) +
                                 " warpgroup(s) of 64 query rows.\n"
                           : std::string())
    << tileConstants()
    << "constexpr int kWarpRows = kTileQ / kWarps; // query rows per warp\n";
  if (wgmma)
    h << "constexpr int kGroupRows = 4 * kWarpRows;  // 64: the warpgroup's rows (wgmma M)\n"
      << "constexpr int kPvN = 0;  // one O += P V wgmma per K step, all kTileDv columns\n"
      << "static_assert(kWarpRows == 16 && kWarps % 4 == 0, \"warpgroups of 4 warps, 16 rows per warp\");\n";
  h << "constexpr int kTileD = " << s.getTileD() << ";   // head-dim chunk of Q and K\n"
    << "constexpr int kTileDv = " << s.getTileDv() << ";  // value columns per CTA\n"
    << "constexpr int kValueSlices = " << valueDim / s.getTileDv() << ";\n"
    << "constexpr int kChunks = " << headDim / s.getTileD() << "; // per key tile\n"
    << softmaxConstants()
    << "using QChunk = " << tile << "<Elem, kTileQ, kTileD>;\n"
    << "using KChunk = " << tile << "<Elem, kTileK, kTileD>;\n"
    << "using VSlice = " << tile << "<Elem, kTileK, kTileDv>;\n"
    << (residentQuery ? "using QRing = fg::smem_ring<QChunk, kChunks>;  // resident: every chunk, copied once\n"
                      : "using QRing = fg::smem_ring<QChunk, kStages>;\n")
    << "using KRing = fg::smem_ring<KChunk, kStages>;\n"
    << "using VRing = fg::smem_ring<VSlice, 2>;\n"
    << "constexpr int kSmemQ = 0;\n"
    << "constexpr int kSmemK = kSmemQ + QRing::kBytes;\n"
    << "constexpr int kSmemV = kSmemK + KRing::kBytes;\n"
    << "constexpr int kSmemBytes = kSmemV + VRing::kBytes"
    << (wgmma ? " + fg::wg::kSmemAlign;\n" : ";\n")
    << "static_assert(kSmemBytes == " << s.getSmemBytes()
    << ", \"shared-memory plan differs from the schedule's\");\n"
    << "// The output slice is staged through the rings for whole-line stores\n"
    << "// when its rows fit there (all copies landed and read by then).\n"
    << "using OTile = " << tile << "<Elem, kTileQ, kTileDv>;\n"
    << "constexpr bool kStageOutput = OTile::kBytes <= kSmemV + VRing::kBytes;\n"
    << "static_assert(kWarpRows % 16 == 0, \"a warp owns whole 16-row MMA tiles\");\n"
    << "constexpr int kAhead = "
    << sched::dsplitPrefetchDistance(toLibrary(s.getAlgorithm()), s.getStages())
    << ";  // chunks the ring copies ahead of the one computed\n"
    << "static_assert(kAhead >= 1 && kAhead <= kChunks, \"the chunk ring runs at most one key tile ahead\");\n"
    << "static_assert(kChunks * kTileD == kHeadDim && kValueSlices * kTileDv == kValueDim,\n"
    << "              \"the chunks and slices tile the head dims\");\n\n"
    << "} // namespace " << kernel.getSymName() << "_k\n\n";
  return text;
}

int64_t AttentionKernelPrinter::keyWarpCount() {
  return decode ? toLibrary(kernel.getSchedule()).keyWarps() : 1;
}

/// The __launch_bounds__ occupancy hint: as many CTAs per SM as shared
/// memory allows, but never so many that registers would be capped below
/// what the kernel needs.
int64_t AttentionKernelPrinter::minBlocksPerSM() {
  const sched::Target &t = wgmma ? hopperTarget() : portableTarget();
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
  dsplit = splitsHeadDim(s.getAlgorithm());
  decode = splitsKeys(s.getAlgorithm());
  wgmma = usesWgmma(s.getAlgorithm());
  if (dsplit) {
    // The plan's one source (schedule/AttentionCost.h); the IR's chunk
    // products must name Q's slots exactly when it keeps Q resident.
    sched::AttentionProblem problem;
    problem.headDim = problemInt("head_dim");
    problem.valueDim = problemInt("value_dim");
    problem.elementBytes = elementType().getIntOrFloatBitWidth() / 8;
    residentQuery = sched::dsplitQueryResident(problem, toLibrary(s));
    WalkResult mismatch = kernel.walk([&](TileMmaOp mma) {
      return mma.getAccumulate() && bool(mma.getQueryStage()) != residentQuery
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (mismatch.wasInterrupted())
      return kernel.emitError()
             << "schedule " << s << (residentQuery ? " keeps Q resident" : " streams Q")
             << " (schedule::dsplitQueryResident) but its chunk products "
             << (residentQuery ? "do not name" : "name") << " Q's slot (query_stage)";
  }
  auto splits = kernel.getBody().front().getOps<WarpSpecializeOp>();
  if (!splits.empty())
    warpSplit = *splits.begin();
  kernel.walk([&](TileRoundsOp) { rounds = true; });
  if (flash3 && !warpSplit && sched::flash3Shape(toLibrary(s)).producer)
    return kernel.emitError()
           << "flash3 schedule " << s
           << " has a producer warpgroup but the kernel was not split: run "
              "flash-warp-specialize before flash-print-cuda";
  if (flash3 && failed(checkFlash3Schedule()))
    return failure();
  kernel.walk([&](ScoreMapOp map) {
    auto yield = cast<ScoreYieldOp>(map.getBody().front().getTerminator());
    if (yield.getScore() != map.getBody().front().getArgument(0))
      scoresModified = true;
  });
  positionBias = usesPositionBias(kernel);
  findSequence();
  result.entry = "flashgen_" + kernel.getSymName().str();
  result.headers = {kDeviceUmbrellaHeader, kDeviceIndexMathHeader};
  std::string params = signature();

  line() << "using namespace " << kernel.getSymName() << "_k;\n";
  if (decode) {
    line() << "const int wrow0 = (int(threadIdx.x) / 32 / kKeyWarps) * kWarpRows; // this warp's first row\n";
    line() << "const int wkey0 = (int(threadIdx.x) / 32 % kKeyWarps) * kWarpKeys; // its first key of a tile\n";
  } else {
    line() << "const int wrow0 = (int(threadIdx.x) / 32) * kWarpRows; // this warp's first row\n";
  }
  if (wgmma) {
    line() << "const int grow0 = (int(threadIdx.x) / 128) * kGroupRows; // its warpgroup's first row\n";
    line() << "const fg::u32 smem = fg::wg::smem_base(); // 1024-byte aligned (swizzle atoms)\n";
  } else {
    line() << "const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());\n";
  }
  line() << (warpSplit ? "const QRing sQs{smem + kSmemQ}; // Q's slots (flash.pipe_wait q picks sQ)\n"
             : dsplit  ? "const QRing sQ{smem + kSmemQ};  // Q's head-dim chunks\n"
                       : "const QTile sQ{smem + kSmemQ};\n");
  line() << "const KRing sK{smem + kSmemK};\n";
  line() << "const VRing sV{smem + kSmemV};\n";
  line() << "fg::acc_tile<kWarpRows, " << (dsplit ? "kTileDv" : "kValueDim") << "> acc_o;\n";
  line() << "fg::softmax_state<kWarpRows> sm;\n";
  if (failed(printBlock(kernel.getBody().front())))
    return failure();

  std::string constants = flash3 ? headerFlash3() : dsplit ? headerDSplit() : header();
  result.source = constants + kernelDefinition(std::to_string(result.threads) + ", " +
                                                   std::to_string(minBlocksPerSM()),
                                               result.entry, params, body);
  return result;
}


FailureOr<EmittedKernel> mlir::flash::emitAttentionKernel(KernelOp kernel) {
  return AttentionKernelPrinter(kernel).print();
}
