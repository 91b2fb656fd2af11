//===- AttentionEmitter.cpp - CUDA for the attention kernel family --------===//
//
// Prints `flash.kernel` ops of family "attention": the constants from the
// schedule and problem, the shared-memory plan, the accumulators, and the
// tile ops (loads, MMAs, score maps, online softmax, output store) as calls
// into the device tile library. Scalar code and loops come from
// ScalarPrinter.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelFamilies.h"
#include "codegen/ScalarPrinter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::flash;

namespace {

class AttentionKernelPrinter : public ScalarPrinter {
public:
  using ScalarPrinter::ScalarPrinter;
  FailureOr<EmittedKernel> print();

private:
  /// Whether some score_map changes the score itself (then scores are scaled
  /// before the region runs and the softmax uses log2(e) alone).
  bool scoresModified = false;

  LogicalResult printKernelOp(Operation *op) override;
  LogicalResult printScoreMap(ScoreMapOp op);
  std::string tensorBase(StringRef tensor, Value batch, Value head);
  std::string header();
  std::string signature();
  int64_t minBlocksPerSM();
};

/// Shared memory per SM that co-resident CTAs split (sm_80: 164 KiB, sm_90:
/// 228 KiB; the smaller keeps kernels portable), 1 KiB of it reserved per
/// CTA by the hardware.
constexpr int64_t kSmemPerSM = 164 * 1024;
constexpr int64_t kSmemReservedPerCTA = 1024;
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
        std::string tile = isQuery ? "sQ"
                                   : (tensor == "k" ? "sK" : "sV") +
                                         std::string(".stage(") +
                                         name(load.getStage()) + ")";
        std::string row0 = "(" + name(load.getRowTile()) + ") * " +
                           std::to_string(load.getRows());
        line() << "fg::cta::load_async<kThreads>(" << tile << ", "
               << tensorBase(tensor, load.getBatch(), load.getHead())
               << " + (long long)(" << row0 << ") * " << tensor.str()
               << "_s2, " << tensor.str() << "_s2, " << name(load.getExtent())
               << " - " << row0 << ");\n";
        return success();
      })
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
      .Case<TileMmaOp>([&](TileMmaOp mma) -> LogicalResult {
        std::string stage = name(mma.getStage());
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
        line() << "fg::warp::online_softmax(sm, s_tile, acc_o, kSoftmaxScale);\n";
        return success();
      })
      .Case<OutputStoreOp>([&](OutputStoreOp store) {
        std::string row0 =
            "(" + name(store.getRowTile()) + ") * kTileQ + wrow0";
        line() << "fg::cta::wait<0>();\n";
        line() << "fg::warp::finalize(sm, acc_o);\n";
        line() << "fg::warp::store_rows("
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

/// The __launch_bounds__ occupancy hint: as many CTAs per SM as shared
/// memory allows, but never so many that registers would be capped below
/// what the kernel needs.
int64_t AttentionKernelPrinter::minBlocksPerSM() {
  int64_t bySmem = kSmemPerSM / (result.dynamicSmemBytes + kSmemReservedPerCTA);
  int64_t byRegisters = 65536 / (result.threads * kRegistersNeeded);
  return std::max<int64_t>(1, std::min(bySmem, byRegisters));
}

FailureOr<EmittedKernel> AttentionKernelPrinter::print() {
  ScheduleAttr s = kernel.getSchedule();
  if (s.getStages() < 2)
    return kernel.emitError() << "schedule has " << s.getStages()
                              << " pipeline stage(s); the attention kernel "
                                 "needs at least 2";
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
  line() << "const fg::u32 smem = fg::ptx::smem_addr(fg::ptx::dynamic_smem());\n";
  line() << "const QTile sQ{smem + kSmemQ};\n";
  line() << "const KRing sK{smem + kSmemK};\n";
  line() << "const VRing sV{smem + kSmemV};\n";
  line() << "fg::acc_tile<kWarpRows, kValueDim> acc_o;\n";
  line() << "fg::warp::zero(acc_o);\n";
  line() << "fg::softmax_state<kWarpRows> sm;\n";
  line() << "fg::warp::init(sm);\n";
  if (failed(printBlock(kernel.getBody().front())))
    return failure();

  std::string constants = header();
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
