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
#include "runtime/CudaDriver.h"
#include "runtime/ParamPacking.h"

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
  std::vector<PreparedVariant> variants;
  /// FLASHGEN_LAUNCH_CHECKS, read once.
  bool pointerChecks = true;

  /// Kernel-owned workspace (docs/bundle-format.md §5).
  CUdeviceptr ownedWorkspace = 0;
  size_t ownedWorkspaceBytes = 0;

  KernelImpl();
  ~KernelImpl();

  /// Compiles, loads and prepares variant `index` (once).
  Status prepareVariant(int index);
  DeviceLimits limits(int index) const;
  Status growWorkspace(size_t bytes);
  Status launch(const TensorArg *tensors, size_t numTensors,
                const ScalarArg *scalars, size_t numScalars,
                const LaunchOptions &options);
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_KERNELIMPL_H
