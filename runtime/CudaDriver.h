//===- CudaDriver.h - CUDA driver API loaded at run time --------*- C++ -*-===//
//
// The runtime never links libcuda: binaries must start, and CPU tests run, on
// machines without a driver. The entry points we use are resolved once from
// libcuda.so.1 with dlopen/dlsym; each symbol name is taken from cuda.h's own
// version macros (cuMemAlloc -> cuMemAlloc_v2), so the pointer types and the
// resolved ABI always agree.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_CUDADRIVER_H
#define FLASHGEN_RUNTIME_CUDADRIVER_H

#include "flashgen/runtime.h"

#include <cuda.h>

#include <string>

namespace flashgen {

struct CudaDriver {
  decltype(&::cuInit) init = nullptr;
  decltype(&::cuDriverGetVersion) driverGetVersion = nullptr;
  decltype(&::cuGetErrorName) getErrorName = nullptr;
  decltype(&::cuGetErrorString) getErrorString = nullptr;
  decltype(&::cuDeviceGetCount) deviceGetCount = nullptr;
  decltype(&::cuDeviceGet) deviceGet = nullptr;
  decltype(&::cuDeviceGetAttribute) deviceGetAttribute = nullptr;
  decltype(&::cuDeviceGetName) deviceGetName = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primaryCtxRetain = nullptr;
  decltype(&::cuDevicePrimaryCtxRelease) primaryCtxRelease = nullptr;
  decltype(&::cuCtxGetCurrent) ctxGetCurrent = nullptr;
  decltype(&::cuCtxPushCurrent) ctxPushCurrent = nullptr;
  decltype(&::cuCtxPopCurrent) ctxPopCurrent = nullptr;
  decltype(&::cuCtxSynchronize) ctxSynchronize = nullptr;
  decltype(&::cuModuleLoadData) moduleLoadData = nullptr;
  decltype(&::cuModuleUnload) moduleUnload = nullptr;
  decltype(&::cuModuleGetFunction) moduleGetFunction = nullptr;
  decltype(&::cuFuncGetAttribute) funcGetAttribute = nullptr;
  decltype(&::cuFuncSetAttribute) funcSetAttribute = nullptr;
  decltype(&::cuLaunchKernel) launchKernel = nullptr;
  decltype(&::cuLaunchKernelEx) launchKernelEx = nullptr; // optional (12.0+)
  // Optional (12.0+): without it TMA kernels copy with cp.async.
  decltype(&::cuTensorMapEncodeTiled) tensorMapEncodeTiled = nullptr;
  decltype(&::cuMemAlloc) memAlloc = nullptr;
  decltype(&::cuMemFree) memFree = nullptr;
  decltype(&::cuMemsetD8Async) memsetD8Async = nullptr;
  decltype(&::cuMemcpyHtoD) memcpyHtoD = nullptr;
  decltype(&::cuMemcpyDtoH) memcpyDtoH = nullptr;
  decltype(&::cuPointerGetAttributes) pointerGetAttributes = nullptr;
  decltype(&::cuStreamSynchronize) streamSynchronize = nullptr;

  // Used by the autotuner only (autotune/), so optional: a driver lacking
  // one still loads, and the tuner reports which entry point is missing.
  decltype(&::cuMemGetInfo) memGetInfo = nullptr;
  decltype(&::cuStreamCreate) streamCreate = nullptr;
  decltype(&::cuStreamDestroy) streamDestroy = nullptr;
  decltype(&::cuStreamIsCapturing) streamIsCapturing = nullptr;
  decltype(&::cuEventCreate) eventCreate = nullptr;
  decltype(&::cuEventDestroy) eventDestroy = nullptr;
  decltype(&::cuEventRecord) eventRecord = nullptr;
  decltype(&::cuEventSynchronize) eventSynchronize = nullptr;
  decltype(&::cuEventElapsedTime) eventElapsedTime = nullptr;

  /// Loads libcuda.so.1 and calls cuInit(0) once per process. Fails with
  /// NoDriver (no library, missing symbols, cuInit failing for lack of a
  /// driver) or NoDevice (cuInit reports no device).
  static Status get(const CudaDriver *&out);

  /// "cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (invalid argument)".
  Status error(const char *call, CUresult result) const;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_CUDADRIVER_H
