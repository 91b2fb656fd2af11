//===- KernelImpl.h - A prepared kernel -------------------------*- C++ -*-===//
//
// Everything a launch needs is computed here once per variant: the loaded
// CUfunction of each launch, its parameter layout, its shared-memory budget.
// Kernel::launch then runs ArgBinder, packs parameters into a stack buffer
// and calls cuLaunchKernel.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_KERNELIMPL_H
#define FLASHGEN_RUNTIME_KERNELIMPL_H

#include "flashgen/runtime.h"
#include "runtime/ArgBinder.h"
#include "runtime/BundleData.h"
#include "runtime/CompileCache.h"
#include "runtime/CudaDriver.h"
#include "runtime/ParamPacking.h"
#include "runtime/TensorMaps.h"

#include <memory>
#include <vector>

namespace flashgen {

struct PreparedLaunch {
  CUfunction function = nullptr;
  ParamLayout layout;
};

struct PreparedVariant {
  bool ready = false;
  CompileReport report;
  std::vector<PreparedLaunch> launches;
  /// Per launch, for DeviceLimits.
  int64_t maxDynamicSharedBytes[kMaxLaunches] = {};
};

struct KernelImpl {
  std::shared_ptr<const BundleData> bundle;
  const KernelSpec *spec = nullptr;
  std::shared_ptr<Device> device; // null: validate and compile only
  int current = 0;
  /// selectVariant named `current`: the manifest's dispatch no longer picks.
  bool pinned = false;
  std::vector<PreparedVariant> variants;
  /// FLASHGEN_LAUNCH_CHECKS, read once.
  bool pointerChecks = true;
  /// FLASHGEN_TMA, read once: false passes zero tensor maps (cp.async).
  bool tensorMaps = true;
  /// FLASHGEN_OVERLAP_LAUNCHES, read once: false launches overlaps_previous
  /// launches the ordinary way.
  bool overlapLaunches = true;
  /// The TMA maps of recent launches (runtime/TensorMaps.h).
  std::unique_ptr<TensorMapCache> mapCache = std::make_unique<TensorMapCache>();
  /// Picks each launch's variant (Kernel::setVariantChooser); null: run
  /// `current`, so that a launch without a chooser pays one branch.
  std::unique_ptr<VariantChooser> chooser;

  /// The variant a launch with these tensors runs without a chooser: the
  /// manifest's dispatch for the size it reads (unless pinned), else
  /// `current`.
  int defaultVariant(const TensorArg *tensors, size_t numTensors) const {
    const DispatchSpec &d = spec->dispatch;
    if (pinned || !d.present() || static_cast<size_t>(d.param) >= numTensors)
      return current;
    const TensorArg &t = tensors[d.param];
    if (!t.sizes || t.rank <= d.dim)
      return current;
    return d.variantFor(t.sizes[d.dim]);
  }

  /// Kernel-owned workspace (docs/bundle-format.md §5).
  CUdeviceptr ownedWorkspace = 0;
  size_t ownedWorkspaceBytes = 0;

  KernelImpl();
  ~KernelImpl();

  /// Compiles, loads and prepares variant `index` (once).
  Status prepareVariant(int index);
  /// The two halves of prepareVariant for a device kernel. compileVariant is
  /// CPU work (NVRTC through the cache) and safe to run for different
  /// variants on several threads at once, which is how the autotuner
  /// compiles its candidates; loadVariant then loads and prepares one.
  Status compileVariant(int index, CompileReport &report,
                        std::vector<CompiledModule> &modules) const;
  Status loadVariant(int index, CompileReport report,
                     std::vector<CompiledModule> modules);
  DeviceLimits limits(int index) const;
  Status growWorkspace(size_t bytes);
  /// Validates and launches prepared variant `index`. `checkPointers` is
  /// step 6 of the checks (the autotuner skips it on its own buffers).
  Status launchVariant(int index, const TensorArg *tensors, size_t numTensors,
                       const ScalarArg *scalars, size_t numScalars,
                       const LaunchOptions &options, bool checkPointers);
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_KERNELIMPL_H
