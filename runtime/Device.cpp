//===- Device.cpp - Opening GPUs ------------------------------------------===//

#include "runtime/DeviceImpl.h"

#include <map>
#include <memory>

namespace flashgen {

std::string archForComputeCapability(int major, int minor) {
  std::string arch = "sm_" + std::to_string(major) + std::to_string(minor);
  // Arch-specific features (wgmma, setmaxnreg, tcgen05) need the "a" target,
  // which runs only on exactly this compute capability -- which is what a
  // JIT compiling for the device at hand wants.
  if ((major == 9 && minor == 0) || major == 10)
    arch += "a";
  return arch;
}

ContextScope::ContextScope(const Device::Impl &dev) : dev_(dev) {
  CUcontext current = nullptr;
  CUresult r = dev.driver->ctxGetCurrent(&current);
  if (r != CUDA_SUCCESS) {
    status_ = dev.driver->error("cuCtxGetCurrent", r);
    return;
  }
  if (current == dev.context)
    return;
  r = dev.driver->ctxPushCurrent(dev.context);
  if (r != CUDA_SUCCESS) {
    status_ = dev.driver->error("cuCtxPushCurrent", r);
    return;
  }
  pushed_ = true;
}

ContextScope::~ContextScope() {
  if (pushed_) {
    CUcontext popped;
    dev_.driver->ctxPopCurrent(&popped);
  }
}

Status Device::Impl::loadModule(const std::string &key,
                                const std::string &cubin, CUmodule &out) {
  std::lock_guard<std::mutex> lock(moduleMutex);
  auto it = modules.find(key);
  if (it != modules.end()) {
    out = it->second;
    return Status::success();
  }
  ContextScope scope(*this);
  if (!scope.status().ok())
    return scope.status();
  CUresult r = driver->moduleLoadData(&out, cubin.data());
  if (r != CUDA_SUCCESS)
    return driver->error("cuModuleLoadData", r);
  modules.emplace(key, out);
  return Status::success();
}

Device::Impl::~Impl() {
  if (!driver)
    return;
  {
    ContextScope scope(*this);
    if (scope.status().ok())
      for (auto &m : modules)
        driver->moduleUnload(m.second);
  }
  if (context)
    driver->primaryCtxRelease(device);
}

Device::Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Device::~Device() = default;

int Device::ordinal() const { return impl_->ordinal; }
const std::string &Device::name() const { return impl_->name; }
const std::string &Device::arch() const { return impl_->arch; }
int Device::computeCapabilityMajor() const { return impl_->major; }
int Device::computeCapabilityMinor() const { return impl_->minor; }
int64_t Device::maxDynamicSharedBytes() const {
  return impl_->maxOptinSharedBytes;
}
int Device::multiprocessorCount() const { return impl_->multiprocessors; }

Status Device::count(int &out) {
  out = 0;
  const CudaDriver *d;
  if (Status st = CudaDriver::get(d); !st)
    return st;
  CUresult r = d->deviceGetCount(&out);
  if (r != CUDA_SUCCESS)
    return d->error("cuDeviceGetCount", r);
  return Status::success();
}

Status Device::open(int ordinal, std::shared_ptr<Device> &out) {
  out.reset();
  static std::mutex registryMutex;
  static std::map<int, std::weak_ptr<Device>> registry;

  const CudaDriver *d;
  if (Status st = CudaDriver::get(d); !st)
    return st;
  int count = 0;
  CUresult r = d->deviceGetCount(&count);
  if (r != CUDA_SUCCESS)
    return d->error("cuDeviceGetCount", r);
  if (ordinal < 0 || ordinal >= count)
    return Status(StatusCode::NoDevice,
                  "no CUDA GPU with ordinal " + std::to_string(ordinal) +
                      " (found " + std::to_string(count) + ")");

  std::lock_guard<std::mutex> lock(registryMutex);
  if (auto existing = registry[ordinal].lock()) {
    out = std::move(existing);
    return Status::success();
  }
  auto impl = std::make_unique<Impl>();
  impl->ordinal = ordinal;
  if ((r = d->deviceGet(&impl->device, ordinal)) != CUDA_SUCCESS)
    return d->error("cuDeviceGet", r);
  char name[256] = {};
  if ((r = d->deviceGetName(name, sizeof(name) - 1, impl->device)) !=
      CUDA_SUCCESS)
    return d->error("cuDeviceGetName", r);
  impl->name = name;
  int value = 0;
  auto attr = [&](CUdevice_attribute a, const char *what) -> Status {
    CUresult res = d->deviceGetAttribute(&value, a, impl->device);
    if (res != CUDA_SUCCESS)
      return d->error(what, res);
    return Status::success();
  };
  if (Status st = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                       "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
      !st)
    return st;
  impl->major = value;
  if (Status st = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                       "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
      !st)
    return st;
  impl->minor = value;
  if (Status st = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                       "cuDeviceGetAttribute(MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)");
      !st)
    return st;
  impl->maxOptinSharedBytes = value;
  if (Status st = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                       "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
      !st)
    return st;
  impl->multiprocessors = value;
  impl->arch = archForComputeCapability(impl->major, impl->minor);
  if ((r = d->primaryCtxRetain(&impl->context, impl->device)) != CUDA_SUCCESS)
    return d->error("cuDevicePrimaryCtxRetain", r);
  impl->driver = d; // from here on, ~Impl releases the context
  std::shared_ptr<Device> dev(new Device(std::move(impl)));
  registry[ordinal] = dev;
  out = std::move(dev);
  return Status::success();
}

} // namespace flashgen
