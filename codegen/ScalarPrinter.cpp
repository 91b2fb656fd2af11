//===- ScalarPrinter.cpp - print scalar IR and control flow as C ----------===//

#include "codegen/ScalarPrinter.h"

#include "dialect/PagedKv.h"
#include "dialect/ScoreBias.h"
#include "dialect/Varlen.h"

#include <algorithm>
#include <cctype>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::flash;


std::string mlir::flash::floatLiteral(double value) {
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
static FailureOr<std::string> cType(Type type) {
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

/// The unsigned C type of an integer of `type`'s width, for arith's
/// unsigned comparisons and divisions (an i64 read as a 32-bit unsigned
/// would lose its high half).
static const char *unsignedType(Type type) {
  return type.isInteger(64) ? "unsigned long long" : "unsigned";
}

std::string mlir::flash::batchHeadOffset(llvm::StringRef tensor, llvm::StringRef batch,
                                         llvm::StringRef head) {
  return (tensor + " + (long long)(" + batch + ") * " + tensor + "_s0 + (long long)(" + head +
          ") * " + tensor + "_s1")
      .str();
}

std::string mlir::flash::kernelDefinition(llvm::StringRef bounds, llvm::StringRef entry,
                                          llvm::StringRef params, llvm::StringRef body) {
  return ("extern \"C\" __global__ void __launch_bounds__(" + bounds + ")\n" + entry +
          "(\n    " + params + ") {\n" + body + "}\n")
      .str();
}

std::string mlir::flash::elementTypeName(Type type) {
  if (type.isBF16())
    return "fg::bf16";
  if (type.isF16())
    return "fg::f16";
  return "float";
}

int64_t ScalarPrinter::problemInt(StringRef key) {
  return cast<IntegerAttr>(kernel.getProblem().get(key)).getInt();
}

std::string ScalarPrinter::problemString(StringRef key) {
  return cast<StringAttr>(kernel.getProblem().get(key)).getValue().str();
}

llvm::raw_ostream &ScalarPrinter::line() {
  for (unsigned i = 0; i < indent; ++i)
    os << "  ";
  return os;
}

LogicalResult ScalarPrinter::printElementRegion(Block &block, StringRef score,
                                                Value batch, Value head,
                                                bool fragmentOffsets,
                                                ArrayRef<Operation *> skipped) {
  names[block.getArgument(0)] = score.str();
  names[block.getArgument(1)] = name(batch);
  names[block.getArgument(2)] = name(head);
  names[block.getArgument(3)] = "i";
  names[block.getArgument(4)] = "j";
  if (fragmentOffsets)
    positions = PositionOffsets{block.getArgument(3), block.getArgument(4), "di", "dj"};
  LogicalResult printed = success();
  for (Operation &inner : block.without_terminator())
    if (!llvm::is_contained(skipped, &inner) && failed(printOp(&inner))) {
      printed = failure();
      break;
    }
  positions.reset();
  splitConversions.clear();
  return printed;
}

LogicalResult ScalarPrinter::printOutputModOver(Block &block, StringRef tile,
                                                StringRef row0, StringRef col0,
                                                Value batch, Value head) {
  line() << "fg::warp::for_each_at(" << tile << ", " << row0 << ", " << col0
         << ", [&](int i, int j, int di, int dj, float& x) {\n";
  ++indent;
  if (failed(printElementRegion(block, "x", batch, head)))
    return failure();
  line() << "x = " << name(cast<YieldOp>(block.getTerminator()).getValue()) << ";\n";
  --indent;
  line() << "});\n";
  return success();
}

/// Prints the scalar ops of a region body (not its terminator). math.log1p
/// has no ScalarPrinter form: it is libdevice's log1pf here, accurate where
/// log(1 + x) would round 1 + x away.
LogicalResult ScalarPrinter::printRegionOps(Block &block) {
  for (Operation &inner : block.without_terminator()) {
    if (auto log1p = dyn_cast<math::Log1pOp>(inner)) {
      std::string result = fresh();
      names[log1p.getResult()] = result;
      line() << "const float " << result << " = log1pf(" << name(log1p.getOperand())
             << ");\n";
      continue;
    }
    if (failed(printOp(&inner)))
      return failure();
  }
  return success();
}

LogicalResult ScalarPrinter::printBlock(Block &block) {
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

bool ScalarPrinter::distributesOver(Operation *user, Value conversion) {
  if (!isa<arith::MulFOp>(user) || !user->getResult(0).getType().isF32())
    return false;
  Value other = user->getOperand(0) == conversion ? user->getOperand(1)
                                                  : user->getOperand(0);
  return other != conversion && !dependsOnPositions(other);
}

SplitConversion
mlir::flash::splitConversionTerms(StringRef cType, StringRef value,
                                  std::pair<int64_t, int64_t> coefficients,
                                  StringRef rowOffset, StringRef colOffset) {
  auto term = [](int64_t c, StringRef offset) -> std::string {
    if (c == 0)
      return "";
    return c == 1 ? offset.str() : std::to_string(c) + " * " + offset.str();
  };
  std::string rowTerm = term(coefficients.first, rowOffset);
  std::string colTerm = term(coefficients.second, colOffset);
  std::string offset = "(" + rowTerm +
                       (rowTerm.empty() || colTerm.empty() ? "" : " + ") +
                       colTerm + ")";
  return {"(" + cType.str() + ")(" + value.str() + " - " + offset + ")",
          "(" + cType.str() + ")" + offset};
}

bool ScalarPrinter::dependsOnPositions(Value value) {
  return positions && dependsOnAny(value, {positions->row, positions->col});
}

std::optional<std::pair<int64_t, int64_t>>
ScalarPrinter::positionCoefficients(Value value) {
  if (!positions)
    return std::nullopt;
  return flash::positionCoefficients(value, positions->row, positions->col);
}

/// Whether every user of v hands it to a region of its own (a score map's
/// batch and head), which may not read it: its C++ variable may go unused.
static bool onlyRegionOperand(Value v) {
  return !v.use_empty() && llvm::all_of(v.getUsers(), [](Operation *user) {
    return user->getNumRegions() > 0 && !isa<scf::IfOp, scf::ForOp>(user);
  });
}

LogicalResult ScalarPrinter::printScalar(Operation *op) {
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
  auto divisor = isa<arith::DivFOp>(op)
                     ? op->getOperand(1).getDefiningOp<arith::ConstantFloatOp>()
                     : arith::ConstantFloatOp();
  // A factor the positions do not reach times a split conversion (see
  // ScalarPrinter::splitConversions).
  std::optional<unsigned> splitFactor;
  if (isa<arith::MulFOp>(op))
    for (unsigned k = 0; k < 2 && !splitFactor; ++k)
      if (splitConversions.count(op->getOperand(k)) &&
          distributesOver(op, op->getOperand(k)))
        splitFactor = 1 - k;
  if (splitFactor) {
    const auto &[lane, offset] = splitConversions[op->getOperand(1 - *splitFactor)];
    std::string factor = operand(*splitFactor);
    expr = "fmaf(" + factor + ", " + offset + ", " + factor + " * " + lane + ")";
  } else if (divisor && divisor.value().convertToDouble() != 0.0) {
    // Division by a constant becomes a multiplication by its reciprocal: an
    // IEEE division is a ~20-instruction sequence per score element, the
    // product differs from it by at most one ulp of f32.
    expr = "(" + operand(0) + " * " +
           floatLiteral(1.0 / divisor.value().convertToDouble()) + ")";
  } else if (const char *binary = binaryOperator(op)) {
    expr = "(" + operand(0) + " " + binary + " " + operand(1) + ")";
  } else if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
    bool boolean = resultType.isInteger(1);
    const char *symbol = isa<arith::AndIOp>(op)   ? (boolean ? "&&" : "&")
                         : isa<arith::OrIOp>(op) ? (boolean ? "||" : "|")
                                                 : (boolean ? "!=" : "^");
    expr = "(" + operand(0) + " " + symbol + " " + operand(1) + ")";
  } else if (isa<arith::DivUIOp, arith::RemUIOp>(op)) {
    expr = llvm::formatv("{0}(({1})({2}) {3} ({1})({4}))", *type,
                         unsignedType(resultType), operand(0),
                         isa<arith::DivUIOp>(op) ? "/" : "%", operand(1));
  } else if (isa<arith::ShLIOp, arith::ShRUIOp, arith::ShRSIOp>(op)) {
    // Out-of-range amounts are defined there (index_math.cuh).
    const char *helper = isa<arith::ShLIOp>(op)    ? "fg::shl"
                         : isa<arith::ShRUIOp>(op) ? "fg::shr_u"
                                                   : "fg::shr_s";
    expr = std::string(helper) + "(" + operand(0) + ", " + operand(1) + ")";
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
      expr = llvm::formatv("(({0})({1}) {2} ({0})({3}))",
                           unsignedType(cmp.getLhs().getType()), operand(0),
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
  } else if (auto coefficients = isa<arith::SIToFPOp>(op)
                                      ? positionCoefficients(op->getOperand(0))
                                      : std::nullopt;
             coefficients && *coefficients != std::make_pair(int64_t(0), int64_t(0))) {
    // See ScalarPrinter::positions.
    auto [lane, offsetTerm] =
        splitConversionTerms(*type, operand(0), *coefficients,
                             positions->rowOffset, positions->colOffset);
    Value converted = op->getResult(0);
    splitConversions[converted] = {lane, offsetTerm};
    // Where every use distributes the product, the sum is never read.
    if (resultType.isF32() &&
        llvm::all_of(converted.getUsers(), [&](Operation *user) {
          return distributesOver(user, converted);
        }))
      return success();
    expr = "(" + lane + " + " + offsetTerm + ")";
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
  std::string result = resultName(op);
  names[op->getResult(0)] = result;
  line() << (partialReader || onlyRegionOperand(op->getResult(0)) ? "[[maybe_unused]] const " : "const ")
         << *type << " " << result << " = " << expr << ";\n";
  return success();
}

std::string ScalarPrinter::resultName(Operation *op) {
  auto named = op->getAttrOfType<StringAttr>(kValueNameAttr);
  if (!named || !isIdentifier(named.getValue()))
    return fresh();
  int uses = valueNameUses[named.getValue()]++;
  return named.getValue().str() + (uses ? "_" + std::to_string(uses) : "");
}

LogicalResult ScalarPrinter::printOp(Operation *op) {
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
        result.grid.resize(3, "1"); // the axes the grid does not use
        return success();
      })
      .Case<SequenceOp>([&](SequenceOp sequence) { return printSequence(sequence); })
      .Case<ExitIfOp>([&](ExitIfOp exit) {
        line() << "if (" << name(exit.getCondition()) << ") return;  // no rows of this sequence\n";
        return success();
      })
      .Case<LaunchDependentsOp>([&](auto) {
        line() << "fg::ptx::launch_dependents();  // the next launch's CTAs may start\n";
        return success();
      })
      .Case<WaitPreviousLaunchOp>([&](auto) {
        line() << "fg::ptx::wait_previous_launch();  // the previous launch's writes\n";
        result.overlapsPrevious = true;
        return success();
      })
      .Case<DimOp>([&](DimOp dim) {
        names[dim.getValue()] = "dim_" + dim.getName().str();
        return success();
      })
      .Case<ExtraOp>([&](ExtraOp extra) {
        names[extra.getTensor()] = "x_" + extra.getName().str();
        return success();
      })
      .Case<LaunchValueOp>([&](LaunchValueOp value) {
        names[value.getValue()] = "lv_" + value.getName().str();
        return success();
      })
      .Case<tensor::ExtractOp>([&](auto) { return printExtract(op); })
      .Case<scf::ForOp>([&](scf::ForOp loop) -> LogicalResult {
        // Loop-carried values are variables declared before the loop, the
        // iteration's arguments and the loop's results alike; the yield
        // assigns them once every yielded value is computed.
        std::vector<std::string> carried;
        for (auto [init, arg, res] : llvm::zip(loop.getInitArgs(),
                                              loop.getRegionIterArgs(),
                                              loop.getResults())) {
          FailureOr<std::string> type = cType(arg.getType());
          if (failed(type))
            return loop.emitError() << "the CUDA emitter has no C type for "
                                       "the loop-carried "
                                    << arg.getType();
          std::string var = fresh();
          line() << *type << " " << var << " = " << name(init) << ";\n";
          names[arg] = var;
          names[res] = var;
          carried.push_back(var);
        }
        std::string iv = fresh();
        names[loop.getInductionVar()] = iv;
        // A reduction's iterations are independent but for the carried
        // values: unrolled, their loads are in flight together.
        if (!carried.empty())
          line() << "#pragma unroll 8\n";
        line() << "for (int " << iv << " = " << name(loop.getLowerBound())
               << "; " << iv << " < " << name(loop.getUpperBound()) << "; "
               << iv << " += " << name(loop.getStep()) << ") {\n";
        ++indent;
        if (failed(printBlock(*loop.getBody())))
          return failure();
        // Through copies: a yielded value may be another carried variable.
        auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
        std::vector<std::string> next;
        for (Value value : yield.getOperands()) {
          next.push_back(fresh());
          line() << "const " << *cType(value.getType()) << " " << next.back()
                 << " = " << name(value) << ";\n";
        }
        for (auto [var, copy] : llvm::zip(carried, next))
          line() << var << " = " << copy << ";\n";
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
      .Default([&](Operation *other) { return printKernelOp(other); });
}


void ScalarPrinter::printExtraParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  llvm::SmallVector<ExtraOp> extras;
  kernel.walk([&](ExtraOp extra) {
    if (llvm::none_of(extras, [&](ExtraOp seen) {
          return seen.getName() == extra.getName();
        }))
      extras.push_back(extra);
  });
  for (ExtraOp extra : extras) {
    RankedTensorType type = extra.getTensor().getType();
    std::string c = *cType(type.getElementType()), name = extra.getName().str();
    if (type.getRank() == 0) {
      sep() << c << " x_" << name;
      result.arguments.push_back({KernelArgument::Kind::Scalar, name});
      continue;
    }
    sep() << "const " << c << "* __restrict__ x_" << name;
    for (int64_t d = 0; d < type.getRank(); ++d)
      sep() << "long long x_" << name << "_s" << d;
    result.arguments.push_back({KernelArgument::Kind::Tensor, name});
  }
}

LogicalResult ScalarPrinter::printExtract(Operation *op) {
  auto extract = cast<tensor::ExtractOp>(op);
  auto extra = extract.getTensor().getDefiningOp<ExtraOp>();
  if (!extra)
    return op->emitError() << "the CUDA emitter reads tensors only from "
                              "flash.extra operands";
  FailureOr<std::string> type = cType(extract.getResult().getType());
  if (failed(type))
    return op->emitError() << "the CUDA emitter has no C type for "
                           << extract.getResult().getType();
  std::string pointer = name(extract.getTensor()), expr;
  RankedTensorType tensorType = extra.getTensor().getType();
  if (tensorType.getRank() == 0) {
    expr = pointer;
  } else {
    // Every index is clamped into its dimension (docs/semantics.md §2.7):
    // score_map also runs on a tile's rows and columns past the lengths,
    // whose scores the mask then drops, so their reads must stay in bounds.
    std::string offset;
    for (auto [d, index] : llvm::enumerate(extract.getIndices()))
      offset += (offset.empty() ? "" : " + ") +
                clampedExtraOffset(extra, int64_t(d), name(index));
    expr = "__ldg(" + pointer + " + " + offset + ")";
  }
  std::string result = fresh();
  names[extract.getResult()] = result;
  line() << "const " << *type << " " << result << " = " << expr << ";\n";
  return success();
}

std::string ScalarPrinter::extraExtent(ExtraOp extra, int64_t d) {
  RankedTensorType type = extra.getTensor().getType();
  if (!ShapedType::isDynamic(type.getDimSize(d)))
    return std::to_string(type.getDimSize(d));
  unsigned dynamic = 0;
  for (int64_t e = 0; e < d; ++e)
    dynamic += ShapedType::isDynamic(type.getDimSize(e));
  return name(extra.getSizes()[dynamic]);
}

std::string ScalarPrinter::clampedExtraOffset(ExtraOp extra, int64_t d,
                                              StringRef index) {
  return llvm::formatv("(long long)fg::imin(fg::imax({0}, 0), {1} - 1) * {2}_s{3}",
                       index, extraExtent(extra, d), name(extra.getTensor()), d)
      .str();
}

PersistentTiles mlir::flash::persistentTiles(ArrayAttr extents) {
  PersistentTiles out;
  std::string gridExtent;
  for (Attribute extent : extents) {
    StringRef text = cast<StringAttr>(extent).getValue();
    out.extents.push_back("(" + extentToCpp(text) + ")");
    out.tiles += (out.tiles.empty() ? "" : " * ") + out.extents.back();
    gridExtent += (gridExtent.empty() ? "" : "*") + ("(" + text + ")").str();
  }
  out.grid = {"min(" + gridExtent + ",num_sms)", "1", "1"};
  return out;
}

std::string PersistentTiles::id(StringRef tile, size_t i) const {
  std::string stride = "1";
  for (size_t j = 0; j < i; ++j)
    stride += " * " + extents[j];
  return ("(" + tile + " / (" + stride + ")) % " + extents[i]).str();
}

std::string mlir::flash::extentToCpp(llvm::StringRef extent) {
  std::string out;
  for (size_t i = 0; i < extent.size();) {
    char c = extent[i];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < extent.size() &&
             (std::isalnum(static_cast<unsigned char>(extent[j])) || extent[j] == '_'))
        ++j;
      llvm::StringRef word = extent.slice(i, j);
      if (word == "cdiv")
        out += "fg::ceildiv";
      else if (word == "min")
        out += "fg::imin";
      else if (word == "max")
        out += "fg::imax";
      else
        out += "dim_" + word.str();
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

void ScalarPrinter::printLaunchValueParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  llvm::SmallVector<LaunchValueOp> values;
  kernel.walk([&](LaunchValueOp value) {
    if (llvm::none_of(values, [&](LaunchValueOp seen) {
          return seen.getName() == value.getName();
        }))
      values.push_back(value);
  });
  for (LaunchValueOp value : values) {
    sep() << "int lv_" << value.getName();
    KernelArgument arg{KernelArgument::Kind::Expr, value.getName().str()};
    arg.expr = value.getExpr().str();
    result.arguments.push_back(arg);
  }
}

LogicalResult ScalarPrinter::printSequence(SequenceOp op) {
  std::string batch = name(op.getBatch());
  auto side = [&](bool packed, StringRef cu, StringRef totalDim, StringRef dim,
                  Value length, std::string &row0,
                  const std::vector<std::string> &tensors, bool withLse) {
    if (!packed && length.use_empty())
      return; // (a recurrence's one side: nothing reads the other)
    std::string len = fresh();
    names[length] = len;
    if (!packed) {
      line() << "[[maybe_unused]] const int " << len << " = dim_" << dim << ";\n";
      return;
    }
    // Offsets are clamped into the packed rows (and each end to at least
    // its start), so no cu_seqlens makes a kernel touch a row outside them.
    row0 = fresh();
    std::string c = cu.str(), total = "dim_" + totalDim.str();
    line() << "const int " << row0 << " = fg::imin(fg::imax(" << c << "[(long long)(" << batch
           << ") * " << c << "_s0], 0), " << total << ");\n";
    line() << "const int " << len << " = fg::imin(fg::imax(" << c << "[(long long)(" << batch
           << " + 1) * " << c << "_s0], " << row0 << "), " << total << ") - " << row0 << ";\n";
    for (const std::string &t : tensors) {
      std::string p = t + "_packed";
      bool output = llvm::is_contained(outputRowTensors, t);
      auto form = packedForms.find(t);
      std::string type = form == packedForms.end() ? "Elem" : form->second.first;
      int rank = form == packedForms.end() ? 3 : form->second.second;
      line() << (output ? "" : "const ") << type << "* __restrict__ " << t << " = "
             << (llvm::is_contained(optionalRowTensors, t) ? p + " == nullptr ? nullptr : " : "")
             << p << " + (long long)(" << row0 << ") * " << p << "_s0;\n";
      // As a [B, H, N(, D)] tensor: no batch stride, then the head's, the row's
      // (and the element's).
      line() << "[[maybe_unused]] const long long " << t << "_s0 = 0, " << t << "_s1 = " << p << "_s1, "
             << t << "_s2 = " << p << "_s0";
      if (rank == 3)
        os << ", " << t << "_s3 = " << p << "_s2";
      os << ";\n";
    }
    if (withLse) {
      // The rows' log-sum-exp, packed [Hq, Tq].
      line() << "float* __restrict__ lse = lse_packed == nullptr ? nullptr : lse_packed + (long long)("
             << row0 << ") * lse_packed_s1;\n";
      line() << "[[maybe_unused]] const long long lse_s0 = 0, lse_s1 = lse_packed_s0, lse_s2 = "
                "lse_packed_s1;\n";
    }
  };
  line() << "// sequence " << batch << " of the packed batch (dialect/Varlen.h)\n";
  side(op.getPackedQueries(), kCuSeqlensQ, packedRowsDimName(op.getQueryDim()),
       op.getQueryDim(), op.getQueries(), queryRow0, queryTensors, lseWithQueries);
  side(op.getPackedKeys(), kCuSeqlensK, packedRowsDimName(op.getKeyDim()),
       op.getKeyDim(), op.getKeys(), keyRow0, keyTensors, false);
  if (op.getPackedQueries())
    printSequenceScratch(op.getBatch());
  return success();
}

void ScalarPrinter::findSequence() {
  kernel.walk([&](SequenceOp sequence) {
    packedQueries = sequence.getPackedQueries();
    packedKeys = sequence.getPackedKeys();
  });
}

std::string ScalarPrinter::rotaryTables(Value cos, Value sin, Value batch) {
  bool perSequence = cast<RankedTensorType>(cos.getType()).getRank() == 3;
  int64_t p = perSequence ? 1 : 0;
  auto table = [&](Value t) {
    std::string x = name(t);
    std::string base = x;
    if (perSequence) // one table per sequence, the index clamped like any extra's
      base += " + " + clampedExtraOffset(t.getDefiningOp<ExtraOp>(), 0, name(batch));
    return base + ", int(" + x + "_s" + std::to_string(p) + "), int(" + x + "_s" +
           std::to_string(p + 1) + ")";
  };
  return "fg::rotary::tables{" + table(cos) + ", " + table(sin) + ", int(" +
         extraExtent(cos.getDefiningOp<ExtraOp>(), p) + ")}";
}

std::string ScalarPrinter::rotaryTemplate(RotaryStyle style, int64_t dims) {
  return std::string(style == RotaryStyle::half ? "true" : "false") + ", " + std::to_string(dims);
}

void ScalarPrinter::printRowsParameter(
    llvm::function_ref<llvm::raw_ostream &()> sep, llvm::StringRef tensor,
    bool output, llvm::StringRef scratch) {
  bool packed = llvm::is_contained(queryTensors, tensor) ? packedQueries : packedKeys;
  std::string param = packed ? tensor.str() + "_packed" : tensor.str();
  // The element type and packed rank (packedForms), Elem and 3 by default;
  // unpacked, one dim more (the batch).
  auto form = packedForms.find(tensor);
  std::string type = form == packedForms.end()
                         ? (kernel.getSymName() + "_k::Elem").str()
                         : form->second.first;
  int rank = (form == packedForms.end() ? 3 : form->second.second) + (packed ? 0 : 1);
  sep() << (output ? "" : "const ") << type << "* __restrict__ " << param;
  for (int d = 0; d < rank; ++d)
    sep() << "long long " << param << "_s" << d;
  if (!scratch.empty())
    result.arguments.push_back({KernelArgument::Kind::Scratch, scratch.str()});
  else
    result.arguments.push_back({KernelArgument::Kind::Tensor, tensor.str()});
}

void ScalarPrinter::printLseParameter(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  std::string lse = packedQueries ? "lse_packed" : "lse";
  sep() << "float* __restrict__ " << lse;
  for (int d = 0; d < (packedQueries ? 2 : 3); ++d)
    sep() << "long long " << lse << "_s" << d;
  result.arguments.push_back({KernelArgument::Kind::Tensor, "lse"});
}

void ScalarPrinter::printSequenceParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  kernel.walk([&](SequenceOp sequence) {
    auto offsets = [&](bool packed, llvm::StringRef cu, llvm::StringRef dim) {
      if (!packed)
        return;
      sep() << "const int* __restrict__ " << cu;
      sep() << "long long " << cu << "_s0";
      result.arguments.push_back({KernelArgument::Kind::Tensor, cu.str()});
      std::string total = packedRowsDimName(dim);
      sep() << "int dim_" << total;
      result.arguments.push_back({KernelArgument::Kind::Symbol, total});
    };
    offsets(sequence.getPackedQueries(), kCuSeqlensQ, sequence.getQueryDim());
    offsets(sequence.getPackedKeys(), kCuSeqlensK, sequence.getKeyDim());
  });
}

void ScalarPrinter::printPageTableParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  bool paged = false;
  kernel.walk([&](TileLoadOp load) { paged |= bool(load.getPageSize()); });
  if (!paged)
    return;
  // The sequences' page tables [B, pages per sequence] and the pools' page
  // count, which bounds every id read from them (dialect/PagedKv.h).
  std::string table = kPageTableName.str();
  sep() << "const int* __restrict__ " << table;
  for (int d = 0; d < 2; ++d)
    sep() << "long long " << table << "_s" << d;
  result.arguments.push_back({KernelArgument::Kind::Tensor, table});
  sep() << "int " << kPoolPagesDim.str();
  result.arguments.push_back({KernelArgument::Kind::Symbol, kPoolPagesDim.str()});
}

void ScalarPrinter::printDimParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
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
}

std::string ScalarPrinter::packedGroupBase(StringRef tensor, Value batch,
                                           Value kvHead, int64_t group) {
  return (tensor + " + (long long)(" + name(batch) + ") * " + tensor +
          "_s0 + (long long)(" + name(kvHead) + ") * " + std::to_string(group) +
          " * " + tensor + "_s1")
      .str();
}

void ScalarPrinter::printSplitScratchParameters(
    llvm::function_ref<llvm::raw_ostream &()> sep) {
  sep() << "float* __restrict__ o_split";
  sep() << "long long o_split_s0";
  sep() << "long long o_split_s1";
  result.arguments.push_back({KernelArgument::Kind::Scratch, "o_split"});
  sep() << "float* __restrict__ lse_split";
  sep() << "long long lse_split_s0";
  result.arguments.push_back({KernelArgument::Kind::Scratch, "lse_split"});
}
