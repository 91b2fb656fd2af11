//===- DeviceRunner.cpp - Running candidates on the GPU -------------------===//

#include "autotune/DeviceRunner.h"

#include "runtime/ArgBinder.h"

#include <algorithm>
#include <cmath>

namespace flashgen {

DeviceRunner::DeviceRunner(KernelImpl &kernel, const TuningInputs &inputs,
                           const TuneOptions &options)
    : kernel_(kernel), inputs_(inputs), options_(options),
      dev_(kernel.device->impl()), d_(*kernel.device->impl().driver),
      compiled_(kernel.spec->variants.size()) {}

DeviceRunner::~DeviceRunner() {
  ContextScope scope(dev_);
  if (!scope.status().ok())
    return;
  if (stream_)
    d_.streamSynchronize(stream_);
  for (CUevent e : starts_)
    d_.eventDestroy(e);
  for (CUevent e : ends_)
    d_.eventDestroy(e);
  for (CUdeviceptr p : allocations_)
    d_.memFree(p);
  if (stream_)
    d_.streamDestroy(stream_);
}

int DeviceRunner::numCandidates() const {
  return static_cast<int>(kernel_.spec->variants.size());
}

Status DeviceRunner::allocate(size_t bytes, CUdeviceptr &out) {
  // cuMemAlloc rejects 0 bytes; empty tensors still need a non-null pointer.
  CUresult r = d_.memAlloc(&out, std::max<size_t>(bytes, 256));
  if (r != CUDA_SUCCESS) {
    Status st = d_.error("cuMemAlloc", r);
    return Status(st.code(), "tuning " + kernel_.spec->name +
                                 ": cannot allocate " + std::to_string(bytes) +
                                 " bytes of input buffers: " + st.message());
  }
  allocations_.push_back(out);
  return Status::success();
}

Status DeviceRunner::setup() {
  struct Needed {
    const void *fn;
    const char *name;
  } needed[] = {{(const void *)d_.memGetInfo, "cuMemGetInfo"},
                {(const void *)d_.streamCreate, "cuStreamCreate"},
                {(const void *)d_.streamDestroy, "cuStreamDestroy"},
                {(const void *)d_.eventCreate, "cuEventCreate"},
                {(const void *)d_.eventDestroy, "cuEventDestroy"},
                {(const void *)d_.eventRecord, "cuEventRecord"},
                {(const void *)d_.eventSynchronize, "cuEventSynchronize"},
                {(const void *)d_.eventElapsedTime, "cuEventElapsedTime"}};
  for (const Needed &n : needed)
    if (!n.fn)
      return Status(StatusCode::NoDriver,
                    std::string("tuning needs ") + n.name +
                        ", which this CUDA driver does not export");
  ContextScope scope(dev_);
  if (!scope.status().ok())
    return scope.status();
  CUresult r = d_.ctxSynchronize();
  if (r != CUDA_SUCCESS)
    return d_.error("cuCtxSynchronize (before tuning)", r);
  if ((r = d_.streamCreate(&stream_, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS)
    return d_.error("cuStreamCreate", r);

  int l2 = 0;
  if ((r = d_.deviceGetAttribute(&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE,
                                 dev_.device)) != CUDA_SUCCESS)
    return d_.error("cuDeviceGetAttribute(L2_CACHE_SIZE)", r);
  size_t freeBytes = 0, totalBytes = 0;
  if ((r = d_.memGetInfo(&freeBytes, &totalBytes)) != CUDA_SUCCESS)
    return d_.error("cuMemGetInfo", r);

  // The workspace is sized for the hungriest variant that can bind these
  // sizes; one that cannot is dropped when it fails to launch.
  {
    std::vector<TensorArg> args = inputs_.args(inputs_.standInPointers());
    for (const VariantSpec &v : kernel_.spec->variants) {
      BoundArgs b;
      if (bindArguments(*kernel_.spec, v, args.data(), args.size(),
                        inputs_.scalars.data(), inputs_.scalars.size(),
                        DeviceLimits(), b)
              .ok())
        workspaceBytes_ = std::max<size_t>(workspaceBytes_, b.workspaceBytes);
    }
  }
  const uint64_t setBytes = inputs_.setBytes();
  const uint64_t available =
      freeBytes > workspaceBytes_ ? freeBytes - workspaceBytes_ : 0;
  const int sets =
      chooseInputSets(setBytes, uint64_t(l2), available, options_.maxInputSets);
  if (sets == 0)
    return Status(StatusCode::OutOfMemory,
                  "tuning " + kernel_.spec->name + " needs " +
                      std::to_string(setBytes + workspaceBytes_) +
                      " bytes of device memory for one set of inputs and the "
                      "workspace; " +
                      std::to_string(freeBytes) + " bytes are free");

  const size_t numParams = inputs_.tensors.size();
  initial_.assign(numParams, {});
  data_.assign(sets, std::vector<void *>(numParams, nullptr));
  for (int s = 0; s < sets; ++s)
    for (size_t p = 0; p < numParams; ++p) {
      const PlannedTensor &t = inputs_.tensors[p];
      if (t.absent)
        continue;
      CUdeviceptr ptr;
      if (Status st = allocate(t.bytes, ptr); !st)
        return st;
      data_[s][p] = reinterpret_cast<void *>(ptr);
    }
  if (workspaceBytes_ > 0)
    if (Status st = allocate(workspaceBytes_, workspace_); !st)
      return st;

  // Inputs: the same random data in every set (the sets exist to defeat
  // L2, not to vary the data). Outputs are poisoned before each checked run.
  for (size_t p = 0; p < numParams; ++p) {
    const PlannedTensor &t = inputs_.tensors[p];
    if (t.absent || t.io == ParamIo::Out || t.bytes == 0)
      continue;
    std::vector<uint8_t> host;
    fillRandom(t.dtype, t.distribution, t.bytes / dtypeSize(t.dtype),
               options_.seed + 0x9e3779b97f4a7c15ull * (p + 1), host);
    for (int s = 0; s < sets; ++s) {
      r = d_.memcpyHtoD(reinterpret_cast<CUdeviceptr>(data_[s][p]), host.data(),
                        host.size());
      if (r != CUDA_SUCCESS)
        return d_.error(("cuMemcpyHtoD (tuning input " + t.name + ")").c_str(),
                        r);
    }
    if (t.io == ParamIo::InOut)
      initial_[p] = std::move(host);
  }
  args_.resize(sets);
  for (int s = 0; s < sets; ++s)
    args_[s] = inputs_.args(data_[s]);
  // A pageable upload may return before its DMA is done.
  if ((r = d_.ctxSynchronize()) != CUDA_SUCCESS)
    return d_.error("cuCtxSynchronize (after uploading tuning inputs)", r);
  return Status::success();
}

Status DeviceRunner::compile(int candidate) {
  if (kernel_.variants[candidate].ready)
    return Status::success();
  Compiled &c = compiled_[candidate];
  return kernel_.compileVariant(candidate, c.report, c.modules);
}

Status DeviceRunner::load(int candidate) {
  Compiled &c = compiled_[candidate];
  Status st =
      kernel_.loadVariant(candidate, std::move(c.report), std::move(c.modules));
  c = Compiled();
  return st;
}

Status DeviceRunner::launch(int candidate, int set) {
  LaunchOptions opts;
  opts.stream = stream_;
  opts.workspace = workspace_ ? reinterpret_cast<void *>(workspace_) : nullptr;
  opts.workspaceBytes = workspace_ ? workspaceBytes_ : 0;
  const std::vector<TensorArg> &args = args_[set];
  // Our own allocations: the driver pointer check (step 6) would only add
  // host time between timed runs.
  return kernel_.launchVariant(candidate, args.data(), args.size(),
                               inputs_.scalars.data(), inputs_.scalars.size(),
                               opts, /*checkPointers=*/false);
}

Status DeviceRunner::run(int candidate, std::vector<HostTensor> &outputs) {
  outputs.clear();
  ContextScope scope(dev_);
  if (!scope.status().ok())
    return scope.status();
  CUresult r;
  for (size_t p = 0; p < inputs_.tensors.size(); ++p) {
    const PlannedTensor &t = inputs_.tensors[p];
    if (t.absent || t.bytes == 0)
      continue;
    const CUdeviceptr ptr = reinterpret_cast<CUdeviceptr>(data_[0][p]);
    if (t.io == ParamIo::InOut)
      r = d_.memcpyHtoD(ptr, initial_[p].data(), initial_[p].size());
    else if (t.io == ParamIo::Out)
      r = d_.memsetD8Async(ptr, 0xff, t.bytes, stream_); // NaN for floats
    else
      continue;
    if (r != CUDA_SUCCESS)
      return d_.error("resetting a tuning output", r);
  }
  if ((r = d_.ctxSynchronize()) != CUDA_SUCCESS)
    return d_.error("cuCtxSynchronize (before a checked run)", r);
  if (Status st = launch(candidate, 0); !st)
    return st;
  if ((r = d_.streamSynchronize(stream_)) != CUDA_SUCCESS)
    return d_.error("cuStreamSynchronize (after a checked run)", r);
  for (size_t p = 0; p < inputs_.tensors.size(); ++p) {
    const PlannedTensor &t = inputs_.tensors[p];
    if (t.absent || t.io == ParamIo::In)
      continue;
    HostTensor h;
    h.name = t.name;
    h.dtype = t.dtype;
    h.sizes = t.sizes;
    h.strides = t.strides;
    h.bytes.resize(t.bytes);
    if (t.bytes > 0 &&
        (r = d_.memcpyDtoH(h.bytes.data(),
                           reinterpret_cast<CUdeviceptr>(data_[0][p]),
                           t.bytes)) != CUDA_SUCCESS)
      return d_.error(("cuMemcpyDtoH (tuning output " + t.name + ")").c_str(),
                      r);
    outputs.push_back(std::move(h));
  }
  return Status::success();
}

Status DeviceRunner::ensureEvents(int count) {
  while (int(starts_.size()) < count) {
    CUevent a = nullptr, b = nullptr;
    CUresult r = d_.eventCreate(&a, CU_EVENT_DEFAULT);
    if (r == CUDA_SUCCESS) {
      r = d_.eventCreate(&b, CU_EVENT_DEFAULT);
      if (r != CUDA_SUCCESS)
        d_.eventDestroy(a);
    }
    if (r != CUDA_SUCCESS)
      return d_.error("cuEventCreate", r);
    starts_.push_back(a);
    ends_.push_back(b);
  }
  return Status::success();
}

Status DeviceRunner::time(int candidate, int reps, double warmupMs,
                          double maxMs, std::vector<double> &samplesMs) {
  samplesMs.clear();
  ContextScope scope(dev_);
  if (!scope.status().ok())
    return scope.status();
  reps = std::max(reps, 1);
  if (Status st = ensureEvents(std::max(reps, 1)); !st)
    return st;
  const int sets = inputSets();
  CUresult r;
  auto finish = [&](const char *what) -> Status {
    CUresult sr = d_.streamSynchronize(stream_);
    return sr == CUDA_SUCCESS ? Status::success() : d_.error(what, sr);
  };

  // One run to learn the scale, for the warm-up count and the rep cap.
  if ((r = d_.eventRecord(starts_[0], stream_)) != CUDA_SUCCESS)
    return d_.error("cuEventRecord", r);
  if (Status st = launch(candidate, 0); !st)
    return st;
  if ((r = d_.eventRecord(ends_[0], stream_)) != CUDA_SUCCESS)
    return d_.error("cuEventRecord", r);
  if ((r = d_.eventSynchronize(ends_[0])) != CUDA_SUCCESS)
    return d_.error("cuEventSynchronize", r);
  float estimate = 0.0f;
  if ((r = d_.eventElapsedTime(&estimate, starts_[0], ends_[0])) !=
      CUDA_SUCCESS)
    return d_.error("cuEventElapsedTime", r);
  const double est = std::max(double(estimate), 1e-3);

  const int warmup = static_cast<int>(
      std::min(2000.0, std::max(1.0, std::ceil(warmupMs / est))));
  for (int w = 0; w < warmup; ++w)
    if (Status st = launch(candidate, (w + 1) % sets); !st) {
      (void)finish("cuStreamSynchronize");
      return st;
    }
  if (maxMs > 0 && est * reps > maxMs)
    reps = std::max(5, static_cast<int>(maxMs / est));
  if (Status st = ensureEvents(reps); !st)
    return st;

  // Runs are queued back to back; the host stays ahead of the GPU, so each
  // event pair brackets one kernel's device time, not the launch overhead.
  for (int i = 0; i < reps; ++i) {
    if ((r = d_.eventRecord(starts_[i], stream_)) != CUDA_SUCCESS)
      return d_.error("cuEventRecord", r);
    if (Status st = launch(candidate, (warmup + i + 1) % sets); !st) {
      (void)finish("cuStreamSynchronize");
      return st;
    }
    if ((r = d_.eventRecord(ends_[i], stream_)) != CUDA_SUCCESS)
      return d_.error("cuEventRecord", r);
  }
  if ((r = d_.eventSynchronize(ends_[reps - 1])) != CUDA_SUCCESS)
    return d_.error("cuEventSynchronize (after the timed runs)", r);
  if (Status st = finish("cuStreamSynchronize (after the timed runs)"); !st)
    return st;
  samplesMs.reserve(reps);
  for (int i = 0; i < reps; ++i) {
    float ms = 0.0f;
    if ((r = d_.eventElapsedTime(&ms, starts_[i], ends_[i])) != CUDA_SUCCESS)
      return d_.error("cuEventElapsedTime", r);
    samplesMs.push_back(ms);
  }
  return Status::success();
}

bool DeviceRunner::usable(std::string &why) {
  ContextScope scope(dev_);
  if (!scope.status().ok()) {
    why = scope.status().message();
    return false;
  }
  CUresult r = d_.ctxSynchronize();
  if (r == CUDA_SUCCESS)
    return true;
  why = d_.error("cuCtxSynchronize", r).message();
  return false;
}

} // namespace flashgen
