//===- ParamPacking.h - Kernel parameter layout of a launch -----*- C++ -*-===//
//
// Expands a launch's manifest args into the C parameter list of the kernel
// ABI (docs/bundle-format.md §2) with byte offsets, once, when a kernel is
// prepared. A launch then only copies values into a stack buffer at these
// offsets and hands it to cuLaunchKernel as CU_LAUNCH_PARAM_BUFFER_POINTER.
// The same layout is checked against the parameter table ptxas recorded in
// the cubin, which catches an emitter/manifest disagreement on the CPU
// instead of as a wrong-answer GPU launch.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_PARAMPACKING_H
#define FLASHGEN_RUNTIME_PARAMPACKING_H

#include "runtime/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

struct PackedParam {
  enum class Source : uint8_t {
    TensorPointer, // void*   of param `index`
    TensorStride,  // long long stride `dim` of param `index`
    ScratchPointer,
    ScratchStride,
    Slot,      // int from symbol or integer-scalar slot `index`
    ScalarF32, // float from scalar `index`
    ScalarI64, // long long from scalar slot `index`
    ExprI32,   // int from args[`index`].expr
    ConstF32,  // float args[`index`].floatValue
    ConstI32,  // int args[`index`].intValue
    TensorMap, // 128-byte CUtensorMap (64-byte aligned): the `index`-th
               // tensor_map arg of the launch, args[`dim`] (of a param or
               // a scratch buffer)
  };
  Source source;
  uint8_t size;    // 4, 8 or 128
  uint16_t offset; // bytes from the start of the buffer
  int16_t index;
  int16_t dim;
};

struct ParamLayout {
  std::vector<PackedParam> params;
  int totalBytes = 0;
};

/// Tensor maps one launch can pass (128 bytes each within kMaxParamBytes).
constexpr int kMaxTensorMaps = kMaxParamBytes / 128;

ParamLayout layoutLaunchParams(const KernelSpec &kernel,
                               const VariantSpec &variant,
                               const LaunchSpec &launch);

/// One entry of a cubin's parameter table (EIATTR_KPARAM_INFO).
struct CubinParam {
  int ordinal;
  int offset;
  int size;
};

/// Compares the layout with the compiled entry's parameters; on mismatch
/// `error` says which parameter differs and how. A layout with tensor maps
/// takes the cubin's offsets (ptxas aligns them in the parameter bank, whose
/// start the manifest does not know); the count, order and sizes must agree.
bool checkLayoutAgainstCubin(ParamLayout &layout,
                             const std::vector<CubinParam> &cubinParams,
                             const std::string &entry, std::string &error);

/// Human-readable C parameter list of a layout, for messages
/// ("const T* q, long long q_stride0, ..., int N").
std::string describeLayout(const KernelSpec &kernel, const VariantSpec &variant,
                           const LaunchSpec &launch, const ParamLayout &layout);

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_PARAMPACKING_H
