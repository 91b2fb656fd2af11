//===- CudaDriver.cpp - CUDA driver API loaded at run time ----------------===//

#include "runtime/CudaDriver.h"

#include <dlfcn.h>

#include <type_traits>

namespace flashgen {

namespace {

#define FLASHGEN_STRINGIFY_EXPANDED(x) FLASHGEN_STRINGIFY(x)
#define FLASHGEN_STRINGIFY(x) #x

struct LoadResult {
  CudaDriver driver;
  Status status;
};

LoadResult load() {
  LoadResult r;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    r.status = Status(StatusCode::NoDriver,
                      std::string("no CUDA driver found: cannot load "
                                  "libcuda.so.1 (") +
                          (why ? why : "unknown reason") + ")");
    return r;
  }
  std::string missing;
  auto resolve = [&](auto &slot, const char *name, bool required) {
    void *sym = dlsym(lib, name);
    if (!sym && required)
      missing += std::string(missing.empty() ? "" : ", ") + name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(sym);
  };
  CudaDriver &d = r.driver;
#define FLASHGEN_RESOLVE(field, fn, required)                                  \
  resolve(d.field, FLASHGEN_STRINGIFY_EXPANDED(fn), required)
  FLASHGEN_RESOLVE(init, cuInit, true);
  FLASHGEN_RESOLVE(driverGetVersion, cuDriverGetVersion, true);
  FLASHGEN_RESOLVE(getErrorName, cuGetErrorName, true);
  FLASHGEN_RESOLVE(getErrorString, cuGetErrorString, true);
  FLASHGEN_RESOLVE(deviceGetCount, cuDeviceGetCount, true);
  FLASHGEN_RESOLVE(deviceGet, cuDeviceGet, true);
  FLASHGEN_RESOLVE(deviceGetAttribute, cuDeviceGetAttribute, true);
  FLASHGEN_RESOLVE(deviceGetName, cuDeviceGetName, true);
  FLASHGEN_RESOLVE(primaryCtxRetain, cuDevicePrimaryCtxRetain, true);
  FLASHGEN_RESOLVE(primaryCtxRelease, cuDevicePrimaryCtxRelease, true);
  FLASHGEN_RESOLVE(ctxGetCurrent, cuCtxGetCurrent, true);
  FLASHGEN_RESOLVE(ctxPushCurrent, cuCtxPushCurrent, true);
  FLASHGEN_RESOLVE(ctxPopCurrent, cuCtxPopCurrent, true);
  FLASHGEN_RESOLVE(ctxSynchronize, cuCtxSynchronize, true);
  FLASHGEN_RESOLVE(moduleLoadData, cuModuleLoadData, true);
  FLASHGEN_RESOLVE(moduleUnload, cuModuleUnload, true);
  FLASHGEN_RESOLVE(moduleGetFunction, cuModuleGetFunction, true);
  FLASHGEN_RESOLVE(funcGetAttribute, cuFuncGetAttribute, true);
  FLASHGEN_RESOLVE(funcSetAttribute, cuFuncSetAttribute, true);
  FLASHGEN_RESOLVE(launchKernel, cuLaunchKernel, true);
  FLASHGEN_RESOLVE(launchKernelEx, cuLaunchKernelEx, false);
  FLASHGEN_RESOLVE(tensorMapEncodeTiled, cuTensorMapEncodeTiled, false);
  FLASHGEN_RESOLVE(memAlloc, cuMemAlloc, true);
  FLASHGEN_RESOLVE(memFree, cuMemFree, true);
  FLASHGEN_RESOLVE(memsetD8Async, cuMemsetD8Async, true);
  FLASHGEN_RESOLVE(memcpyHtoD, cuMemcpyHtoD, true);
  FLASHGEN_RESOLVE(memcpyDtoH, cuMemcpyDtoH, true);
  FLASHGEN_RESOLVE(pointerGetAttributes, cuPointerGetAttributes, true);
  FLASHGEN_RESOLVE(streamSynchronize, cuStreamSynchronize, true);
  FLASHGEN_RESOLVE(memGetInfo, cuMemGetInfo, false);
  FLASHGEN_RESOLVE(streamCreate, cuStreamCreate, false);
  FLASHGEN_RESOLVE(streamDestroy, cuStreamDestroy, false);
  FLASHGEN_RESOLVE(streamIsCapturing, cuStreamIsCapturing, false);
  FLASHGEN_RESOLVE(eventCreate, cuEventCreate, false);
  FLASHGEN_RESOLVE(eventDestroy, cuEventDestroy, false);
  FLASHGEN_RESOLVE(eventRecord, cuEventRecord, false);
  FLASHGEN_RESOLVE(eventSynchronize, cuEventSynchronize, false);
  FLASHGEN_RESOLVE(eventElapsedTime, cuEventElapsedTime, false);
  // CUDA 12.8 headers map cuEventElapsedTime to cuEventElapsedTime_v2; older
  // drivers have only the original, which has the same signature and the
  // same meaning for events recorded on one context, as the tuner's are.
  if (!d.eventElapsedTime)
    resolve(d.eventElapsedTime, "cuEventElapsedTime", false);
#undef FLASHGEN_RESOLVE
  if (!missing.empty()) {
    r.status = Status(StatusCode::NoDriver,
                      "the CUDA driver (libcuda.so.1) is too old: missing " +
                          missing);
    return r;
  }
  CUresult res = d.init(0);
  if (res == CUDA_ERROR_NO_DEVICE) {
    r.status = Status(StatusCode::NoDevice, "no CUDA GPU found (cuInit: "
                                            "CUDA_ERROR_NO_DEVICE)");
    return r;
  }
  if (res != CUDA_SUCCESS) {
    Status e = d.error("cuInit", res);
    r.status = Status(StatusCode::NoDriver,
                      "no usable CUDA driver: " + e.message());
    return r;
  }
  return r; // the library stays loaded for the life of the process
}

} // namespace

Status CudaDriver::get(const CudaDriver *&out) {
  static LoadResult result = load();
  out = result.status.ok() ? &result.driver : nullptr;
  return result.status;
}

Status CudaDriver::error(const char *call, CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (getErrorName)
    getErrorName(result, &name);
  if (getErrorString)
    getErrorString(result, &text);
  StatusCode code = result == CUDA_ERROR_OUT_OF_MEMORY ? StatusCode::OutOfMemory
                                                       : StatusCode::CudaError;
  return Status(code, std::string(call) + " failed: " +
                          (name ? name : ("CUresult " + std::to_string(result))) +
                          (text ? std::string(" (") + text + ")" : ""));
}

} // namespace flashgen
