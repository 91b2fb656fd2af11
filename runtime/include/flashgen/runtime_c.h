/*===- runtime_c.h - flashgen runtime C API -----------------------*- C -*-===*\
|*                                                                            *|
|* The C++ runtime (flashgen/runtime.h) behind opaque handles, for other      *|
|* languages (the Python package uses it through ctypes). Every fallible      *|
|* call returns a flashgen_status_t; on failure flashgen_last_error() gives   *|
|* the message of the calling thread's last failure, naming the argument,     *|
|* file or resource. See docs/bundle-format.md §5.                            *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHGEN_RUNTIME_C_H
#define FLASHGEN_RUNTIME_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values equal flashgen::StatusCode. */
typedef enum flashgen_status {
  FLASHGEN_OK = 0,
  FLASHGEN_ERROR_INVALID_ARGUMENT = 1,
  FLASHGEN_ERROR_BUNDLE_FORMAT = 2,
  FLASHGEN_ERROR_FILE = 3,
  FLASHGEN_ERROR_NOT_FOUND = 4,
  FLASHGEN_ERROR_NO_DRIVER = 5,
  FLASHGEN_ERROR_NO_DEVICE = 6,
  FLASHGEN_ERROR_UNSUPPORTED_ARCH = 7,
  FLASHGEN_ERROR_COMPILE = 8,
  FLASHGEN_ERROR_OUT_OF_RESOURCES = 9,
  FLASHGEN_ERROR_CUDA = 10,
  FLASHGEN_ERROR_OUT_OF_MEMORY = 11,
  FLASHGEN_ERROR_INTERNAL = 12
} flashgen_status_t;

/* Values equal flashgen::DType. */
typedef enum flashgen_dtype {
  FLASHGEN_DTYPE_NONE = 0,
  FLASHGEN_DTYPE_BF16 = 1,
  FLASHGEN_DTYPE_F16 = 2,
  FLASHGEN_DTYPE_F32 = 3,
  FLASHGEN_DTYPE_F64 = 4,
  FLASHGEN_DTYPE_I8 = 5,
  FLASHGEN_DTYPE_U8 = 6,
  FLASHGEN_DTYPE_I32 = 7,
  FLASHGEN_DTYPE_I64 = 8
} flashgen_dtype_t;

typedef struct flashgen_device_s *flashgen_device_t;
typedef struct flashgen_bundle_s *flashgen_bundle_t;
typedef struct flashgen_kernel_s *flashgen_kernel_t;

/* A device tensor. strides (in elements) may be NULL for contiguous
 * row-major. Layout equals flashgen::TensorArg. */
typedef struct flashgen_tensor {
  void *data;
  int32_t dtype; /* flashgen_dtype_t */
  int32_t rank;
  const int64_t *sizes;
  const int64_t *strides;
} flashgen_tensor_t;

/* A run-time scalar: dtype NONE uses the manifest's default; F32/F64 read
 * f, I32/I64 read i. Layout equals flashgen::ScalarArg. */
typedef struct flashgen_scalar {
  int32_t dtype;
  int32_t reserved;
  double f;
  int64_t i;
} flashgen_scalar_t;

typedef struct flashgen_launch_options {
  void *stream;    /* CUstream; NULL: the legacy default stream */
  void *workspace; /* optional caller-owned device workspace */
  size_t workspace_bytes;
} flashgen_launch_options_t;

/* Message of this thread's last failure ("" if none). Valid until the next
 * failing call on this thread. */
const char *flashgen_last_error(void);
const char *flashgen_status_name(flashgen_status_t status);
const char *flashgen_version(void);

/* Devices. Fail with NO_DRIVER / NO_DEVICE on machines without a GPU. */
flashgen_status_t flashgen_device_count(int *count);
flashgen_status_t flashgen_device_open(int ordinal, flashgen_device_t *device);
void flashgen_device_release(flashgen_device_t device);
/* Strings live as long as the handle. */
const char *flashgen_device_name(flashgen_device_t device);
const char *flashgen_device_arch(flashgen_device_t device);

/* Bundles (no GPU needed). */
flashgen_status_t flashgen_bundle_load(const char *dir,
                                       flashgen_bundle_t *bundle);
void flashgen_bundle_release(flashgen_bundle_t bundle);
int flashgen_bundle_num_kernels(flashgen_bundle_t bundle);
const char *flashgen_bundle_kernel_name(flashgen_bundle_t bundle, int index);
const char *flashgen_bundle_target(flashgen_bundle_t bundle);

/* Compiles one variant for arch ("sm_80", "sm_90a") without a GPU. On
 * success *report_json (free with flashgen_free_string) is the report in the
 * format of flashgen::toJson. report_json may be NULL. */
flashgen_status_t flashgen_bundle_compile_variant(flashgen_bundle_t bundle,
                                                  const char *kernel,
                                                  int variant, const char *arch,
                                                  char **report_json);
void flashgen_free_string(char *s);

/* Kernels. device may be NULL: the kernel then validates but cannot launch.
 * The kernel keeps its bundle and device alive. */
flashgen_status_t flashgen_bundle_get_kernel(flashgen_bundle_t bundle,
                                             const char *name,
                                             flashgen_device_t device,
                                             flashgen_kernel_t *kernel);
void flashgen_kernel_release(flashgen_kernel_t kernel);
int flashgen_kernel_num_params(flashgen_kernel_t kernel);
const char *flashgen_kernel_param_name(flashgen_kernel_t kernel, int index);
/* Param io: 0 in, 1 out, 2 inout; -1 for a bad index. */
int flashgen_kernel_param_io(flashgen_kernel_t kernel, int index);
int flashgen_kernel_param_optional(flashgen_kernel_t kernel, int index);
int flashgen_kernel_param_dtype(flashgen_kernel_t kernel, int index);
int flashgen_kernel_param_rank(flashgen_kernel_t kernel, int index);
int flashgen_kernel_num_scalars(flashgen_kernel_t kernel);
const char *flashgen_kernel_scalar_name(flashgen_kernel_t kernel, int index);
int flashgen_kernel_scalar_dtype(flashgen_kernel_t kernel, int index);
int flashgen_kernel_scalar_has_default(flashgen_kernel_t kernel, int index);
int flashgen_kernel_num_variants(flashgen_kernel_t kernel);
int flashgen_kernel_variant(flashgen_kernel_t kernel);
flashgen_status_t flashgen_kernel_select_variant(flashgen_kernel_t kernel,
                                                 int variant);

flashgen_status_t flashgen_kernel_validate(flashgen_kernel_t kernel,
                                           const flashgen_tensor_t *tensors,
                                           size_t num_tensors,
                                           const flashgen_scalar_t *scalars,
                                           size_t num_scalars);
flashgen_status_t flashgen_kernel_workspace_bytes(
    flashgen_kernel_t kernel, const flashgen_tensor_t *tensors,
    size_t num_tensors, const flashgen_scalar_t *scalars, size_t num_scalars,
    size_t *bytes);
flashgen_status_t flashgen_kernel_reserve_workspace(flashgen_kernel_t kernel,
                                                    size_t bytes);
/* options may be NULL (default stream, kernel-owned workspace). */
flashgen_status_t flashgen_kernel_launch(flashgen_kernel_t kernel,
                                         const flashgen_tensor_t *tensors,
                                         size_t num_tensors,
                                         const flashgen_scalar_t *scalars,
                                         size_t num_scalars,
                                         const flashgen_launch_options_t *options);

/* The variant a launch with these tensors runs now: the kernel's variant
 * chooser's current pick (e.g. the autotuner's, flashgen/autotune_c.h)
 * without side effects, else flashgen_kernel_variant(); -1 for a null
 * kernel. */
int flashgen_kernel_variant_for(flashgen_kernel_t kernel,
                                const flashgen_tensor_t *tensors,
                                size_t num_tensors);

#ifdef __cplusplus
}
#endif

#endif /* FLASHGEN_RUNTIME_C_H */
