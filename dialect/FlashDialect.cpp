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
