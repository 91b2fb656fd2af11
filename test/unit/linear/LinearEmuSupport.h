//===- LinearEmuSupport.h - recurrence cases on the host emulator -*- C++ -*-===//
//
// What the recurrence emulator tests (LinearEmuTest.cpp, LinearGradEmuTest.cpp,
// the output_mod and feature-map tests) share: tensors in emulated device
// memory, read as the device reads them (bf16 data, f32 gates and states) or
// poisoned with NaN, one case's standard random inputs (reference/Inputs.h)
// and the mLSTM kinds' rows' normalisers checked against the reference's.
// Include after the kernel prelude (fg::bf16).
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

/// The normaliser kinds' optional `norm` output (the rows' N_t and floor_t,
/// [B, H, T, 2] f32) in a buffer of [B, H, rows, 2], rows the step count
/// rounded up to whole 64-row chunks (at least one chunk), NaN-poisoned:
/// rows at or past T must stay unwritten. `asked` false passes null (the
/// strides stay valid): the kernel must not need it. N is checked within
/// `nTolerance` relative L2 error (f32 sums of exact bf16 products measure
/// about 1e-7), floor_t within `floorTolerance` relative error.
struct RowNormBuffer {
  int64_t batch, heads, steps, rows;
  bool asked;
  DevTensor<float> t;
  double nTolerance = 1e-3, floorTolerance = 1e-5;
  RowNormBuffer(int64_t batch, int64_t heads, int64_t steps, bool asked = true)
      : batch(batch), heads(heads), steps(steps), rows(std::max<int64_t>((steps + 63) / 64, 1) * 64), asked(asked),
        t({batch, heads, rows, 2}, DevTensor<float>::kPoison) {}
  float* ptr() { return asked ? t.mem.data() : nullptr; }
  long long s(int i) const { return t.s(i); }
  double at(int64_t b, int64_t h, int64_t r, int col) const {
    return double(t.mem.v[size_t(((b * heads + h) * rows + r) * 2 + col)]);
  }
};

/// `got` against the float64 reference's rowNorm [B, H, T, 2]: N_t (column
/// 0) within got.nTolerance relative L2 error over the rows < T, floor_t
/// (column 1) within got.floorTolerance relative error each; every row at
/// or past T still NaN. NaN never passes. Not asked: the buffer untouched.
inline void expectRowNorm(const RowNormBuffer& got, const ref::Tensor<double>& want, const char* what) {
  int64_t touched = 0;  // rows past T (or any row, not asked) written
  auto poisoned = [&](int64_t b, int64_t h, int64_t r) {
    return std::isnan(got.at(b, h, r, 0)) && std::isnan(got.at(b, h, r, 1));
  };
  if (!got.asked) {
    for (int64_t b = 0; b < got.batch; ++b)
      for (int64_t h = 0; h < got.heads; ++h)
        for (int64_t r = 0; r < got.rows; ++r) touched += !poisoned(b, h, r);
    std::printf("[linear-emu]   %s: norm not asked (null)\n", what);
    EXPECT_EQ(touched, 0) << what << ": rows written through a null norm";
    return;
  }
  ASSERT_EQ(want.shape(), (ref::Shape{got.batch, got.heads, got.steps, 2})) << what << ": the reference's rowNorm";
  double num = 0, den = 0, floorError = 0;
  int64_t nanRows = 0;
  for (int64_t b = 0; b < got.batch; ++b)
    for (int64_t h = 0; h < got.heads; ++h) {
      for (int64_t r = 0; r < got.steps; ++r) {
        const int64_t i = ((b * got.heads + h) * got.steps + r) * 2;
        const double n = got.at(b, h, r, 0), f = got.at(b, h, r, 1);
        if (std::isnan(n) || std::isnan(f)) ++nanRows;
        const double en = std::isnan(n) ? INFINITY : n - want.data()[i];
        num += en * en;
        den += want.data()[i] * want.data()[i];
        const double ef = std::fabs(f - want.data()[i + 1]) / std::fabs(want.data()[i + 1]);
        floorError = std::max(floorError, std::isnan(ef) ? INFINITY : ef);
      }
      for (int64_t r = got.steps; r < got.rows; ++r) touched += !poisoned(b, h, r);
    }
  const double nError = got.steps == 0 ? 0.0 : den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  std::printf("[linear-emu]   %s: norm N error %.3g (relative L2), floor error %.3g (max relative), "
              "%lld NaN rows, %lld rows past T written\n",
              what, nError, floorError, (long long)nanRows, (long long)touched);
  EXPECT_EQ(nanRows, 0) << what << ": norm rows left unwritten";
  EXPECT_LT(nError, got.nTolerance) << what << ": norm column 0 (N)";
  EXPECT_LT(floorError, got.floorTolerance) << what << ": norm column 1 (floor)";
  EXPECT_EQ(touched, 0) << what << ": norm rows past T written";
}

}  // namespace linear_emu

#endif  // FLASHGEN_TEST_LINEAR_EMU_SUPPORT_H
