//===- SpecLoader.h - parse a spec and bind its dimensions ------*- C++ -*-===//
//
// Shared by the flashgen subcommands: parse and verify a spec file, collect
// the names of its dynamic dimensions, and turn `--dim` options into the
// pass option string, filling unbound dimensions with planning sizes.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TOOLS_FLASHGEN_SPECLOADER_H
#define FLASHGEN_TOOLS_FLASHGEN_SPECLOADER_H

#include "dialect/DimBindings.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace flashgen::cli {

/// Parses and verifies `path`; diagnostics go to stderr. Null on failure.
mlir::OwningOpRef<mlir::ModuleOp> loadSpec(mlir::MLIRContext &context,
                                           const std::string &path);

/// The names of every dynamic dimension of every flash op, with the role
/// each plays ("batch" or "length").
struct DimensionUse {
  std::string name;
  bool isBatch;
};
std::vector<DimensionUse> collectDynamicDims(mlir::ModuleOp module);

/// `NAME=VALUE,...` for the passes: every dynamic dimension, bound from
/// `given` or else from the planning sizes (batch 4, lengths 4096); each
/// defaulted name is appended to `defaulted`.
std::string dimOptionString(mlir::ModuleOp module,
                            const mlir::flash::DimValues &given,
                            std::vector<std::string> &defaulted);

/// Planning sizes used when a dimension is not bound on the command line.
constexpr int64_t kPlanningBatch = 4;
constexpr int64_t kPlanningLength = 4096;

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_SPECLOADER_H
