//===- DeviceImpl.h - An open GPU and its loaded modules --------*- C++ -*-===//

#ifndef FLASHGEN_RUNTIME_DEVICEIMPL_H
#define FLASHGEN_RUNTIME_DEVICEIMPL_H

#include "flashgen/runtime.h"
#include "runtime/CudaDriver.h"

#include <mutex>
#include <string>
#include <unordered_map>

namespace flashgen {

struct Device::Impl {
  const CudaDriver *driver = nullptr;
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr; // the primary context, retained
  std::string name;
  std::string arch;
  int major = 0, minor = 0;
  int64_t maxOptinSharedBytes = 0;
  int multiprocessors = 0;

  /// Memory cache: cache key -> module loaded in this device's context.
  std::mutex moduleMutex;
  std::unordered_map<std::string, CUmodule> modules;

  /// Loads `cubin` once per key; later calls return the same module.
  Status loadModule(const std::string &key, const std::string &cubin,
                    CUmodule &out);

  ~Impl();
};

/// Makes the device's context current for a scope, restoring the caller's
/// context after. Costs one cuCtxGetCurrent when it is current already
/// (the usual case: PyTorch and the CUDA runtime use the primary context).
class ContextScope {
public:
  explicit ContextScope(const Device::Impl &dev);
  ~ContextScope();
  const Status &status() const { return status_; }

private:
  const Device::Impl &dev_;
  bool pushed_ = false;
  Status status_;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_DEVICEIMPL_H
