//===- DeviceRunner.h - Running candidates on the GPU -----------*- C++ -*-===//
//
// The CandidateRunner that tuning uses on a real device: it compiles
// variants through the kernel object (so the winner is ready to launch
// afterwards), allocates its own input sets, workspace and stream, and
// times with CUDA events through the driver the runtime already loaded
// (METHOD.md: events around each run, warm-up, median of many runs,
// rotating inputs). It launches through KernelImpl::launchVariant, so every
// candidate runs with the same argument checks and parameter packing as a
// user's launch, minus the pointer check on buffers it allocated itself.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_DEVICERUNNER_H
#define FLASHGEN_AUTOTUNE_DEVICERUNNER_H

#include "autotune/Autotuner.h"
#include "autotune/TuningInputs.h"
#include "runtime/DeviceImpl.h"
#include "runtime/KernelImpl.h"

#include <vector>

namespace flashgen {

class DeviceRunner : public CandidateRunner {
public:
  DeviceRunner(KernelImpl &kernel, const TuningInputs &inputs,
               const TuneOptions &options);
  ~DeviceRunner() override;
  DeviceRunner(const DeviceRunner &) = delete;
  DeviceRunner &operator=(const DeviceRunner &) = delete;

  /// Waits for the device to finish earlier work (it would skew the
  /// timings), then allocates and fills the input sets and the workspace.
  Status setup();
  int inputSets() const { return static_cast<int>(args_.size()); }

  int numCandidates() const override;
  Status compile(int candidate) override;
  Status load(int candidate) override;
  Status run(int candidate, std::vector<HostTensor> &outputs) override;
  Status time(int candidate, int reps, double warmupMs, double maxMs,
              std::vector<double> &samplesMs) override;
  bool usable(std::string &why) override;

private:
  Status allocate(size_t bytes, CUdeviceptr &out);
  Status launch(int candidate, int set);
  Status ensureEvents(int count);

  KernelImpl &kernel_;
  const TuningInputs &inputs_;
  const TuneOptions &options_;
  const Device::Impl &dev_;
  const CudaDriver &d_;
  CUstream stream_ = nullptr;
  std::vector<CUevent> starts_, ends_;
  std::vector<CUdeviceptr> allocations_;
  std::vector<std::vector<void *>> data_;     // per set, per param
  std::vector<std::vector<TensorArg>> args_;  // per set
  std::vector<std::vector<uint8_t>> initial_; // per param: inout contents
  CUdeviceptr workspace_ = 0;
  size_t workspaceBytes_ = 0;

  struct Compiled {
    CompileReport report;
    std::vector<CompiledModule> modules;
  };
  std::vector<Compiled> compiled_;
};

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_DEVICERUNNER_H
