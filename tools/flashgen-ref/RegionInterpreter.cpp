//===- RegionInterpreter.cpp - evaluate score_mod / mask_mod regions ------===//

#include "tools/flashgen-ref/RegionInterpreter.h"

#include "dialect/FlashDialect.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using flashgen::cli::Scalar;

namespace {

/// Wraps an integer to the bit width of `type` (i1 stays 0/1), as the ops
/// define it; index is 64-bit here.
int64_t wrapToType(Type type, int64_t value) {
  if (type.isInteger(1))
    return value & 1;
  if (type.isInteger(32))
    return static_cast<int32_t>(static_cast<uint32_t>(value));
  return value;
}

/// Rounds to f32 where the result type is f32: the region is written in
/// f32, so the reference evaluates each op at that precision's input, in
/// float64 arithmetic.
double toType(Type type, double value) {
  if (type.isF32())
    return static_cast<double>(static_cast<float>(value));
  return value;
}

bool compareInts(arith::CmpIPredicate p, int64_t a, int64_t b) {
  using P = arith::CmpIPredicate;
  auto ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  switch (p) {
  case P::eq: return a == b;
  case P::ne: return a != b;
  case P::slt: return a < b;
  case P::sle: return a <= b;
  case P::sgt: return a > b;
  case P::sge: return a >= b;
  case P::ult: return ua < ub;
  case P::ule: return ua <= ub;
  case P::ugt: return ua > ub;
  case P::uge: return ua >= ub;
  }
  return false;
}

bool compareFloats(arith::CmpFPredicate p, double a, double b) {
  using P = arith::CmpFPredicate;
  bool unordered = std::isnan(a) || std::isnan(b);
  switch (p) {
  case P::AlwaysFalse: return false;
  case P::AlwaysTrue: return true;
  case P::OEQ: return !unordered && a == b;
  case P::OGT: return !unordered && a > b;
  case P::OGE: return !unordered && a >= b;
  case P::OLT: return !unordered && a < b;
  case P::OLE: return !unordered && a <= b;
  case P::ONE: return !unordered && a != b;
  case P::ORD: return !unordered;
  case P::UEQ: return unordered || a == b;
  case P::UGT: return unordered || a > b;
  case P::UGE: return unordered || a >= b;
  case P::ULT: return unordered || a < b;
  case P::ULE: return unordered || a <= b;
  case P::UNE: return unordered || a != b;
  case P::UNO: return unordered;
  }
  return false;
}

/// arith.shli / shrui / shrsi on i32 or i64 (the verifier refuses index),
/// an amount outside [0, width) defined as in the kernels (index_math.cuh,
/// docs/semantics.md §2.7): 0, or the sign for shrsi.
int64_t shift(Operation *op, int64_t value, int64_t amount) {
  const unsigned width = op->getResult(0).getType().getIntOrFloatBitWidth();
  const uint64_t mask = width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1;
  const uint64_t bits = uint64_t(value) & mask;
  const int64_t n = width == 64 ? amount : int64_t(int32_t(uint32_t(amount)));
  const bool inRange = n >= 0 && n < int64_t(width);
  if (isa<arith::ShLIOp>(op))
    return inRange ? int64_t(bits << n) : 0;
  if (isa<arith::ShRUIOp>(op))
    return inRange ? int64_t(bits >> n) : 0;
  const int64_t signedValue = width == 64 ? value : int64_t(int32_t(uint32_t(bits)));
  return inRange ? signedValue >> n : (signedValue < 0 ? -1 : 0);
}

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

} // namespace

Scalar flashgen::cli::interpretRegion(Region &region,
                                      const std::vector<Scalar> &arguments,
                                      const std::vector<ExtraData> &extras) {
  Block &block = region.front();
  llvm::DenseMap<Value, Scalar> values;
  for (auto [arg, value] : llvm::zip(block.getArguments(), arguments))
    values[arg] = value;
  llvm::DenseMap<Value, const ExtraData *> tensors;
  for (auto [arg, data] :
       llvm::zip(block.getArguments().drop_front(arguments.size()), extras))
    tensors[arg] = &data;
  auto get = [&](Value v) { return values.lookup(v); };

  for (Operation &op : block) {
    if (auto yield = dyn_cast<flash::YieldOp>(op))
      return get(yield.getValue());
    Value result = op.getResult(0);
    Type type = result.getType();
    auto f = [&](unsigned i) { return get(op.getOperand(i)).f; };
    auto n = [&](unsigned i) { return get(op.getOperand(i)).i; };
    auto setF = [&](double x) { values[result] = Scalar::ofFloat(toType(type, x)); };
    auto setI = [&](int64_t x) { values[result] = Scalar::ofInt(wrapToType(type, x)); };

    llvm::TypeSwitch<Operation *>(&op)
        .Case<arith::ConstantOp>([&](arith::ConstantOp c) {
          if (auto fa = dyn_cast<FloatAttr>(c.getValue()))
            setF(fa.getValueAsDouble());
          else
            setI(cast<IntegerAttr>(c.getValue()).getValue().getSExtValue());
        })
        .Case<tensor::ExtractOp>([&](tensor::ExtractOp extract) {
          const ExtraData *data = tensors.lookup(extract.getTensor());
          if (!data)
            llvm::report_fatal_error("flashgen-ref: tensor.extract of an "
                                     "extra the caller did not bind");
          // Row-major, every index clamped into its dimension
          // (docs/semantics.md §2.7).
          int64_t flat = 0;
          for (auto [d, index] : llvm::enumerate(extract.getIndices()))
            flat = flat * data->shape[d] +
                   std::clamp<int64_t>(get(index).i, 0, data->shape[d] - 1);
          double x = data->values[size_t(flat)];
          if (type.isF32())
            setF(x);
          else
            setI(int64_t(x));
        })
        .Case<arith::AddFOp>([&](auto) { setF(f(0) + f(1)); })
        .Case<arith::SubFOp>([&](auto) { setF(f(0) - f(1)); })
        .Case<arith::MulFOp>([&](auto) { setF(f(0) * f(1)); })
        .Case<arith::DivFOp>([&](auto) { setF(f(0) / f(1)); })
        .Case<arith::NegFOp>([&](auto) { setF(-f(0)); })
        .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) { setF(std::fmax(f(0), f(1))); })
        .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) { setF(std::fmin(f(0), f(1))); })
        .Case<arith::CmpFOp>([&](arith::CmpFOp c) { setI(compareFloats(c.getPredicate(), f(0), f(1))); })
        .Case<arith::CmpIOp>([&](arith::CmpIOp c) { setI(compareInts(c.getPredicate(), n(0), n(1))); })
        .Case<arith::SelectOp>([&](auto) {
          values[result] = n(0) ? get(op.getOperand(1)) : get(op.getOperand(2));
        })
        .Case<arith::AddIOp>([&](auto) { setI(n(0) + n(1)); })
        .Case<arith::SubIOp>([&](auto) { setI(n(0) - n(1)); })
        .Case<arith::MulIOp>([&](auto) { setI(n(0) * n(1)); })
        .Case<arith::DivSIOp>([&](auto) { setI(n(1) ? n(0) / n(1) : 0); })
        .Case<arith::RemSIOp>([&](auto) { setI(n(1) ? n(0) % n(1) : 0); })
        .Case<arith::DivUIOp>([&](auto) { setI(n(1) ? int64_t(uint64_t(n(0)) / uint64_t(n(1))) : 0); })
        .Case<arith::RemUIOp>([&](auto) { setI(n(1) ? int64_t(uint64_t(n(0)) % uint64_t(n(1))) : 0); })
        .Case<arith::FloorDivSIOp>([&](auto) { setI(n(1) ? floorDiv(n(0), n(1)) : 0); })
        .Case<arith::MaxSIOp>([&](auto) { setI(std::max(n(0), n(1))); })
        .Case<arith::MinSIOp>([&](auto) { setI(std::min(n(0), n(1))); })
        .Case<arith::AndIOp>([&](auto) { setI(n(0) & n(1)); })
        .Case<arith::OrIOp>([&](auto) { setI(n(0) | n(1)); })
        .Case<arith::XOrIOp>([&](auto) { setI(n(0) ^ n(1)); })
        .Case<arith::ShLIOp, arith::ShRUIOp, arith::ShRSIOp>([&](auto) {
          setI(shift(&op, n(0), n(1)));
        })
        .Case<arith::IndexCastOp, arith::ExtUIOp>([&](auto) { setI(n(0)); })
        .Case<arith::SIToFPOp>([&](auto) { setF(double(n(0))); })
        .Case<arith::UIToFPOp>([&](auto) { setF(double(uint64_t(n(0)))); })
        .Case<arith::FPToSIOp>([&](auto) { setI(int64_t(std::trunc(f(0)))); })
        .Case<arith::ExtFOp, arith::TruncFOp>([&](auto) { setF(f(0)); })
        .Case<math::TanhOp>([&](auto) { setF(std::tanh(f(0))); })
        .Case<math::ExpOp>([&](auto) { setF(std::exp(f(0))); })
        .Case<math::Exp2Op>([&](auto) { setF(std::exp2(f(0))); })
        .Case<math::LogOp>([&](auto) { setF(std::log(f(0))); })
        .Case<math::Log2Op>([&](auto) { setF(std::log2(f(0))); })
        .Case<math::SqrtOp>([&](auto) { setF(std::sqrt(f(0))); })
        .Case<math::RsqrtOp>([&](auto) { setF(1.0 / std::sqrt(f(0))); })
        .Case<math::AbsFOp>([&](auto) { setF(std::fabs(f(0))); })
        .Case<math::AbsIOp>([&](auto) { setI(n(0) < 0 ? -n(0) : n(0)); })
        .Case<math::FloorOp>([&](auto) { setF(std::floor(f(0))); })
        .Case<math::CeilOp>([&](auto) { setF(std::ceil(f(0))); })
        .Case<math::PowFOp>([&](auto) { setF(std::pow(f(0), f(1))); })
        .Default([&](Operation *other) {
          // The verifier admits only the ops above (dialect/RegionOps.cpp);
          // reaching this means the two lists disagree.
          llvm::report_fatal_error(llvm::Twine("flashgen-ref: no interpretation for '") +
                                   other->getName().getStringRef() +
                                   "', which the verifier allowed");
        });
  }
  llvm::report_fatal_error("flashgen-ref: region without flash.yield");
}
