//===- RuntimeC.cpp - flashgen runtime C API ------------------------------===//
//
// Thin wrappers: each handle owns a shared_ptr (or unique_ptr) of the C++
// object; each call converts the Status into a code plus a thread-local
// message. No C++ exception crosses the boundary.
//
//===----------------------------------------------------------------------===//

#include "flashgen/runtime_c.h"

#include "flashgen/runtime.h"
#include "runtime/CApi.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace flashgen;

// The C structs are passed to the C++ API without copying.
static_assert(sizeof(flashgen_tensor_t) == sizeof(TensorArg) &&
                  offsetof(flashgen_tensor_t, data) == offsetof(TensorArg, data) &&
                  offsetof(flashgen_tensor_t, dtype) == offsetof(TensorArg, dtype) &&
                  offsetof(flashgen_tensor_t, rank) == offsetof(TensorArg, rank) &&
                  offsetof(flashgen_tensor_t, sizes) == offsetof(TensorArg, sizes) &&
                  offsetof(flashgen_tensor_t, strides) ==
                      offsetof(TensorArg, strides),
              "flashgen_tensor_t must match flashgen::TensorArg");
static_assert(sizeof(flashgen_scalar_t) == sizeof(ScalarArg) &&
                  offsetof(flashgen_scalar_t, dtype) == offsetof(ScalarArg, dtype) &&
                  offsetof(flashgen_scalar_t, f) == offsetof(ScalarArg, f) &&
                  offsetof(flashgen_scalar_t, i) == offsetof(ScalarArg, i),
              "flashgen_scalar_t must match flashgen::ScalarArg");
static_assert(int(FLASHGEN_ERROR_INTERNAL) == int(StatusCode::Internal) &&
                  int(FLASHGEN_DTYPE_I64) == int(DType::I64),
              "C and C++ enums must agree");

using namespace flashgen::capi;

namespace {
thread_local std::string lastError;
} // namespace

flashgen_status_t flashgen::capi::report(const Status &st) {
  if (!st.ok())
    lastError = st.message();
  return static_cast<flashgen_status_t>(st.code());
}

flashgen_status_t flashgen::capi::fail(flashgen_status_t code,
                                       const std::string &message) {
  lastError = message;
  return code;
}

namespace {

const Kernel::ParamInfo *paramAt(flashgen_kernel_t kernel, int index) {
  if (!kernel || index < 0 || index >= static_cast<int>(kernel->params.size()))
    return nullptr;
  return &kernel->params[index];
}

const Kernel::ScalarInfo *scalarAt(flashgen_kernel_t kernel, int index) {
  if (!kernel || index < 0 || index >= static_cast<int>(kernel->scalars.size()))
    return nullptr;
  return &kernel->scalars[index];
}

} // namespace

extern "C" {

const char *flashgen_last_error(void) { return lastError.c_str(); }

const char *flashgen_status_name(flashgen_status_t status) {
  return statusCodeName(static_cast<StatusCode>(status));
}

const char *flashgen_version(void) { return runtimeVersion(); }

flashgen_status_t flashgen_device_count(int *count) {
  if (!count)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "count: null pointer");
  return guarded([&] { return report(Device::count(*count)); });
}

flashgen_status_t flashgen_device_open(int ordinal, flashgen_device_t *device) {
  if (!device)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "device: null pointer");
  *device = nullptr;
  return guarded([&] {
    std::shared_ptr<Device> d;
    if (Status st = Device::open(ordinal, d); !st)
      return report(st);
    *device = new flashgen_device_s{std::move(d)};
    return FLASHGEN_OK;
  });
}

void flashgen_device_release(flashgen_device_t device) { delete device; }

const char *flashgen_device_name(flashgen_device_t device) {
  return device ? device->device->name().c_str() : "";
}

const char *flashgen_device_arch(flashgen_device_t device) {
  return device ? device->device->arch().c_str() : "";
}

flashgen_status_t flashgen_bundle_load(const char *dir,
                                       flashgen_bundle_t *bundle) {
  if (!bundle)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "bundle: null pointer");
  *bundle = nullptr;
  if (!dir)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "dir: null pointer");
  return guarded([&] {
    std::shared_ptr<Bundle> b;
    if (Status st = Bundle::load(dir, b); !st)
      return report(st);
    *bundle = new flashgen_bundle_s{b, b->kernelNames()};
    return FLASHGEN_OK;
  });
}

void flashgen_bundle_release(flashgen_bundle_t bundle) { delete bundle; }

int flashgen_bundle_num_kernels(flashgen_bundle_t bundle) {
  return bundle ? static_cast<int>(bundle->kernelNames.size()) : 0;
}

const char *flashgen_bundle_kernel_name(flashgen_bundle_t bundle, int index) {
  if (!bundle || index < 0 ||
      index >= static_cast<int>(bundle->kernelNames.size()))
    return nullptr;
  return bundle->kernelNames[index].c_str();
}

const char *flashgen_bundle_target(flashgen_bundle_t bundle) {
  return bundle ? bundle->bundle->target().c_str() : "";
}

flashgen_status_t flashgen_bundle_compile_variant(flashgen_bundle_t bundle,
                                                  const char *kernel,
                                                  int variant, const char *arch,
                                                  char **report_json) {
  if (report_json)
    *report_json = nullptr;
  if (!bundle)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "bundle: null handle");
  if (!kernel || !arch)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT,
                kernel ? "arch: null pointer" : "kernel: null pointer");
  return guarded([&] {
    CompileReport r;
    if (Status st = bundle->bundle->compileVariant(kernel, variant, arch, r);
        !st)
      return report(st);
    if (report_json) {
      std::string text = toJson(r);
      char *out = static_cast<char *>(std::malloc(text.size() + 1));
      if (!out)
        return fail(FLASHGEN_ERROR_OUT_OF_MEMORY, "cannot allocate the report");
      std::memcpy(out, text.c_str(), text.size() + 1);
      *report_json = out;
    }
    return FLASHGEN_OK;
  });
}

void flashgen_free_string(char *s) { std::free(s); }

flashgen_status_t flashgen_bundle_get_kernel(flashgen_bundle_t bundle,
                                             const char *name,
                                             flashgen_device_t device,
                                             flashgen_kernel_t *kernel) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null pointer");
  *kernel = nullptr;
  if (!bundle)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "bundle: null handle");
  if (!name)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "name: null pointer");
  return guarded([&] {
    std::unique_ptr<Kernel> k;
    if (Status st = bundle->bundle->getKernel(
            name, device ? device->device : nullptr, k);
        !st)
      return report(st);
    auto *h = new flashgen_kernel_s;
    h->params = k->params();
    h->scalars = k->scalars();
    h->kernel = std::move(k);
    *kernel = h;
    return FLASHGEN_OK;
  });
}

void flashgen_kernel_release(flashgen_kernel_t kernel) { delete kernel; }

int flashgen_kernel_num_params(flashgen_kernel_t kernel) {
  return kernel ? static_cast<int>(kernel->params.size()) : 0;
}

const char *flashgen_kernel_param_name(flashgen_kernel_t kernel, int index) {
  const Kernel::ParamInfo *p = paramAt(kernel, index);
  return p ? p->name.c_str() : nullptr;
}

int flashgen_kernel_param_io(flashgen_kernel_t kernel, int index) {
  const Kernel::ParamInfo *p = paramAt(kernel, index);
  return p ? static_cast<int>(p->io) : -1;
}

int flashgen_kernel_param_optional(flashgen_kernel_t kernel, int index) {
  const Kernel::ParamInfo *p = paramAt(kernel, index);
  return p ? (p->optional ? 1 : 0) : -1;
}

int flashgen_kernel_param_dtype(flashgen_kernel_t kernel, int index) {
  const Kernel::ParamInfo *p = paramAt(kernel, index);
  return p ? static_cast<int>(p->dtype) : -1;
}

int flashgen_kernel_param_rank(flashgen_kernel_t kernel, int index) {
  const Kernel::ParamInfo *p = paramAt(kernel, index);
  return p ? p->rank : -1;
}

int flashgen_kernel_num_scalars(flashgen_kernel_t kernel) {
  return kernel ? static_cast<int>(kernel->scalars.size()) : 0;
}

const char *flashgen_kernel_scalar_name(flashgen_kernel_t kernel, int index) {
  const Kernel::ScalarInfo *s = scalarAt(kernel, index);
  return s ? s->name.c_str() : nullptr;
}

int flashgen_kernel_scalar_dtype(flashgen_kernel_t kernel, int index) {
  const Kernel::ScalarInfo *s = scalarAt(kernel, index);
  return s ? static_cast<int>(s->dtype) : -1;
}

int flashgen_kernel_scalar_has_default(flashgen_kernel_t kernel, int index) {
  const Kernel::ScalarInfo *s = scalarAt(kernel, index);
  return s ? (s->hasDefault ? 1 : 0) : -1;
}

int flashgen_kernel_num_variants(flashgen_kernel_t kernel) {
  return kernel ? kernel->kernel->numVariants() : 0;
}

int flashgen_kernel_variant(flashgen_kernel_t kernel) {
  return kernel ? kernel->kernel->variant() : -1;
}

flashgen_status_t flashgen_kernel_select_variant(flashgen_kernel_t kernel,
                                                 int variant) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  return guarded([&] { return report(kernel->kernel->selectVariant(variant)); });
}

flashgen_status_t flashgen_kernel_validate(flashgen_kernel_t kernel,
                                           const flashgen_tensor_t *tensors,
                                           size_t num_tensors,
                                           const flashgen_scalar_t *scalars,
                                           size_t num_scalars) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  return guarded([&] {
    return report(kernel->kernel->validate(asTensors(tensors), num_tensors,
                                           asScalars(scalars), num_scalars));
  });
}

flashgen_status_t flashgen_kernel_workspace_bytes(
    flashgen_kernel_t kernel, const flashgen_tensor_t *tensors,
    size_t num_tensors, const flashgen_scalar_t *scalars, size_t num_scalars,
    size_t *bytes) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  if (!bytes)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "bytes: null pointer");
  return guarded([&] {
    return report(kernel->kernel->workspaceBytes(
        asTensors(tensors), num_tensors, asScalars(scalars), num_scalars,
        *bytes));
  });
}

flashgen_status_t flashgen_kernel_reserve_workspace(flashgen_kernel_t kernel,
                                                    size_t bytes) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  return guarded([&] { return report(kernel->kernel->reserveWorkspace(bytes)); });
}

flashgen_status_t flashgen_kernel_launch(flashgen_kernel_t kernel,
                                         const flashgen_tensor_t *tensors,
                                         size_t num_tensors,
                                         const flashgen_scalar_t *scalars,
                                         size_t num_scalars,
                                         const flashgen_launch_options_t *options) {
  if (!kernel)
    return fail(FLASHGEN_ERROR_INVALID_ARGUMENT, "kernel: null handle");
  LaunchOptions opts;
  if (options) {
    opts.stream = options->stream;
    opts.workspace = options->workspace;
    opts.workspaceBytes = options->workspace_bytes;
  }
  // The launch path itself does not throw (it allocates only on failure).
  return guarded([&] {
    return report(kernel->kernel->launch(asTensors(tensors), num_tensors,
                                         asScalars(scalars), num_scalars, opts));
  });
}

int flashgen_kernel_variant_for(flashgen_kernel_t kernel,
                                const flashgen_tensor_t *tensors,
                                size_t num_tensors) {
  if (!kernel)
    return -1;
  return kernel->kernel->variantFor(asTensors(tensors), num_tensors);
}

} // extern "C"
