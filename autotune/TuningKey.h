//===- TuningKey.h - What a tuning result depends on ------------*- C++ -*-===//
//
// A tuning result is valid for exactly one compiled kernel on exactly one
// kind of GPU software stack. The tuning file's key therefore hashes
//  - the kernel's identity: its manifest description (params, symbols,
//    scalars, launches, schedules) and the sha256 of every variant source
//    and header, with the bundle's flashgen version and the
//    cache-invalidating environment (which changes the compiled code);
//  - the device: name, compute capability, driver version, NVRTC version,
//    and this runtime's flashgen version.
// The bundle's path is not part of it: a copied bundle reuses its tuning.
// The shape bucket is the key of an entry inside the file.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_TUNINGKEY_H
#define FLASHGEN_AUTOTUNE_TUNINGKEY_H

#include "flashgen/runtime.h"
#include "runtime/BundleData.h"

#include <string>

namespace flashgen {

struct DeviceIdentity {
  std::string name; ///< "NVIDIA H100 80GB HBM3"
  std::string arch; ///< "sm_90a" (informative: follows from the CC)
  int ccMajor = 0;
  int ccMinor = 0;
  int driverVersion = 0; ///< cuDriverGetVersion: 13000 for 13.0
  std::string nvrtcVersion;
  std::string flashgenVersion;

  /// "NVIDIA H100 80GB HBM3 (sm_90a, CC 9.0, driver 13.0)".
  std::string describe() const;
};

/// The identity of the device `device` runs on, under this driver and
/// runtime.
Status deviceIdentityOf(const Device &device, DeviceIdentity &out);

/// sha256 (hex) of everything about `kernel` that changes its timing.
std::string kernelIdentityHash(const BundleData &bundle,
                               const KernelSpec &kernel);

/// sha256 (hex) naming the tuning file of one kernel identity on one device.
std::string tuningFileKey(const std::string &kernelIdentity,
                          const DeviceIdentity &device);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_TUNINGKEY_H
