//===- Kernel.cpp - Preparing and launching kernels -----------------------===//

#include "runtime/KernelImpl.h"

#include "runtime/DeviceImpl.h"
#include "runtime/CubinInfo.h"
#include "runtime/Env.h"

#include <atomic>
#include <cstdio>
#include <cstring>

namespace flashgen {

namespace {

Status invalid(std::string message) {
  return Status(StatusCode::InvalidArgument, std::move(message));
}

std::string hexPointer(uint64_t p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(p));
  return buf;
}

struct PointerInfo {
  unsigned int memoryType = 0;
  int ordinal = -1;
  unsigned int isManaged = 0;
  CUdeviceptr rangeStart = 0;
  size_t rangeSize = 0;
};

Status queryPointer(const CudaDriver &d, uint64_t p, PointerInfo &info) {
  CUpointer_attribute attrs[] = {
      CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
      CU_POINTER_ATTRIBUTE_IS_MANAGED, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
      CU_POINTER_ATTRIBUTE_RANGE_SIZE};
  void *data[] = {&info.memoryType, &info.ordinal, &info.isManaged,
                  &info.rangeStart, &info.rangeSize};
  // Unlike cuPointerGetAttribute, this reports an unknown pointer as memory
  // type 0 instead of failing.
  CUresult r = d.pointerGetAttributes(5, attrs, data, static_cast<CUdeviceptr>(p));
  if (r != CUDA_SUCCESS)
    return d.error("cuPointerGetAttributes", r);
  return Status::success();
}

bool isDeviceMemoryOf(const PointerInfo &info, int ordinal) {
  if (info.isManaged)
    return true;
  return info.memoryType == CU_MEMORYTYPE_DEVICE && info.ordinal == ordinal;
}

/// Step 6 of docs/bundle-format.md §3: `name`'s pointer is device memory of
/// this device, and its extent stays inside device memory.
Status checkDevicePointer(const Device::Impl &dev, const std::string &name,
                          const void *pointer, uint64_t extentBytes) {
  const uint64_t p = reinterpret_cast<uintptr_t>(pointer);
  PointerInfo info;
  if (Status st = queryPointer(*dev.driver, p, info); !st)
    return invalid(name + ": cannot query pointer " + hexPointer(p) + ": " +
                   st.message());
  if (!info.isManaged && info.memoryType != CU_MEMORYTYPE_DEVICE)
    return invalid(name + ": pointer " + hexPointer(p) +
                   " is not device memory" +
                   (info.memoryType == CU_MEMORYTYPE_HOST
                        ? " (it is host memory; copy the tensor to the GPU)"
                        : " (not a CUDA allocation)"));
  if (!info.isManaged && info.ordinal != dev.ordinal)
    return invalid(name + ": pointer " + hexPointer(p) + " is memory of GPU " +
                   std::to_string(info.ordinal) +
                   ", but the kernel runs on GPU " +
                   std::to_string(dev.ordinal));
  if (extentBytes == 0 || info.rangeSize == 0)
    return Status::success();
  const uint64_t last = p + extentBytes - 1;
  if (last < info.rangeStart + info.rangeSize)
    return Status::success();
  // Past the allocation the pointer is in. Virtual-memory allocators (e.g.
  // PyTorch's expandable segments) map one tensor across several physical
  // ranges, so accept the extent when its last byte is still mapped memory
  // of this device.
  PointerInfo lastInfo;
  if (queryPointer(*dev.driver, last, lastInfo).ok() &&
      isDeviceMemoryOf(lastInfo, dev.ordinal))
    return Status::success();
  return invalid(name + ": the tensor spans " + std::to_string(extentBytes) +
                 " bytes from " + hexPointer(p) + ", but its allocation ends " +
                 std::to_string(info.rangeStart + info.rangeSize - p) +
                 " bytes after the pointer (wrong sizes or strides?)");
}

/// Copies the bound values into a kernel parameter buffer. Cannot fail:
/// everything was checked by bindArguments.
void packParams(const ParamLayout &layout, const LaunchSpec &launch,
                const BoundArgs &b, CUdeviceptr workspace,
                const CUtensorMap *maps, unsigned char *buffer) {
  using S = PackedParam::Source;
  for (const PackedParam &p : layout.params) {
    unsigned char *at = buffer + p.offset;
    switch (p.source) {
    case S::TensorPointer: {
      void *v = b.tensorData[p.index];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::TensorStride: {
      long long v = b.tensorStrides[p.index][p.dim];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ScratchPointer: {
      CUdeviceptr v = workspace + b.scratchOffset[p.index];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ScratchStride: {
      long long v = b.scratchStrides[p.index][p.dim];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::Slot: {
      int v = static_cast<int>(b.slots[p.index]);
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ScalarF32: {
      float v = b.scalarFloat[p.index];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ScalarI64: {
      long long v = b.slots[p.index];
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ExprI32: {
      int64_t value = 0;
      (void)launch.args[p.index].expr.evaluate(b.slots, value);
      int v = static_cast<int>(value);
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ConstF32: {
      float v = static_cast<float>(launch.args[p.index].floatValue);
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::ConstI32: {
      int v = static_cast<int>(launch.args[p.index].intValue);
      std::memcpy(at, &v, sizeof(v));
      break;
    }
    case S::TensorMap:
      std::memcpy(at, &maps[p.index], sizeof(CUtensorMap));
      break;
    }
  }
}

/// The TMA maps of a launch's tensor_map args, in order: all encoded, or
/// all zero (the kernel then copies with cp.async; runtime/TensorMaps.h).
/// A map of a scratch buffer covers it where it lies in `workspace`.
void encodeTensorMaps(const CudaDriver &d, TensorMapCache &cache, bool enabled,
                      const KernelSpec &spec, const VariantSpec &variant,
                      const LaunchSpec &launch, const TensorArg *tensors,
                      const BoundArgs &b, CUdeviceptr workspace,
                      CUtensorMap *maps) {
  bool ok = enabled;
  int count = 0;
  for (size_t i = 0; i < launch.args.size() && count < kMaxTensorMaps; ++i) {
    const ArgSpec &a = launch.args[i];
    if (a.kind != ArgSpec::Kind::TensorMap)
      continue;
    CUtensorMap &map = maps[count++];
    std::memset(&map, 0, sizeof(CUtensorMap));
    if (!ok)
      continue;
    TensorMapRequest r;
    if (a.mapsScratch) {
      // Contiguous row-major and never a packed batch: mapped as declared.
      const ScratchSpec &sc = variant.scratch[a.index];
      r.data = reinterpret_cast<const void *>(
          static_cast<uintptr_t>(workspace + b.scratchOffset[a.index]));
      r.dtype = sc.dtype;
      r.rank = static_cast<int>(sc.shape.size());
      for (int d = 0; d < r.rank; ++d) {
        r.sizes[d] = b.scratchDims[a.index][d];
        r.strides[d] = b.scratchStrides[a.index][d];
      }
    } else {
      const TensorArg &t = tensors[a.index];
      r.data = b.tensorData[a.index];
      r.dtype = spec.params[a.index].dtype;
      r.rank = t.rank;
      for (int d = 0; d < t.rank && d < kMaxRank; ++d) {
        r.sizes[d] = t.sizes[d];
        r.strides[d] = b.tensorStrides[a.index][d];
      }
      if (t.rank == 3)
        viewPackedAsBatch(r);
    }
    r.boxRows = a.boxRows;
    r.boxCols = a.boxCols;
    r.swizzleBytes = a.swizzleBytes;
    ok = cache.get(d, r, map);
  }
  if (!ok)
    std::memset(maps, 0, sizeof(CUtensorMap) * count);
}

} // namespace

KernelImpl::KernelImpl()
    : pointerChecks(env::getBool(env::kLaunchChecks, true)),
      tensorMaps(env::getBool(env::kTma, true)),
      overlapLaunches(env::getBool(env::kOverlapLaunches, true)) {}

KernelImpl::~KernelImpl() {
  if (ownedWorkspace && device) {
    const Device::Impl &dev = device->impl();
    ContextScope scope(dev);
    if (scope.status().ok())
      dev.driver->memFree(ownedWorkspace);
  }
}

DeviceLimits KernelImpl::limits(int index) const {
  DeviceLimits l;
  if (device) {
    l.maxDynamicSharedBytes = variants[index].maxDynamicSharedBytes;
    l.arch = device->arch().c_str();
    l.ordinal = device->ordinal();
    l.multiprocessors = device->multiprocessorCount();
  }
  return l;
}

Status KernelImpl::prepareVariant(int index) {
  PreparedVariant &pv = variants[index];
  if (pv.ready)
    return Status::success();
  if (!device) {
    const VariantSpec &vs = spec->variants[index];
    std::vector<PreparedLaunch> launches(vs.launches.size());
    for (size_t li = 0; li < vs.launches.size(); ++li)
      launches[li].layout = layoutLaunchParams(*spec, vs, vs.launches[li]);
    pv.launches = std::move(launches);
    pv.ready = true;
    return Status::success();
  }
  CompileReport report;
  std::vector<CompiledModule> modules;
  if (Status st = compileVariant(index, report, modules); !st)
    return st;
  return loadVariant(index, std::move(report), std::move(modules));
}

Status KernelImpl::compileVariant(int index, CompileReport &report,
                                  std::vector<CompiledModule> &modules) const {
  if (!device)
    return Status(StatusCode::NoDevice,
                  "kernel " + spec->name + " has no device to compile for");
  const std::string &arch = device->arch();
  if (Status st = checkArchCompatible(bundle->manifest.target, arch); !st)
    return Status(st.code(), bundle->path + ": " + st.message());
  return compileVariantModules(*bundle, *spec, index, arch, report, modules);
}

Status KernelImpl::loadVariant(int index, CompileReport report,
                               std::vector<CompiledModule> modules) {
  PreparedVariant &pv = variants[index];
  if (pv.ready)
    return Status::success();
  const VariantSpec &vs = spec->variants[index];
  std::vector<PreparedLaunch> launches(vs.launches.size());
  for (size_t li = 0; li < vs.launches.size(); ++li) {
    // compileVariantModules found every entry and checked its layout.
    const LaunchSpec &l = vs.launches[li];
    int m = findEntryModule(modules, l.entry);
    std::string err;
    if (m < 0 || !launchParamLayout(*spec, vs, l,
                                    *findCubinFunction(modules[m].functions, l.entry),
                                    launches[li].layout, err))
      return Status(StatusCode::BundleFormat,
                    bundle->path + ": entry " + l.entry + ": " + err);
  }
  Device::Impl &dev = device->impl();
  const CudaDriver &d = *dev.driver;
  std::vector<CUmodule> loaded(modules.size());
  for (size_t m = 0; m < modules.size(); ++m)
    if (Status st = dev.loadModule(modules[m].report.cacheKey,
                                   modules[m].cubin, loaded[m]);
        !st)
      return st;

  ContextScope scope(dev);
  if (!scope.status().ok())
    return scope.status();
  int64_t maxDyn[kMaxLaunches] = {};
  for (size_t li = 0; li < vs.launches.size(); ++li) {
    const LaunchSpec &l = vs.launches[li];
    const std::string where = bundle->path + ": kernel " + spec->name +
                              " variant " + std::to_string(index) +
                              " launch " + std::to_string(li) + " (" +
                              l.entry + ")";
    // compileVariantModules checked that some module defines the entry.
    int m = findEntryModule(modules, l.entry);
    CUresult r =
        d.moduleGetFunction(&launches[li].function, loaded[m], l.entry.c_str());
    if (r != CUDA_SUCCESS)
      return d.error(("cuModuleGetFunction(" + l.entry + ")").c_str(), r);
    int maxThreads = 0, staticShared = 0, registers = 0;
    if ((r = d.funcGetAttribute(&maxThreads,
                                CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                                launches[li].function)) != CUDA_SUCCESS ||
        (r = d.funcGetAttribute(&staticShared,
                                CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                                launches[li].function)) != CUDA_SUCCESS ||
        (r = d.funcGetAttribute(&registers, CU_FUNC_ATTRIBUTE_NUM_REGS,
                                launches[li].function)) != CUDA_SUCCESS)
      return d.error("cuFuncGetAttribute", r);
    const int64_t block = int64_t(l.block[0]) * l.block[1] * l.block[2];
    if (block > maxThreads)
      return Status(StatusCode::OutOfResources,
                    where + ": block of " + std::to_string(block) +
                        " threads exceeds the " + std::to_string(maxThreads) +
                        " this kernel can run with on " + dev.arch + " (" +
                        std::to_string(registers) + " registers per thread)");
    maxDyn[li] = dev.maxOptinSharedBytes - staticShared;
    if (maxDyn[li] < 0)
      return Status(StatusCode::OutOfResources,
                    where + " uses " + std::to_string(staticShared) +
                        " bytes of static shared memory; the device allows " +
                        std::to_string(dev.maxOptinSharedBytes));
    // Opt in to the whole budget once, so that any dynamic size the binder
    // accepts launches without another driver call.
    r = d.funcSetAttribute(launches[li].function,
                           CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                           static_cast<int>(maxDyn[li]));
    if (r != CUDA_SUCCESS)
      return d.error("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", r);
    if (l.hasCluster && !d.launchKernelEx)
      return Status(StatusCode::NoDriver,
                    where + " uses thread-block clusters, which need "
                            "cuLaunchKernelEx (CUDA driver 12.0 or newer)");
  }
  pv.report = std::move(report);
  pv.launches = std::move(launches);
  for (size_t li = 0; li < vs.launches.size(); ++li)
    pv.maxDynamicSharedBytes[li] = maxDyn[li];
  pv.ready = true;
  return Status::success();
}

Status KernelImpl::growWorkspace(size_t bytes) {
  if (bytes <= ownedWorkspaceBytes)
    return Status::success();
  if (!device)
    return Status(StatusCode::NoDevice,
                  "kernel " + spec->name + " has no device to allocate on");
  const Device::Impl &dev = device->impl();
  const CudaDriver &d = *dev.driver;
  ContextScope scope(dev);
  if (!scope.status().ok())
    return scope.status();
  if (ownedWorkspace) {
    // Launches already queued may still use the old buffer.
    CUresult r = d.ctxSynchronize();
    if (r != CUDA_SUCCESS)
      return d.error("cuCtxSynchronize (before growing the workspace)", r);
    d.memFree(ownedWorkspace);
    ownedWorkspace = 0;
    ownedWorkspaceBytes = 0;
  }
  CUresult r = d.memAlloc(&ownedWorkspace, bytes);
  if (r != CUDA_SUCCESS) {
    ownedWorkspace = 0;
    Status st = d.error("cuMemAlloc", r);
    return Status(st.code(), "cannot allocate " + std::to_string(bytes) +
                                 " bytes of workspace for kernel " +
                                 spec->name + ": " + st.message());
  }
  ownedWorkspaceBytes = bytes;
  return Status::success();
}

Status KernelImpl::launchVariant(int index, const TensorArg *tensors,
                                 size_t numTensors, const ScalarArg *scalars,
                                 size_t numScalars,
                                 const LaunchOptions &options,
                                 bool checkPointers) {
  const VariantSpec &vs = spec->variants[index];
  const PreparedVariant &pv = variants[index];
  BoundArgs b;
  if (Status st = bindArguments(*spec, vs, tensors, numTensors, scalars,
                                numScalars, limits(index), b);
      !st)
    return st;
  if (b.noop) // every output is empty: nothing to compute
    return Status::success();
  if (options.workspace || options.workspaceBytes)
    if (Status st =
            checkWorkspace(b, options.workspace, options.workspaceBytes);
        !st)
      return st;
  if (!device)
    return Status(StatusCode::NoDevice,
                  "kernel " + spec->name +
                      " was created without a device; it can validate "
                      "arguments but not launch");

  const Device::Impl &dev = device->impl();
  const CudaDriver &d = *dev.driver;
  ContextScope scope(dev);
  if (!scope.status().ok())
    return scope.status();

  CUdeviceptr workspace = 0;
  if (options.workspace) {
    workspace = reinterpret_cast<uintptr_t>(options.workspace);
  } else if (b.workspaceBytes > 0) {
    if (Status st = growWorkspace(b.workspaceBytes); !st)
      return st;
    workspace = ownedWorkspace;
  }

  if (checkPointers) {
    for (size_t i = 0; i < numTensors; ++i)
      if (b.tensorData[i])
        if (Status st = checkDevicePointer(dev, spec->params[i].name,
                                           b.tensorData[i],
                                           b.tensorExtentBytes[i]);
            !st)
          return st;
    if (options.workspace && b.workspaceBytes > 0)
      if (Status st = checkDevicePointer(dev, "workspace", options.workspace,
                                         b.workspaceBytes);
          !st)
        return st;
  }

  CUstream stream = static_cast<CUstream>(options.stream);
  for (size_t s = 0; s < vs.scratch.size(); ++s)
    if (vs.scratch[s].zeroInit && b.scratchBytes[s] > 0) {
      CUresult r = d.memsetD8Async(workspace + b.scratchOffset[s], 0,
                                   b.scratchBytes[s], stream);
      if (r != CUDA_SUCCESS)
        return d.error(("cuMemsetD8Async(scratch " + vs.scratch[s].name + ")")
                           .c_str(),
                       r);
    }

  alignas(16) unsigned char buffer[kMaxParamBytes];
  for (size_t li = 0; li < vs.launches.size(); ++li) {
    const LaunchSpec &l = vs.launches[li];
    const PreparedLaunch &pl = pv.launches[li];
    CUtensorMap maps[kMaxTensorMaps];
    encodeTensorMaps(d, *mapCache, tensorMaps, *spec, vs, l, tensors, b,
                     workspace, maps);
    packParams(pl.layout, l, b, workspace, maps, buffer);
    size_t size = static_cast<size_t>(pl.layout.totalBytes);
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buffer,
                     CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END};
    void **extraArg = size > 0 ? extra : nullptr;
    const BoundLaunch &g = b.launches[li];
    CUresult r;
    // A launch that waits for the previous one (overlaps_previous) starts
    // with programmatic stream serialization where the GPU has it (sm_90):
    // its CTAs may be resident before the previous grid ends, and its
    // launch latency is not added to the step.
    const bool overlap = li > 0 && l.overlapsPrevious && overlapLaunches &&
                         dev.major >= 9 && d.launchKernelEx;
    if (l.hasCluster || overlap) {
      CUlaunchAttribute attrs[2];
      std::memset(attrs, 0, sizeof(attrs));
      unsigned numAttrs = 0;
      if (l.hasCluster) {
        CUlaunchAttribute &attr = attrs[numAttrs++];
        attr.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        attr.value.clusterDim.x = l.cluster[0];
        attr.value.clusterDim.y = l.cluster[1];
        attr.value.clusterDim.z = l.cluster[2];
      }
      if (overlap) {
        CUlaunchAttribute &attr = attrs[numAttrs++];
        attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
        attr.value.programmaticStreamSerializationAllowed = 1;
      }
      CUlaunchConfig cfg;
      std::memset(&cfg, 0, sizeof(cfg));
      cfg.gridDimX = g.grid[0];
      cfg.gridDimY = g.grid[1];
      cfg.gridDimZ = g.grid[2];
      cfg.blockDimX = l.block[0];
      cfg.blockDimY = l.block[1];
      cfg.blockDimZ = l.block[2];
      cfg.sharedMemBytes = g.dynamicSmemBytes;
      cfg.hStream = stream;
      cfg.attrs = attrs;
      cfg.numAttrs = numAttrs;
      r = d.launchKernelEx(&cfg, pl.function, nullptr, extraArg);
    } else {
      r = d.launchKernel(pl.function, g.grid[0], g.grid[1], g.grid[2],
                         l.block[0], l.block[1], l.block[2],
                         g.dynamicSmemBytes, stream, nullptr, extraArg);
    }
    if (r != CUDA_SUCCESS) {
      Status st = d.error("cuLaunchKernel", r);
      return Status(st.code(), "kernel " + spec->name + " launch " +
                                   std::to_string(li) + " (" + l.entry +
                                   "): " + st.message());
    }
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

Kernel::Kernel(std::unique_ptr<KernelImpl> impl) : impl_(std::move(impl)) {}
Kernel::~Kernel() = default;

const std::string &Kernel::name() const { return impl_->spec->name; }
int Kernel::numVariants() const {
  return static_cast<int>(impl_->spec->variants.size());
}
int Kernel::variant() const { return impl_->current; }

Status Kernel::selectVariant(int index) {
  if (index < 0 || index >= numVariants())
    return Status(StatusCode::NotFound,
                  "kernel " + name() + " has " + std::to_string(numVariants()) +
                      " variants; there is no variant " + std::to_string(index));
  if (Status st = impl_->prepareVariant(index); !st)
    return st;
  impl_->current = index;
  impl_->pinned = true;
  impl_->chooser.reset();
  return Status::success();
}

void Kernel::setVariantChooser(std::unique_ptr<VariantChooser> chooser) {
  impl_->chooser = std::move(chooser);
}

VariantChooser *Kernel::variantChooser() const { return impl_->chooser.get(); }

int Kernel::variantFor(const TensorArg *tensors, size_t numTensors) const {
  if (!impl_->chooser)
    return impl_->defaultVariant(tensors, numTensors);
  return impl_->chooser->peek(*this, tensors, numTensors, impl_->current);
}

std::vector<Kernel::ParamInfo> Kernel::params() const {
  std::vector<ParamInfo> out;
  for (const ParamSpec &p : impl_->spec->params) {
    ParamInfo info;
    info.name = p.name;
    info.dtype = p.dtype;
    info.rank = static_cast<int>(p.shape.size());
    info.io = p.io == ParamIo::In    ? ParamInfo::Io::In
              : p.io == ParamIo::Out ? ParamInfo::Io::Out
                                     : ParamInfo::Io::InOut;
    info.optional = p.optional;
    info.strideAlign = p.strideAlign;
    info.stridedLastDim = p.stridedLastDim;
    info.mayAlias = p.mayAlias;
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<Kernel::ScalarInfo> Kernel::scalars() const {
  std::vector<ScalarInfo> out;
  for (const ScalarSpec &s : impl_->spec->scalars)
    out.push_back({s.name, s.dtype, s.hasDefault});
  return out;
}

std::vector<std::string> Kernel::paramNames() const {
  std::vector<std::string> out;
  for (const ParamSpec &p : impl_->spec->params)
    out.push_back(p.name);
  return out;
}

std::vector<std::string> Kernel::scalarNames() const {
  std::vector<std::string> out;
  for (const ScalarSpec &s : impl_->spec->scalars)
    out.push_back(s.name);
  return out;
}

const CompileReport &Kernel::compileReport() const {
  return impl_->variants[impl_->current].report;
}

Status Kernel::validate(const TensorArg *tensors, size_t numTensors,
                        const ScalarArg *scalars, size_t numScalars) const {
  BoundArgs b;
  return bindArguments(*impl_->spec, impl_->spec->variants[impl_->current],
                       tensors, numTensors, scalars, numScalars,
                       impl_->limits(impl_->current), b);
}

Status Kernel::workspaceBytes(const TensorArg *tensors, size_t numTensors,
                              const ScalarArg *scalars, size_t numScalars,
                              size_t &bytes) const {
  bytes = 0;
  BoundArgs b;
  if (Status st = bindArguments(*impl_->spec,
                                impl_->spec->variants[impl_->current], tensors,
                                numTensors, scalars, numScalars,
                                impl_->limits(impl_->current), b);
      !st)
    return st;
  bytes = b.workspaceBytes;
  if (impl_->chooser || (impl_->spec->dispatch.present() && !impl_->pinned))
    // The chooser (or the dispatch) may pick any variant. One that cannot bind these
    // arguments cannot run them either (the autotuner drops it), so it does
    // not count.
    for (size_t v = 0; v < impl_->spec->variants.size(); ++v) {
      BoundArgs other;
      if (bindArguments(*impl_->spec, impl_->spec->variants[v], tensors,
                        numTensors, scalars, numScalars, DeviceLimits(), other)
              .ok() &&
          other.workspaceBytes > bytes)
        bytes = other.workspaceBytes;
    }
  return Status::success();
}

Status Kernel::reserveWorkspace(size_t bytes) {
  return impl_->growWorkspace(bytes);
}

Status Kernel::launch(const TensorArg *tensors, size_t numTensors,
                      const ScalarArg *scalars, size_t numScalars,
                      const LaunchOptions &options) {
  KernelImpl &k = *impl_;
  int index = k.defaultVariant(tensors, numTensors);
  // The dispatch's pick is compiled on its first launch.
  if (index != k.current)
    if (Status st = k.prepareVariant(index); !st)
      return st;
  // An empty launch is checked and done; no chooser times nothing.
  if (k.chooser && !outputsAreEmpty(*k.spec, tensors, numTensors)) {
    index = k.chooser->choose(*this, tensors, numTensors, scalars, numScalars,
                              options);
    if (index < 0 || index >= numVariants())
      return Status(StatusCode::Internal,
                    "kernel " + name() + ": the variant chooser picked v" +
                        std::to_string(index) + " of " +
                        std::to_string(numVariants()));
    // Already prepared (one branch) unless the chooser picked a new one.
    if (Status st = k.prepareVariant(index); !st)
      return st;
  }
  return k.launchVariant(index, tensors, numTensors, scalars, numScalars,
                         options, k.pointerChecks);
}

//===----------------------------------------------------------------------===//
// Variant choosers
//===----------------------------------------------------------------------===//

VariantChooser::~VariantChooser() = default;

namespace {
// Atomic: a library may register from its static initialisers while another
// thread creates kernels.
std::atomic<VariantChooserFactory> chooserFactory{nullptr};
} // namespace

void setVariantChooserFactory(VariantChooserFactory factory) {
  chooserFactory.store(factory);
}

VariantChooserFactory variantChooserFactory() { return chooserFactory.load(); }

} // namespace flashgen
