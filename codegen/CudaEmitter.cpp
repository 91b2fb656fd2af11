//===- CudaEmitter.cpp - print CUDA C++ from flash.kernel IR --------------===//
//
// Walks a flash.kernel's body in order and prints each op: scalar `arith` and
// `math` ops become C expressions, `scf.for`/`scf.if` become loops and
// branches, tile ops become calls into the device tile library. The fixed
// parts (shared-memory plan, accumulators) follow from the kernel family and
// the schedule; nothing else is fixed.
//
//===----------------------------------------------------------------------===//

#include "codegen/CudaEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::flash;

namespace {

/// Prints a float so that the CUDA compiler reads back the same f32 value.
std::string floatLiteral(double value) {
  if (std::isinf(value))
    return value > 0 ? "fg::pos_inf()" : "fg::neg_inf()";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  std::string text = buffer;
  if (text.find_first_of(".eE") == std::string::npos)
    text += ".0";
  return text + "f";
}

/// The C type a scalar MLIR type is computed in.
FailureOr<std::string> cType(Type type) {
  if (type.isIndex() || type.isInteger(32))
    return std::string("int");
  if (type.isInteger(64))
    return std::string("long long");
  if (type.isInteger(1))
    return std::string("bool");
  if (type.isF32() || type.isF16() || type.isBF16())
    return std::string("float");
  return failure();
}

/// The device library's element type name for a tensor element type.
std::string elementTypeName(Type type) {
  if (type.isBF16())
    return "fg::bf16";
  if (type.isF16())
    return "fg::f16";
  return "float";
}

class KernelPrinter {
public:
  explicit KernelPrinter(KernelOp kernel) : kernel(kernel) {}

  FailureOr<EmittedKernel> print();

private:
  KernelOp kernel;
  EmittedKernel result;
  std::string body;
  llvm::raw_string_ostream os{body};
  llvm::DenseMap<Value, std::string> names;
  unsigned nextName = 0;
  unsigned indent = 1;
  /// Whether some score_map changes the score itself (then scores are scaled
  /// before the region runs and the softmax uses log2(e) alone).
  bool scoresModified = false;

  int64_t problemInt(StringRef key) {
    return cast<IntegerAttr>(kernel.getProblem().get(key)).getInt();
  }
  std::string problemString(StringRef key) {
    return cast<StringAttr>(kernel.getProblem().get(key)).getValue().str();
  }

  llvm::raw_ostream &line() {
    for (unsigned i = 0; i < indent; ++i)
      os << "  ";
    return os;
  }
  std::string fresh() { return "v" + std::to_string(nextName++); }
  std::string name(Value value) { return names.lookup(value); }

  LogicalResult printBlock(Block &block);
  LogicalResult printOp(Operation *op);
  LogicalResult printScalar(Operation *op);
  LogicalResult printScoreMap(ScoreMapOp op);
  std::string tensorBase(StringRef tensor, Value batch, Value head);
  std::string header();
  std::string signature();
};

std::string KernelPrinter::tensorBase(StringRef tensor, Value batch,
                                      Value head) {
  return llvm::formatv("{0} + (long long)({1}) * {0}_s0 + (long long)({2}) * {0}_s1",
                       tensor, name(batch), name(head))
      .str();
}

LogicalResult KernelPrinter::printBlock(Block &block) {
  for (Operation &op : block)
    if (failed(printOp(&op)))
      return failure();
  return success();
}

/// Binary C operators for arith ops on ints, bools and floats.
static const char *binaryOperator(Operation *op) {
  return llvm::TypeSwitch<Operation *, const char *>(op)
      .Case<arith::AddIOp, arith::AddFOp>([](auto) { return "+"; })
      .Case<arith::SubIOp, arith::SubFOp>([](auto) { return "-"; })
      .Case<arith::MulIOp, arith::MulFOp>([](auto) { return "*"; })
      .Case<arith::DivSIOp, arith::DivFOp>([](auto) { return "/"; })
      .Case<arith::RemSIOp>([](auto) { return "%"; })
      .Default([](Operation *) { return nullptr; });
}

static const char *comparison(arith::CmpIPredicate p, bool &isUnsigned) {
  using P = arith::CmpIPredicate;
  isUnsigned = p == P::ult || p == P::ule || p == P::ugt || p == P::uge;
  switch (p) {
  case P::eq:
    return "==";
  case P::ne:
    return "!=";
  case P::slt:
  case P::ult:
    return "<";
  case P::sle:
  case P::ule:
    return "<=";
  case P::sgt:
  case P::ugt:
    return ">";
  case P::sge:
  case P::uge:
    return ">=";
  }
  return "==";
}

static FailureOr<const char *> comparison(arith::CmpFPredicate p) {
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::OEQ:
  case P::UEQ:
    return "==";
  case P::ONE:
  case P::UNE:
    return "!=";
  case P::OLT:
  case P::ULT:
    return "<";
  case P::OLE:
  case P::ULE:
    return "<=";
  case P::OGT:
  case P::UGT:
    return ">";
  case P::OGE:
  case P::UGE:
    return ">=";
  default:
    return failure();
  }
}

LogicalResult KernelPrinter::printScalar(Operation *op) {
  Type resultType = op->getResult(0).getType();
  FailureOr<std::string> type = cType(resultType);
  if (failed(type))
    return op->emitError() << "the CUDA emitter has no C type for "
                           << resultType;
  auto operand = [&](unsigned i) { return name(op->getOperand(i)); };
  std::string expr;

  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    Attribute value = constant.getValue();
    if (auto f = dyn_cast<FloatAttr>(value))
      names[op->getResult(0)] = floatLiteral(f.getValueAsDouble());
    else if (auto i = dyn_cast<IntegerAttr>(value))
      names[op->getResult(0)] =
          resultType.isInteger(1) ? (i.getInt() ? "true" : "false")
                                  : std::to_string(i.getInt());
    else
      return op->emitError() << "the CUDA emitter cannot print constant "
                             << value;
    return success();
  }
  if (const char *binary = binaryOperator(op)) {
    expr = "(" + operand(0) + " " + binary + " " + operand(1) + ")";
  } else if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
    bool boolean = resultType.isInteger(1);
    const char *symbol = isa<arith::AndIOp>(op)   ? (boolean ? "&&" : "&")
                         : isa<arith::OrIOp>(op) ? (boolean ? "||" : "|")
                                                 : (boolean ? "!=" : "^");
    expr = "(" + operand(0) + " " + symbol + " " + operand(1) + ")";
  } else if (isa<arith::DivUIOp, arith::RemUIOp>(op)) {
    expr = llvm::formatv("{0}((unsigned)({1}) {2} (unsigned)({3}))", *type,
                         operand(0), isa<arith::DivUIOp>(op) ? "/" : "%",
                         operand(1));
  } else if (isa<arith::FloorDivSIOp>(op)) {
    expr = "fg::floordiv(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::CeilDivSIOp>(op)) {
    expr = "fg::ceildiv(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::MinSIOp>(op)) {
    expr = "fg::imin(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::MaxSIOp>(op)) {
    expr = "fg::imax(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op)) {
    expr = "fmaxf(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::MinimumFOp, arith::MinNumFOp>(op)) {
    expr = "fminf(" + operand(0) + ", " + operand(1) + ")";
  } else if (isa<arith::NegFOp>(op)) {
    expr = "(-" + operand(0) + ")";
  } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    bool isUnsigned = false;
    const char *symbol = comparison(cmp.getPredicate(), isUnsigned);
    if (isUnsigned)
      expr = llvm::formatv("((unsigned)({0}) {1} (unsigned)({2}))", operand(0),
                           symbol, operand(1));
    else
      expr = "(" + operand(0) + " " + symbol + " " + operand(1) + ")";
  } else if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    FailureOr<const char *> symbol = comparison(cmp.getPredicate());
    if (failed(symbol))
      return op->emitError() << "the CUDA emitter cannot print predicate "
                             << arith::stringifyCmpFPredicate(cmp.getPredicate());
    expr = "(" + operand(0) + " " + *symbol + " " + operand(1) + ")";
  } else if (isa<arith::SelectOp>(op)) {
    expr = "(" + operand(0) + " ? " + operand(1) + " : " + operand(2) + ")";
  } else if (isa<arith::IndexCastOp, arith::SIToFPOp, arith::FPToSIOp,
                 arith::ExtFOp, arith::TruncFOp, arith::ExtUIOp>(op)) {
    expr = "(" + *type + ")(" + operand(0) + ")";
  } else if (isa<arith::UIToFPOp>(op)) {
    expr = "(float)(unsigned)(" + operand(0) + ")";
  } else {
    // Elementary functions: the fast hardware forms where they exist
    // (MUFU; accuracy far below bf16 rounding), libdevice otherwise.
    const char *function =
        llvm::TypeSwitch<Operation *, const char *>(op)
            .Case<math::TanhOp>([](auto) { return "fg::tanh_fast"; })
            .Case<math::ExpOp>([](auto) { return "fg::exp_fast"; })
            .Case<math::Exp2Op>([](auto) { return "fg::exp2_fast"; })
            .Case<math::LogOp>([](auto) { return "__logf"; })
            .Case<math::Log2Op>([](auto) { return "__log2f"; })
            .Case<math::SqrtOp>([](auto) { return "sqrtf"; })
            .Case<math::RsqrtOp>([](auto) { return "rsqrtf"; })
            .Case<math::AbsFOp>([](auto) { return "fabsf"; })
            .Case<math::AbsIOp>([](auto) { return "abs"; })
            .Case<math::FloorOp>([](auto) { return "floorf"; })
            .Case<math::CeilOp>([](auto) { return "ceilf"; })
            .Case<math::PowFOp>([](auto) { return "__powf"; })
            .Default([](Operation *) { return nullptr; });
    if (!function)
      return op->emitError() << "the CUDA emitter has no printing for '"
                             << op->getName() << "'";
    expr = std::string(function) + "(" + operand(0);
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      expr += ", " + operand(i);
    expr += ")";
  }
  std::string result = fresh();
  names[op->getResult(0)] = result;
  line() << "const " << *type << " " << result << " = " << expr << ";\n";
  return success();
}

LogicalResult KernelPrinter::printScoreMap(ScoreMapOp op) {
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

LogicalResult KernelPrinter::printOp(Operation *op) {
  if (op->getDialect() &&
      isa<arith::ArithDialect, math::MathDialect>(op->getDialect()))
    return printScalar(op);

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<GridMapOp>([&](GridMapOp grid) {
        static const char *kAxes[] = {"x", "y", "z"};
        for (auto [i, id] : llvm::enumerate(grid.getIds())) {
          std::string role = cast<StringAttr>(grid.getRoles()[i]).getValue().str();
          names[id] = role + "_id";
          line() << "const int " << role << "_id = int(blockIdx." << kAxes[i]
                 << ");\n";
          result.grid.push_back(
              cast<StringAttr>(grid.getExtents()[i]).getValue().str());
        }
        return success();
      })
      .Case<DimOp>([&](DimOp dim) {
        names[dim.getValue()] = "dim_" + dim.getName().str();
        return success();
      })
      .Case<scf::ForOp>([&](scf::ForOp loop) -> LogicalResult {
        if (!loop.getInitArgs().empty())
          return loop.emitError("the CUDA emitter prints loops without "
                                "loop-carried values only");
        std::string iv = fresh();
        names[loop.getInductionVar()] = iv;
        line() << "for (int " << iv << " = " << name(loop.getLowerBound())
               << "; " << iv << " < " << name(loop.getUpperBound()) << "; "
               << iv << " += " << name(loop.getStep()) << ") {\n";
        ++indent;
        if (failed(printBlock(*loop.getBody())))
          return failure();
        --indent;
        line() << "}\n";
        return success();
      })
      .Case<scf::IfOp>([&](scf::IfOp branch) -> LogicalResult {
        if (branch.getNumResults())
          return branch.emitError("the CUDA emitter prints scf.if without "
                                  "results only");
        line() << "if (" << name(branch.getCondition()) << ") {\n";
        ++indent;
        if (failed(printBlock(*branch.thenBlock())))
          return failure();
        --indent;
        if (branch.elseBlock() && !branch.elseBlock()->without_terminator().empty()) {
          line() << "} else {\n";
          ++indent;
          if (failed(printBlock(*branch.elseBlock())))
            return failure();
          --indent;
        }
        line() << "}\n";
        return success();
      })
      .Case<scf::YieldOp>([&](auto) { return success(); })
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

std::string KernelPrinter::signature() {
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

std::string KernelPrinter::header() {
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

FailureOr<EmittedKernel> KernelPrinter::print() {
  if (kernel.getFamily() != "attention")
    return kernel.emitError() << "the CUDA emitter has no kernel family '"
                              << kernel.getFamily() << "'";
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
                  std::to_string(result.threads) + ")\n" + result.entry +
                  "(\n    " + params + ") {\n" + body + "}\n";
  return result;
}

} // namespace

FailureOr<EmittedKernel> mlir::flash::emitCudaKernel(KernelOp kernel) {
  return KernelPrinter(kernel).print();
}
