//===- Types.cpp - Status and DType helpers -------------------------------===//

#include "flashgen/runtime.h"
#include "flashgen/version.h"

namespace flashgen {

const char *runtimeVersion() { return FLASHGEN_VERSION_STRING; }

const char *statusCodeName(StatusCode code) {
  switch (code) {
  case StatusCode::Ok:
    return "Ok";
  case StatusCode::InvalidArgument:
    return "InvalidArgument";
  case StatusCode::BundleFormat:
    return "BundleFormat";
  case StatusCode::FileError:
    return "FileError";
  case StatusCode::NotFound:
    return "NotFound";
  case StatusCode::NoDriver:
    return "NoDriver";
  case StatusCode::NoDevice:
    return "NoDevice";
  case StatusCode::UnsupportedArch:
    return "UnsupportedArch";
  case StatusCode::CompileError:
    return "CompileError";
  case StatusCode::OutOfResources:
    return "OutOfResources";
  case StatusCode::CudaError:
    return "CudaError";
  case StatusCode::OutOfMemory:
    return "OutOfMemory";
  case StatusCode::Internal:
    return "Internal";
  }
  return "Unknown";
}

std::string Status::toString() const {
  if (ok())
    return "Ok";
  return std::string(statusCodeName(code_)) + ": " + message_;
}

namespace {

struct DTypeInfo {
  DType dtype;
  const char *name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::BF16, "bf16", 2}, {DType::F16, "f16", 2}, {DType::F32, "f32", 4},
    {DType::F64, "f64", 8},   {DType::I8, "i8", 1},   {DType::U8, "u8", 1},
    {DType::I32, "i32", 4},   {DType::I64, "i64", 8},
};

} // namespace

const char *dtypeName(DType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.name;
  return "none";
}

size_t dtypeSize(DType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.size;
  return 0;
}

bool parseDType(const std::string &text, DType &out) {
  for (const DTypeInfo &d : kDTypes)
    if (text == d.name) {
      out = d.dtype;
      return true;
    }
  return false;
}

} // namespace flashgen
