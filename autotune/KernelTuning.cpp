//===- KernelTuning.cpp - Autotuning inside a kernel object ---------------===//
//
// The tuning chooser, the C++ entry points of flashgen/autotune.h that
// tune a kernel or switch its chooser, and the registration that makes
// FLASHGEN_AUTOTUNE=1 work in any program that links this library.
//
//===----------------------------------------------------------------------===//

#include "autotune/KernelTuning.h"

#include "autotune/DeviceRunner.h"
#include "autotune/Progress.h"
#include "autotune/TuneReportJson.h"
#include "autotune/TuningFile.h"
#include "autotune/TuningInputs.h"
#include "autotune/TuningKey.h"
#include "runtime/DeviceImpl.h"
#include "runtime/Env.h"
#include "runtime/KernelImpl.h"
#include "runtime/Log.h"

#include <ctime>

namespace flashgen {

KernelTuning::KernelTuning(const KernelImpl &kernel)
    : spec_(kernel.spec), sites_(SymbolSites::of(*kernel.spec)) {}

int KernelTuning::peek(const Kernel &, const TensorArg *tensors,
                       size_t numTensors, int fallback) const {
  BucketCode code;
  if (!sites_.codeOf(tensors, numTensors, code))
    return fallback;
  if (int v = table_.find(code); v >= 0)
    return v;
  // Only a full table sends buckets to the overflow map.
  if (table_.size() < BucketTable::kCapacity)
    return fallback;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = overflow_.find(bucketLabel(*spec_, code));
  return it == overflow_.end() ? fallback : it->second;
}

void KernelTuning::record(const BucketCode &code, const std::string &label,
                          int variant) {
  if (!table_.record(code, variant))
    overflow_[label] = variant;
}

int KernelTuning::choose(Kernel &k, const TensorArg *tensors,
                         size_t numTensors, const ScalarArg *scalars,
                         size_t numScalars, const LaunchOptions &options) {
  KernelImpl &kernel = k.impl();
  BucketCode code;
  // Unreadable sizes fail validation in the launch itself.
  if (!sites_.codeOf(tensors, numTensors, code))
    return kernel.current;
  const int v = table_.find(code);
  if (v >= 0)
    return v;
  return chooseSlow(kernel, code, tensors, numTensors, scalars, numScalars,
                    options);
}

namespace {

/// Whether `stream` is capturing into a CUDA graph (unknown: no).
bool isCapturing(const KernelImpl &kernel, void *stream) {
  const CudaDriver &d = *kernel.device->impl().driver;
  if (!d.streamIsCapturing)
    return false;
  ContextScope scope(kernel.device->impl());
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (!scope.status().ok() || d.streamIsCapturing(static_cast<CUstream>(stream),
                                                  &status) != CUDA_SUCCESS)
    return false;
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

/// The tuning of one bucket: from the file, else measured. Caller holds the
/// kernel's tuning lock when it has one.
Status tuneBucket(KernelImpl &kernel, const TuningInputs &inputs,
                  const TuneOptions &options, TuneReport &report) {
  const KernelSpec &spec = *kernel.spec;
  report = TuneReport();
  if (!kernel.device)
    return Status(StatusCode::NoDevice,
                  "kernel " + spec.name +
                      " was created without a device; tuning needs one");
  const BucketCode code = bucketOf(inputs.symbols, inputs.absent);
  const std::string bucket = bucketLabel(spec, code);
  DeviceIdentity device;
  if (Status st = deviceIdentityOf(*kernel.device, device); !st)
    return st;
  const std::string identity = kernelIdentityHash(*kernel.bundle, spec);
  json::Value header = json::Value::object();
  header.set("kernel", json::Value::string(spec.name));
  header.set("op", json::Value::string(spec.op));
  header.set("kernel_identity", json::Value::string(identity));
  header.set("bundle_flashgen_version",
             json::Value::string(kernel.bundle->manifest.flashgenVersion));
  header.set("device", json::Value::string(device.name));
  header.set("arch", json::Value::string(device.arch));
  header.set("compute_capability",
             json::Value::string(std::to_string(device.ccMajor) + "." +
                                 std::to_string(device.ccMinor)));
  header.set("driver_version", json::Value::integer(device.driverVersion));
  header.set("nvrtc_version", json::Value::string(device.nvrtcVersion));
  header.set("flashgen_version", json::Value::string(device.flashgenVersion));
  const std::string dir = TuningFile::defaultDir();
  TuningFile file(dir, spec.name, tuningFileKey(identity, device),
                  std::move(header), static_cast<int>(spec.variants.size()));

  if (!dir.empty() && !options.force &&
      file.load() == TuningFile::State::Loaded)
    if (const json::Value *entry = file.find(bucket)) {
      std::string why;
      TuneReport stored;
      if (reportFromValue(*entry, stored, why)) {
        // "variant" is the field TuningFile checked against the kernel.
        stored.winner = static_cast<int>(entry->find("variant")->asInt());
        Status st = kernel.prepareVariant(stored.winner);
        if (st) {
          report = std::move(stored);
          report.fromFile = true;
          report.tuningFile = file.path();
          return Status::success();
        }
        logLineOnce("tuning-prepare:" + file.path() + bucket,
                    "the tuning file's winner for " + spec.name + " [" +
                        bucket + "] (v" + std::to_string(stored.winner) +
                        ") cannot be prepared: " + st.message() +
                        "; tuning again");
      } else {
        logLineOnce("tuning-entry:" + file.path() + bucket,
                    "damaged entry " + bucket + " in tuning file " +
                        file.path() + ": " + why + "; tuning again");
      }
    }

  DeviceRunner runner(kernel, inputs, options);
  if (Status st = runner.setup(); !st)
    return st;
  TuneSubject subject;
  subject.kernel = spec.name;
  subject.bucket = bucket;
  for (const VariantSpec &v : spec.variants)
    subject.schedules.push_back(formatSchedule(v.schedule));
  for (const ParamSpec &p : spec.params)
    subject.lowPrecisionParams |=
        p.dtype == DType::BF16 || p.dtype == DType::F16;
  if (Status st = runTuning(runner, subject, options, report); !st)
    return st;
  report.sizes = sizesLabel(spec, inputs.symbols);
  report.device = device.describe();
  report.inputSets = runner.inputSets();
  if (options.writeFile && !dir.empty()) {
    json::Value entry = reportToValue(report);
    entry.set("variant", json::Value::integer(report.winner));
    entry.set("tuned_unix", json::Value::integer(std::time(nullptr)));
    // The path is the file's own; storing it inside would only go stale.
    entry.set("tuning_file", json::Value::string(""));
    if (Status st = file.store(bucket, std::move(entry)); st)
      report.tuningFile = file.path();
    else
      logLineOnce("tuning-store:" + dir,
                  "cannot write the tuning file: " + st.message() +
                      "; tuning results last for this process only");
  }
  return Status::success();
}

} // namespace

int KernelTuning::chooseSlow(KernelImpl &kernel, const BucketCode &code,
                             const TensorArg *tensors, size_t numTensors,
                             const ScalarArg *scalars, size_t numScalars,
                             const LaunchOptions &options) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (int v = table_.find(code); v >= 0)
    return v; // another thread tuned it while we waited
  const std::string label = bucketLabel(*kernel.spec, code);
  if (auto it = overflow_.find(label); it != overflow_.end())
    return it->second;
  if (!kernel.device)
    return kernel.current; // the launch reports NoDevice
  TuningInputs inputs;
  if (!planInputs(*kernel.spec, tensors, numTensors, scalars, numScalars,
                  inputs))
    return kernel.current; // the launch reports what is wrong
  if (isCapturing(kernel, options.stream)) {
    logLineOnce("tuning-capture:" + kernel.spec->name + label,
                "not tuning " + kernel.spec->name + " [" + label +
                    "] during CUDA-graph capture; running v" +
                    std::to_string(kernel.current) +
                    " (tune before capturing: flashgen::tune, or one launch "
                    "outside the graph)");
    return kernel.current;
  }
  TuneReport report;
  Status st = tuneBucket(kernel, inputs, TuneOptions(), report);
  if (!st) {
    logLineOnce("tuning-failed:" + kernel.spec->name + label,
                "tuning " + kernel.spec->name + " [" + label +
                    "] failed, running v" + std::to_string(kernel.current) +
                    ": " + st.message());
    record(code, label, kernel.current);
    return kernel.current;
  }
  record(code, label, report.winner);
  return report.winner;
}

namespace {

/// The kernel's tuning chooser, or null when autotuning is off (no chooser,
/// or one that is not the tuner's).
KernelTuning *tuningOf(const Kernel &kernel) {
  return dynamic_cast<KernelTuning *>(kernel.variantChooser());
}

Status tuneAndRecord(Kernel &k, const TuningInputs &inputs,
                     const TuneOptions &options, TuneReport &report) {
  KernelImpl &kernel = k.impl();
  KernelTuning *tuning = tuningOf(k);
  std::unique_lock<std::mutex> lock;
  if (tuning)
    lock = std::unique_lock<std::mutex>(tuning->mutex());
  if (Status st = tuneBucket(kernel, inputs, options, report); !st)
    return st;
  if (tuning) {
    const BucketCode code = bucketOf(inputs.symbols, inputs.absent);
    tuning->record(code, bucketLabel(*kernel.spec, code), report.winner);
  }
  return Status::success();
}

/// Gives each new kernel the tuning chooser when FLASHGEN_AUTOTUNE=1, read
/// once per kernel object: the launch path reads no environment.
std::unique_ptr<VariantChooser> autotuneFactory(Kernel &kernel) {
  if (!env::getBool(env::kAutotune))
    return nullptr;
  return std::make_unique<KernelTuning>(kernel.impl());
}

/// Registers autotuneFactory when the library is loaded. libflashgen_autotune
/// is a shared library, so its static initialisers run whenever a program
/// links it or Python loads it, before any kernel can be created; the
/// runtime never needs to name the autotuner for FLASHGEN_AUTOTUNE=1 to keep
/// working there.
[[maybe_unused]] const bool registered = [] {
  setVariantChooserFactory(&autotuneFactory);
  return true;
}();

} // namespace

Status tune(Kernel &kernel, const TensorArg *tensors, size_t numTensors,
            const ScalarArg *scalars, size_t numScalars,
            const TuneOptions &options, TuneReport &report) {
  report = TuneReport();
  TuningInputs inputs;
  if (Status st = planInputs(*kernel.impl().spec, tensors, numTensors, scalars,
                             numScalars, inputs);
      !st)
    return st;
  return tuneAndRecord(kernel, inputs, options, report);
}

Status tune(Kernel &kernel, const TuneProblem &problem,
            const TuneOptions &options, TuneReport &report) {
  report = TuneReport();
  TuningInputs inputs;
  if (Status st = planInputs(*kernel.impl().spec, problem, inputs); !st)
    return st;
  return tuneAndRecord(kernel, inputs, options, report);
}

void setAutotune(Kernel &kernel, bool enabled) {
  if (!enabled) {
    if (tuningOf(kernel)) // another library's chooser is not ours to drop
      kernel.setVariantChooser(nullptr);
  } else if (!tuningOf(kernel))
    kernel.setVariantChooser(std::make_unique<KernelTuning>(kernel.impl()));
}

bool isAutotuning(const Kernel &kernel) { return tuningOf(kernel) != nullptr; }

} // namespace flashgen
