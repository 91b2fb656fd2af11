//===- LinearEmuSupport.h - recurrence cases on the host emulator -*- C++ -*-===//
//
// What the recurrence emulator tests (LinearEmuTest.cpp, LinearGradEmuTest.cpp)
// share: tensors in emulated device memory, read as the device reads them
// (bf16 data, f32 gates and states) or poisoned with NaN, and one case's
// standard random inputs (reference/Inputs.h). Include after the kernel
// prelude (fg::bf16).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_LINEAR_EMU_SUPPORT_H
#define FLASHGEN_TEST_LINEAR_EMU_SUPPORT_H

#include "test_support.h"

#include "reference/Inputs.h"
#include "reference/LinearProblem.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace linear_emu {

namespace ref = flashgen::reference;
using fg::bf16;
using emu_test::DeviceVec;
using emu_test::bf16_from;
using emu_test::bf16_value;

/// A tensor in emulated device memory with contiguous row-major strides.
template <class T> struct DevTensor {
  DeviceVec<T> mem;
  std::vector<long long> strides;
  DevTensor(const ref::Shape& shape, bool writable) : mem(std::max<int64_t>(ref::numElements(shape), 1), writable) {
    strides.assign(shape.size(), 1);
    for (int i = int(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  }
  /// Inputs: the reference values, rounded as the device reads them.
  DevTensor(const ref::Tensor<double>& t) : DevTensor(t.shape(), false) {
    for (int64_t i = 0; i < t.size(); ++i) {
      if constexpr (std::is_same<T, bf16>::value)
        mem[i] = bf16_from<bf16>(float(t.data()[i]));
      else
        mem[i] = float(t.data()[i]);
    }
  }
  /// Outputs: NaN poison, so every element must be written.
  static constexpr struct Poison {
  } kPoison{};
  DevTensor(const ref::Shape& shape, Poison) : DevTensor(shape, true) {
    for (auto& x : mem.v) {
      if constexpr (std::is_same<T, bf16>::value)
        x.bits = 0x7fc1;
      else
        x = NAN;
    }
  }
  /// Stride i; 0 for an absent (empty) optional tensor.
  long long s(int i) const { return i < int(strides.size()) ? strides[i] : 0; }
};

inline ref::Tensor<float> fromBf16(const DevTensor<bf16>& d, const ref::Shape& shape) {
  ref::Tensor<float> t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = bf16_value(d.mem.v[i]);
  return t;
}

struct Case {
  ref::GateKind gate;
  int64_t batch, heads, steps, keyDim, valueDim;
  bool initial = false;
  uint64_t seed = 1;
  double gateRange = 0;  // > 0: mLSTM preactivations uniform in +-gateRange
};

inline ref::LinearInputs<double> inputsFor(const Case& c) {
  ref::LinearInputSpec spec;
  spec.gate = c.gate;
  spec.batch = c.batch;
  spec.heads = c.heads;
  spec.steps = c.steps;
  spec.keyDim = c.keyDim;
  spec.valueDim = c.valueDim;
  spec.initialState = c.initial;
  spec.seed = c.seed;
  if (c.gateRange > 0) {
    spec.gates.inputGateMin = spec.gates.forgetGateMin = -c.gateRange;
    spec.gates.inputGateMax = spec.gates.forgetGateMax = c.gateRange;
  }
  spec.dataRounding = ref::Rounding::Bf16;
  spec.gateRounding = ref::Rounding::Float32;
  spec.stateRounding = ref::Rounding::Float32;
  return ref::generateLinearInputs(spec);
}


}  // namespace linear_emu

#endif  // FLASHGEN_TEST_LINEAR_EMU_SUPPORT_H
