//===- BundleWriter.h - write a bundle: sources + manifest.json -*- C++ -*-===//
//
// Writes the bundle of docs/bundle-format.md for a module whose flash ops
// have been lowered to flash.kernel ops: one .cu per kernel variant, the
// device headers, and manifest.json describing parameters, symbols, launch
// geometry, schedules and IO figures.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_CODEGEN_BUNDLEWRITER_H
#define FLASHGEN_CODEGEN_BUNDLEWRITER_H

#include "flashgen/version.h"

#include "dialect/FlashDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace mlir::flash {

struct BundleOptions {
  std::string directory;        ///< created if missing
  std::string target = "sm_90"; ///< the target the schedules were made for
  std::string flashgenVersion = FLASHGEN_VERSION_STRING;
};

/// Writes the bundle; a failure carries a diagnostic (on the op or module).
LogicalResult writeBundle(ModuleOp module, const BundleOptions &options);

/// A variant's `schedule` object in the manifest (docs/bundle-format.md
/// §1.4), also what `flashgen explain --json` prints: every field, and
/// rotary_prepass where set.
llvm::json::Object scheduleJson(ScheduleAttr s);

} // namespace mlir::flash

#endif // FLASHGEN_CODEGEN_BUNDLEWRITER_H
