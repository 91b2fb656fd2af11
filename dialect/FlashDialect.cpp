//===- FlashDialect.cpp - registration of the flash dialect ---------------===//
//
// Registers the ops and attributes generated from the .td files.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::flash;

#include "dialect/FlashOpsDialect.cpp.inc"
#include "dialect/FlashEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/FlashAttrs.cpp.inc"

/// Each field's range: wide enough for every schedule the scheduler makes
/// and a hand-written one can mean, narrow enough that no lowering divides
/// by zero or unrolls without bound (issue #20: warps = 0 was a SIGFPE,
/// stages = 2^31 unbounded memory). 0 marks a field the family leaves unused.
LogicalResult
ScheduleAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                     Algorithm algorithm, int64_t tileQ, int64_t tileKv,
                     int64_t tileD, int64_t stages, int64_t warps,
                     int64_t chunk, int64_t innerQ, int64_t innerKv,
                     int64_t tileDv, int64_t smemBytes, int64_t persistent,
                     int64_t rotaryPrepass, int64_t maskLists,
                     int64_t valueSlice) {
  struct Field {
    const char *name;
    int64_t value, min, max;
  };
  const Field fields[] = {
      {"tile_q", tileQ, 0, 1024},        {"tile_kv", tileKv, 0, 1024},
      {"tile_d", tileD, 0, 1024},        {"stages", stages, 0, 16},
      {"warps", warps, 1, 32},           {"chunk", chunk, 0, 4096},
      {"inner_q", innerQ, 0, 4096},      {"inner_kv", innerKv, 0, 4096},
      {"tile_dv", tileDv, 0, 1024},      {"smem_bytes", smemBytes, 0, 1 << 24},
      {"persistent", persistent, 0, 1},
      {"rotary_prepass", rotaryPrepass, 0, 1},
      {"mask_lists", maskLists, 0, 1},
      {"value_slice", valueSlice, 0, 4096}};
  for (const Field &f : fields)
    if (f.value < f.min || f.value > f.max)
      return emitError() << "#flash.schedule " << f.name << " = " << f.value
                         << " is outside [" << f.min << ", " << f.max << "]";
  return success();
}

void FlashDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/FlashOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/FlashAttrs.cpp.inc"
      >();
}

std::string mlir::flash::dimText(int64_t size) {
  return ShapedType::isDynamic(size) ? std::string("?") : std::to_string(size);
}

std::string mlir::flash::shapeText(RankedTensorType type) {
  std::string text = "[";
  for (int64_t i = 0; i < type.getRank(); ++i)
    text += (i ? ", " : "") + dimText(type.getDimSize(i));
  return text + "]";
}

bool mlir::flash::isIdentifier(llvm::StringRef name) {
  return !name.empty() && (llvm::isAlpha(name.front()) || name.front() == '_') &&
         llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}
