//===- KernelTuning.h - Autotuning inside a kernel object -------*- C++ -*-===//
//
// The autotuner's VariantChooser (flashgen/runtime.h). While autotuning is
// on (FLASHGEN_AUTOTUNE=1 or flashgen::setAutotune) it is the kernel's
// chooser, and a launch reads its shape bucket from the tensor sizes and looks it up in the
// object's BucketTable: a hit costs a few compares, no lock, no allocation.
// A miss (the first launch of a bucket in this object) takes the object's
// lock and
//  - uses the tuning file's winner when it has the bucket (later processes);
//  - else tunes right there: waits for the device, times the variants on the
//    tuner's own buffers with a progress line per candidate, records the
//    winner in the file and the table, then launches it;
//  - during CUDA-graph capture does neither (synchronising would break the
//    capture): runs variant() and says so once; the bucket is tuned on its
//    first launch outside capture.
// A tuning failure never fails the launch: it is logged once and variant()
// is recorded for the bucket.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_KERNELTUNING_H
#define FLASHGEN_AUTOTUNE_KERNELTUNING_H

#include "autotune/ShapeBucket.h"
#include "flashgen/autotune.h"
#include "flashgen/runtime.h"

#include <map>
#include <mutex>
#include <string>

namespace flashgen {

struct KernelImpl;
struct TuningInputs;

class KernelTuning final : public VariantChooser {
public:
  explicit KernelTuning(const KernelImpl &kernel);

  /// The variant to launch for these arguments (launch path).
  int choose(Kernel &kernel, const TensorArg *tensors, size_t numTensors,
             const ScalarArg *scalars, size_t numScalars,
             const LaunchOptions &options) override;
  /// The recorded variant, or `fallback`; never tunes.
  int peek(const Kernel &kernel, const TensorArg *tensors, size_t numTensors,
           int fallback) const override;

  /// Records a bucket's variant. Caller holds mutex().
  void record(const BucketCode &code, const std::string &label, int variant);
  std::mutex &mutex() const { return mutex_; }

private:
  int chooseSlow(KernelImpl &kernel, const BucketCode &code,
                 const TensorArg *tensors, size_t numTensors,
                 const ScalarArg *scalars, size_t numScalars,
                 const LaunchOptions &options);

  const KernelSpec *spec_;
  SymbolSites sites_;
  BucketTable table_;
  mutable std::mutex mutex_;
  /// Buckets beyond the table's capacity, by label (under mutex_).
  std::map<std::string, int> overflow_;
};

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_KERNELTUNING_H
