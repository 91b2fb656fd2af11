//===- ArgBinder.h - Check launch arguments against a kernel ----*- C++ -*-===//
//
// Steps 1-5 of docs/bundle-format.md §3: binds symbols from tensor sizes,
// checks dtypes, static and derived dims, strides, alignment, scalars,
// constraints, launch geometry and the workspace, and computes everything the
// launch needs (grid, shared memory, scratch offsets). Pure CPU code with
// fixed-size storage: it runs before any driver call, so it is testable
// without a GPU and costs no allocation on the success path.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_ARGBINDER_H
#define FLASHGEN_RUNTIME_ARGBINDER_H

#include "flashgen/runtime.h"
#include "runtime/Manifest.h"

#include <cstdint>

namespace flashgen {

/// What the device allows. Without a device (null array) shared memory is
/// not checked.
struct DeviceLimits {
  /// Per launch of the variant: the opt-in maximum minus the entry's static
  /// shared memory.
  const int64_t *maxDynamicSharedBytes = nullptr;
  const char *arch = "";
  int ordinal = -1;
  /// The device's SM count, num_sms in the manifest's expressions (0: no
  /// device; num_sms is then 1).
  int multiprocessors = 0;
};

struct BoundLaunch {
  unsigned grid[3];
  unsigned dynamicSmemBytes;
};

struct BoundArgs {
  /// Symbol values, then scalar values (integers; f32 scalars hold 0 here),
  /// then num_sms.
  int64_t slots[kMaxSlots];
  float scalarFloat[kMaxSlots]; // by scalar index
  void *tensorData[kMaxParams];
  int64_t tensorStrides[kMaxParams][kMaxRank];
  /// Bytes from tensorData to one past the last addressable element (0 for
  /// an absent optional param).
  uint64_t tensorExtentBytes[kMaxParams];
  uint64_t scratchOffset[kMaxScratch];
  uint64_t scratchBytes[kMaxScratch];
  int64_t scratchStrides[kMaxScratch][kMaxRank];
  /// Evaluated shape of each scratch buffer, for the tensor maps that cover
  /// one (a tensor_map arg with "scratch").
  int64_t scratchDims[kMaxScratch][kMaxRank];
  uint64_t workspaceBytes;
  BoundLaunch launches[kMaxLaunches];
  /// Every output is empty (N = 0, B = 0, ...): the launch does nothing,
  /// and nothing after the per-tensor checks was bound.
  bool noop;
};

/// True when the kernel has outputs and every one passed has no elements:
/// such a launch is a no-op (docs/bundle-format.md §3).
bool outputsAreEmpty(const KernelSpec &kernel, const TensorArg *tensors,
                     size_t numTensors);

/// Offsets of scratch buffers inside a workspace are multiples of this.
constexpr uint64_t kScratchAlignment = 256;

/// Validates and binds. Messages name the argument ("o: dim 2 (N) is 1000
/// but q bound N=1024").
Status bindArguments(const KernelSpec &kernel, const VariantSpec &variant,
                     const TensorArg *tensors, size_t numTensors,
                     const ScalarArg *scalars, size_t numScalars,
                     const DeviceLimits &limits, BoundArgs &out);

/// Checks a caller-provided workspace against bound.workspaceBytes.
Status checkWorkspace(const BoundArgs &bound, const void *workspace,
                      size_t workspaceBytes);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_ARGBINDER_H
