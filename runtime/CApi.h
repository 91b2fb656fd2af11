//===- CApi.h - Handles and status helpers of the C API ---------*- C++ -*-===//
//
// What the C API's handles hold and how a C++ Status becomes a
// flashgen_status_t plus the thread's last-error message. Shared by the
// runtime's own C entry points (RuntimeC.cpp) and by libraries layered on
// the runtime that add entry points on the same handles (autotune/'s
// AutotuneC.cpp), so that flashgen_last_error() reports their failures too.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_CAPI_H
#define FLASHGEN_RUNTIME_CAPI_H

#include "flashgen/runtime.h"
#include "flashgen/runtime_c.h"

#include <exception>
#include <memory>
#include <string>
#include <vector>

struct flashgen_device_s {
  std::shared_ptr<flashgen::Device> device;
};

struct flashgen_bundle_s {
  std::shared_ptr<flashgen::Bundle> bundle;
  std::vector<std::string> kernelNames;
};

struct flashgen_kernel_s {
  std::unique_ptr<flashgen::Kernel> kernel;
  std::vector<flashgen::Kernel::ParamInfo> params;
  std::vector<flashgen::Kernel::ScalarInfo> scalars;
};

namespace flashgen::capi {

/// The status's code; on failure its message becomes the last error.
flashgen_status_t report(const Status &st);
/// Sets the last error and returns `code`.
flashgen_status_t fail(flashgen_status_t code, const std::string &message);

/// Runs `fn`, turning any escaping exception (bad_alloc) into a status: no
/// C++ exception crosses the C boundary.
template <class Fn> flashgen_status_t guarded(Fn fn) {
  try {
    return fn();
  } catch (const std::exception &e) {
    return fail(FLASHGEN_ERROR_INTERNAL,
                std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(FLASHGEN_ERROR_INTERNAL, "internal error");
  }
}

// The C structs have the C++ layout (checked in RuntimeC.cpp).
inline const TensorArg *asTensors(const flashgen_tensor_t *t) {
  return reinterpret_cast<const TensorArg *>(t);
}
inline const ScalarArg *asScalars(const flashgen_scalar_t *s) {
  return reinterpret_cast<const ScalarArg *>(s);
}

} // namespace flashgen::capi

#endif // FLASHGEN_RUNTIME_CAPI_H
