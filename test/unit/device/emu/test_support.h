//===- test_support.h - helpers for host-emulated device tests -----------===//
#ifndef FLASHGEN_TEST_DEVICE_TEST_SUPPORT_H
#define FLASHGEN_TEST_DEVICE_TEST_SUPPORT_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "emu_runtime.h"

namespace emu_test {

/// Host vector registered with the emulator as device memory (read-only or
/// writable) while it lives. Assigning to v must keep its size (the
/// registered range is the first allocation).
template <class T> struct DeviceVec {
  std::vector<T> v;
  DeviceVec(size_t n, bool writable) : v(n) { emu::register_global(v.data(), n * sizeof(T), writable); }
  ~DeviceVec() { emu::unregister_global(v.data()); }
  DeviceVec(const DeviceVec&) = delete;
  DeviceVec& operator=(const DeviceVec&) = delete;
  T* data() { return v.data(); }
  size_t size() const { return v.size(); }
  T& operator[](size_t i) { return v[i]; }
};

/// Test fixture: a fresh global-memory registry per test.
class EmuTest : public ::testing::Test {
 protected:
  void SetUp() override { emu::clear_globals(); }
  void TearDown() override { emu::clear_globals(); }
};

/// 16-bit float storage compatible with fg::bf16 / fg::f16 ({u16 bits}).
template <class T> inline T bf16_from(float f) { return T{emu::float_to_bf16_bits(f)}; }
template <class T> inline float bf16_value(T x) { return emu::bf16_bits_to_float(x.bits); }
template <class T> inline T f16_from(float f) { return T{emu::float_to_half_bits(f)}; }
template <class T> inline float f16_value(T x) { return emu::half_bits_to_float(x.bits); }

/// Fills a DeviceVec of bf16 with N(0, sigma) values; returns nothing.
template <class T> void fill_normal_bf16(DeviceVec<T>& d, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> nd(0.0f, sigma);
  for (auto& x : d.v) x = bf16_from<T>(nd(rng));
}

/// Tensor [B, H, S, d] of 16-bit elements (fg::bf16), contiguous (BHSD)
/// or with BNHD strides, registered with the emulator.
template <class T> struct Tensor4 {
  DeviceVec<T> mem;
  long long sb, sh, sn;
  int d;
  Tensor4(int B, int H, int S, int d, bool bnhd, bool writable)
      : mem(size_t(B) * H * S * d, writable),
        sb((long long)H * S * d),
        sh(bnhd ? d : (long long)S * d),
        sn(bnhd ? (long long)H * d : d),
        d(d) {}
  T& at(int b, int h, int s, int x) { return mem[size_t(b * sb + h * sh + s * sn + x)]; }
};

/// Round-trip through bf16.
inline float round_bf16(float f) { return emu::bf16_bits_to_float(emu::float_to_bf16_bits(f)); }

}  // namespace emu_test

#endif  // FLASHGEN_TEST_DEVICE_TEST_SUPPORT_H
