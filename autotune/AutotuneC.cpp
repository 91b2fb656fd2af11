//===- AutotuneC.cpp - flashgen autotuner C API ---------------------------===//
//
// flashgen/autotune_c.h on the runtime C API's kernel handles. Lives in
// libflashgen_autotune, not in the runtime: the runtime's C API
// (runtime/RuntimeC.cpp) knows nothing of tuning, and a caller that wants it
// links or loads this library, whose loading also registers the tuning
// chooser for FLASHGEN_AUTOTUNE=1 (KernelTuning.cpp).
//
//===----------------------------------------------------------------------===//

#include "flashgen/autotune_c.h"

#include "flashgen/autotune.h"
#include "runtime/CApi.h"

#include <cstdlib>
#include <cstring>
#include <string>

using namespace flashgen;
using namespace flashgen::capi;

extern "C" {

void flashgen_tune_options_init(flashgen_tune_options_t *options) {
  if (!options)
    return;
  const TuneOptions d;
  options->reps = d.reps;
  options->progress = d.progress;
  options->force = d.force;
  options->write_file = d.writeFile;
  options->warmup_ms = d.warmupMs;
  options->tolerance = d.tolerance;
  options->min_improvement = d.minImprovement;
}

flashgen_status_t flashgen_kernel_tune(flashgen_kernel_t kernel,
                                       const flashgen_tensor_t *tensors,
                                       size_t num_tensors,
                                       const flashgen_scalar_t *scalars,
                                       size_t num_scalars,
                                       const flashgen_tune_options_t *options,
                                       char **report_json) {
  if (report_json)
    *report_json = nullptr;
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  TuneOptions opts;
  if (options) {
    opts.reps = options->reps;
    opts.progress = options->progress != 0;
    opts.force = options->force != 0;
    opts.writeFile = options->write_file != 0;
    opts.warmupMs = options->warmup_ms;
    opts.tolerance = options->tolerance;
    opts.minImprovement = options->min_improvement;
  }
  return guarded([&] {
    TuneReport r;
    if (Status st = tune(*kernel->kernel, asTensors(tensors), num_tensors,
                         asScalars(scalars), num_scalars, opts, r);
        !st)
      return report(st);
    if (report_json) {
      std::string text = toJson(r);
      // flashgen_free_string (the runtime's) frees it with free().
      char *out = static_cast<char *>(std::malloc(text.size() + 1));
      if (!out)
        return fail(FLASHGEN_ERROR_OUT_OF_MEMORY, "cannot allocate the report");
      std::memcpy(out, text.c_str(), text.size() + 1);
      *report_json = out;
    }
    return FLASHGEN_OK;
  });
}

flashgen_status_t flashgen_kernel_set_autotune(flashgen_kernel_t kernel,
                                               int enabled) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  return guarded([&] {
    setAutotune(*kernel->kernel, enabled != 0);
    return FLASHGEN_OK;
  });
}

int flashgen_kernel_autotune(flashgen_kernel_t kernel) {
  return kernel && isAutotuning(*kernel->kernel) ? 1 : 0;
}

} // extern "C"
