//===- ParamPacking.cpp - Kernel parameter layout of a launch -------------===//

#include "runtime/ParamPacking.h"

#include <algorithm>

namespace flashgen {

namespace {

void append(ParamLayout &layout, PackedParam::Source source, int size,
            int index, int dim, int align = 0) {
  // Natural C alignment, as nvcc lays out a __global__ parameter list.
  if (align == 0)
    align = size;
  int offset = (layout.totalBytes + align - 1) / align * align;
  layout.params.push_back({source, static_cast<uint8_t>(size),
                           static_cast<uint16_t>(std::min(offset, 65535)),
                           static_cast<int16_t>(index),
                           static_cast<int16_t>(dim)});
  layout.totalBytes = offset + size;
}

} // namespace

ParamLayout layoutLaunchParams(const KernelSpec &kernel,
                               const VariantSpec &variant,
                               const LaunchSpec &launch) {
  using S = PackedParam::Source;
  ParamLayout layout;
  int tensorMaps = 0;
  for (size_t i = 0; i < launch.args.size(); ++i) {
    const ArgSpec &a = launch.args[i];
    switch (a.kind) {
    case ArgSpec::Kind::Tensor: {
      append(layout, S::TensorPointer, 8, a.index, -1);
      int rank = static_cast<int>(kernel.params[a.index].shape.size());
      for (int d = 0; d < rank; ++d)
        append(layout, S::TensorStride, 8, a.index, d);
      break;
    }
    case ArgSpec::Kind::Scratch: {
      append(layout, S::ScratchPointer, 8, a.index, -1);
      int rank = static_cast<int>(variant.scratch[a.index].shape.size());
      for (int d = 0; d < rank; ++d)
        append(layout, S::ScratchStride, 8, a.index, d);
      break;
    }
    case ArgSpec::Kind::Symbol:
      append(layout, S::Slot, 4, a.index, -1);
      break;
    case ArgSpec::Kind::Scalar: {
      const ScalarSpec &s = kernel.scalars[a.index];
      int slot = kernel.scalarSlot(a.index);
      if (s.dtype == DType::F32)
        append(layout, S::ScalarF32, 4, a.index, -1);
      else if (s.dtype == DType::I32)
        append(layout, S::Slot, 4, slot, -1);
      else
        append(layout, S::ScalarI64, 8, slot, -1);
      break;
    }
    case ArgSpec::Kind::Expr:
      append(layout, S::ExprI32, 4, static_cast<int>(i), -1);
      break;
    case ArgSpec::Kind::Float:
      append(layout, S::ConstF32, 4, static_cast<int>(i), -1);
      break;
    case ArgSpec::Kind::Int:
      append(layout, S::ConstI32, 4, static_cast<int>(i), -1);
      break;
    case ArgSpec::Kind::TensorMap: // CUtensorMap: 128 bytes, alignas(64);
                                   // the cubin places it (checkLayoutAgainstCubin)
      append(layout, S::TensorMap, 128, tensorMaps++, static_cast<int>(i), 64);
      break;
    }
  }
  return layout;
}

bool checkLayoutAgainstCubin(ParamLayout &layout,
                             const std::vector<CubinParam> &cubinParams,
                             const std::string &entry, std::string &error) {
  std::vector<CubinParam> sorted = cubinParams;
  std::sort(sorted.begin(), sorted.end(),
            [](const CubinParam &a, const CubinParam &b) {
              return a.ordinal < b.ordinal;
            });
  if (sorted.size() != layout.params.size()) {
    error = "entry " + entry + " takes " + std::to_string(sorted.size()) +
            " parameters but the manifest's args expand to " +
            std::to_string(layout.params.size()) +
            " (a tensor expands to its pointer plus one long long stride per "
            "dim, docs/bundle-format.md §2)";
    return false;
  }
  // A 64-byte-aligned tensor map is placed by ptxas so that its address in
  // the parameter bank is 64-byte aligned, which depends on where the bank
  // starts (offset 48 on sm_90): with tensor maps the offsets are the
  // cubin's, in order and without overlap; without, they must be the
  // natural C layout exactly.
  bool adopt = std::any_of(layout.params.begin(), layout.params.end(),
                           [](const PackedParam &p) {
                             return p.source == PackedParam::Source::TensorMap;
                           });
  int end = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const CubinParam &c = sorted[i];
    const PackedParam &p = layout.params[i];
    bool offsetOk = adopt ? c.offset >= end && c.offset % std::min<int>(p.size, 16) == 0
                          : c.offset == p.offset;
    if (c.ordinal != static_cast<int>(i) || !offsetOk || c.size != p.size) {
      error = "entry " + entry + " parameter " + std::to_string(i) + " is " +
              std::to_string(c.size) + " bytes at offset " +
              std::to_string(c.offset) + " but the manifest expects " +
              std::to_string(p.size) + " bytes at offset " +
              std::to_string(p.offset);
      return false;
    }
    end = c.offset + c.size;
  }
  if (adopt) {
    for (size_t i = 0; i < sorted.size(); ++i)
      layout.params[i].offset = static_cast<uint16_t>(sorted[i].offset);
    layout.totalBytes = end;
  }
  return true;
}

std::string describeLayout(const KernelSpec &kernel, const VariantSpec &variant,
                           const LaunchSpec &launch, const ParamLayout &layout) {
  using S = PackedParam::Source;
  std::string out;
  for (const PackedParam &p : layout.params) {
    if (!out.empty())
      out += ", ";
    switch (p.source) {
    case S::TensorPointer:
      out += std::string(dtypeName(kernel.params[p.index].dtype)) + "* " +
             kernel.params[p.index].name;
      break;
    case S::TensorStride:
      out += "long long " + kernel.params[p.index].name + "_stride" +
             std::to_string(p.dim);
      break;
    case S::ScratchPointer:
      out += std::string(dtypeName(variant.scratch[p.index].dtype)) + "* " +
             variant.scratch[p.index].name;
      break;
    case S::ScratchStride:
      out += "long long " + variant.scratch[p.index].name + "_stride" +
             std::to_string(p.dim);
      break;
    case S::Slot:
      out += "int " + kernel.slotName(p.index);
      break;
    case S::ScalarF32:
      out += "float " + kernel.scalars[p.index].name;
      break;
    case S::ScalarI64:
      out += "long long " + kernel.slotName(p.index);
      break;
    case S::ExprI32:
      out += "int (" + launch.args[p.index].expr.text() + ")";
      break;
    case S::ConstF32:
      out += "float " + std::to_string(launch.args[p.index].floatValue);
      break;
    case S::ConstI32:
      out += "int " + std::to_string(launch.args[p.index].intValue);
      break;
    case S::TensorMap: {
      const ArgSpec &a = launch.args[p.dim];
      out += "tensor_map tm_" + (a.mapsScratch ? variant.scratch[a.index].name
                                               : kernel.params[a.index].name);
      break;
    }
    }
  }
  return out;
}

} // namespace flashgen
