//===- Rotary.cpp - rotary position embedding: the one description ------===//

#include "dialect/Rotary.h"

#include "dialect/FlashDialect.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::flash;

namespace {

template <class OpT> std::optional<Rotary> rotaryOfOp(OpT op) {
  if (!op.getRotary() || !op.getRotaryTables() ||
      op.getRotaryTables()->size() != 2)
    return std::nullopt;
  Rotary rotary;
  rotary.style = *op.getRotary();
  ArrayAttr tables = *op.getRotaryTables();
  rotary.cosName = cast<StringAttr>(tables[0]).str();
  rotary.sinName = cast<StringAttr>(tables[1]).str();
  bool foundCos = false, foundSin = false;
  for (auto [index, extra] : llvm::enumerate(op.getExtraOperands())) {
    if (extra.name == rotary.cosName) {
      rotary.cosIndex = index;
      rotary.tableType = extra.type;
      foundCos = true;
    }
    if (extra.name == rotary.sinName) {
      rotary.sinIndex = index;
      foundSin = true;
    }
  }
  if (!foundCos || !foundSin || rotary.tableType.getRank() < 2)
    return std::nullopt;
  int64_t half = rotary.tableType.getShape().back();
  if (ShapedType::isDynamic(half))
    return std::nullopt;
  rotary.dims = 2 * half;
  return rotary;
}

template <class OpT> LogicalResult verifyRotaryOf(OpT op) {
  bool hasStyle = bool(op.getRotary()), hasTables = bool(op.getRotaryTables());
  if (!hasStyle && !hasTables)
    return success();
  if (!hasStyle || !hasTables)
    return op.emitOpError() << "rotary needs both a style (half or "
                               "interleaved) and its tables [\"cos\", \"sin\"]";
  ArrayAttr tables = *op.getRotaryTables();
  if (tables.size() != 2)
    return op.emitOpError() << "rotary tables names " << tables.size()
                            << " extras: it takes two, [cos, sin]";
  llvm::StringRef names[2] = {cast<StringAttr>(tables[0]).getValue(),
                              cast<StringAttr>(tables[1]).getValue()};
  if (names[0] == names[1])
    return op.emitOpError() << "rotary tables name \"" << names[0]
                            << "\" twice: cos and sin are two extras";
  auto extras = op.getExtraOperands();
  RankedTensorType types[2];
  for (int t = 0; t < 2; ++t) {
    auto it = llvm::find_if(extras, [&](const ExtraOperand &extra) {
      return extra.name == names[t];
    });
    if (it == extras.end())
      return op.emitOpError() << "rotary table \"" << names[t]
                              << "\" is not one of the op's extras";
    types[t] = it->type;
  }
  if (types[0] != types[1])
    return op.emitOpError() << "rotary tables have types " << types[0]
                            << " and " << types[1] << ": cos and sin must match";
  RankedTensorType table = types[0];
  if (!table.getElementType().isF32())
    return op.emitOpError() << "rotary table \"" << names[0] << "\" has element type "
                            << table.getElementType() << ": the tables are f32";
  if (table.getRank() != 2 && table.getRank() != 3)
    return op.emitOpError() << "rotary table \"" << names[0] << "\" has rank "
                            << table.getRank()
                            << ": the tables are [P, R/2] or [B, P, R/2]";
  int64_t half = table.getShape().back();
  if (ShapedType::isDynamic(half) || half <= 0)
    return op.emitOpError() << "rotary table \"" << names[0]
                            << "\" needs a static last dim R/2 (the rotated "
                               "pairs), got "
                            << table;
  int64_t dims = 2 * half;
  int64_t headDim = op.getQ().getType().getDimSize(3);
  if (ShapedType::isDynamic(headDim) || dims > headDim)
    return op.emitOpError() << "rotary tables rotate R = " << dims
                            << " dims, more than the head dim " << headDim;
  int64_t chunk = *op.getRotary() == RotaryStyle::half ? 16 : 8;
  if (dims % chunk != 0)
    return op.emitOpError()
           << "rotary " << stringifyRotaryStyle(*op.getRotary()) << " rotates R = "
           << dims << " dims: R must be a multiple of " << chunk
           << " (the kernels rotate whole 16-byte chunks of 8 elements"
           << (chunk == 16 ? " in each half" : "") << ")";
  return success();
}

} // namespace

std::optional<Rotary> mlir::flash::rotaryOf(Operation *attention) {
  if (auto op = dyn_cast<AttentionOp>(attention))
    return rotaryOfOp(op);
  if (auto op = dyn_cast<AttentionGradOp>(attention))
    return rotaryOfOp(op);
  return std::nullopt;
}

LogicalResult mlir::flash::verifyRotary(Operation *attention) {
  if (auto op = dyn_cast<AttentionOp>(attention))
    return verifyRotaryOf(op);
  return verifyRotaryOf(cast<AttentionGradOp>(attention));
}
