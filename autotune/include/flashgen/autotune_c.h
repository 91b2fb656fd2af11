/*===- autotune_c.h - flashgen autotuner C API --------------------*- C -*-===*\
|*                                                                            *|
|* Autotuning on the runtime C API's kernel handles (flashgen/runtime_c.h),   *|
|* implemented by libflashgen_autotune.so, not by libflashgen_runtime.so: a   *|
|* program that calls these links (or loads) both. Loading that library also  *|
|* makes FLASHGEN_AUTOTUNE=1 tune every kernel created afterwards             *|
|* (flashgen/autotune.h). Failures are reported like the runtime's, through   *|
|* flashgen_last_error(). See docs/autotune.md.                               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHGEN_AUTOTUNE_C_H
#define FLASHGEN_AUTOTUNE_C_H

#include "flashgen/runtime_c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flashgen_tune_options {
  int reps;               /* timed runs per candidate (median reported) */
  int progress;           /* nonzero: one log line per candidate */
  int force;              /* nonzero: time even if the tuning file has it */
  int write_file;         /* nonzero: record the winner in the tuning file */
  double warmup_ms;       /* warm-up per candidate */
  double tolerance;       /* rel. L2 error vs variant 0; < 0: by dtype */
  double min_improvement; /* fraction a candidate must beat variant 0 by */
} flashgen_tune_options_t;

/* Fills *options with flashgen::TuneOptions' defaults. */
void flashgen_tune_options_init(flashgen_tune_options_t *options);
/* Times the variants for the shape bucket of these arguments (their sizes
 * and which optional params are NULL; the tensors' memory is never touched)
 * and records the winner. options may be NULL (defaults). On success
 * *report_json (free with flashgen_free_string; report_json may be NULL) is
 * the report as flashgen::toJson(TuneReport) writes it. */
flashgen_status_t flashgen_kernel_tune(flashgen_kernel_t kernel,
                                       const flashgen_tensor_t *tensors,
                                       size_t num_tensors,
                                       const flashgen_scalar_t *scalars,
                                       size_t num_scalars,
                                       const flashgen_tune_options_t *options,
                                       char **report_json);
/* Turns autotuning on launch on or off for this kernel (initially as
 * FLASHGEN_AUTOTUNE says). Not concurrently with launches. */
flashgen_status_t flashgen_kernel_set_autotune(flashgen_kernel_t kernel,
                                               int enabled);
int flashgen_kernel_autotune(flashgen_kernel_t kernel);

#ifdef __cplusplus
}
#endif

#endif /* FLASHGEN_AUTOTUNE_C_H */
