//===- BundleData.h - A loaded bundle ---------------------------*- C++ -*-===//
//
// The manifest plus the text of every file it names, read once at load time:
// what is hashed into cache keys is then exactly what is compiled, even if
// the bundle directory changes on disk afterwards.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_BUNDLEDATA_H
#define FLASHGEN_RUNTIME_BUNDLEDATA_H

#include "runtime/CompileCache.h"
#include "runtime/CubinInfo.h"
#include "runtime/Manifest.h"
#include "runtime/ParamPacking.h"

#include <map>
#include <string>

namespace flashgen {

struct BundleData {
  std::string path; ///< directory, or a label for in-memory bundles
  Manifest manifest;
  std::map<std::string, std::string> files; ///< bundle-relative path -> text

  /// The compile input for source `sourceIndex` of `variant`.
  ModuleSource moduleSource(const VariantSpec &variant,
                            size_t sourceIndex) const;
};

/// Whether code scheduled for `target` runs on a device compiled for
/// `deviceArch` (docs/bundle-format.md §4); the message names both.
Status checkArchCompatible(const std::string &target,
                           const std::string &deviceArch);

/// Compiles every source of a variant for `arch` and checks each launch's
/// entry (exists, parameter table matches the manifest's packing, block
/// within launch bounds). Fills `report`; `modules` gets the compiled
/// modules in source order.
Status compileVariantModules(const BundleData &bundle, const KernelSpec &kernel,
                             int variantIndex, const std::string &arch,
                             CompileReport &report,
                             std::vector<CompiledModule> &modules);

/// The parameter packing of one launch of a compiled variant: the
/// manifest's layout, checked against the entry's cubin parameter table
/// where ptxas wrote one, with the cubin's offsets where it places tensor
/// maps (checkLayoutAgainstCubin). False with `error` on a mismatch.
bool launchParamLayout(const KernelSpec &kernel, const VariantSpec &variant,
                       const LaunchSpec &launch, const CubinFunction &entry,
                       ParamLayout &layout, std::string &error);

/// Index of the module whose cubin defines `entry`, or -1.
int findEntryModule(const std::vector<CompiledModule> &modules,
                    const std::string &entry);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_BUNDLEDATA_H
