//===- MmaTest.cpp - mma.cuh on the host emulator vs a host GEMM ---------===//
#include "kernel_prelude.h"
#include "kernels/mma_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;

/// Reference c[i][j] = sum_k A(i, k) * B(k, j) in double.
template <class FA, class FB> std::vector<double> gemm(int m, int n, int k, FA A, FB B) {
  std::vector<double> c(size_t(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int x = 0; x < k; ++x) acc += double(A(i, x)) * double(B(x, j));
      c[size_t(i) * n + j] = acc;
    }
  return c;
}

void expect_near_all(const std::vector<double>& ref, const DeviceVec<float>& got, double tol) {
  ASSERT_EQ(ref.size(), got.size());
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(ref[i] - got.v[i]) <= tol * (1.0 + std::fabs(ref[i]))) && bad++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got.v[i] << ", want " << ref[i];
  EXPECT_EQ(bad, 0);
}

class MmaTest : public EmuTest {};

TEST_F(MmaTest, ABtBf16) {
  std::mt19937 rng(1);
  DeviceVec<bf16> a(64 * 64, false), bt(32 * 64, false);
  DeviceVec<float> c(64 * 32, true);
  fill_normal_bf16(a, rng);
  fill_normal_bf16(bt, rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, (64 + 32) * 64 * 2, mma_test_abt_bf16, a.data(), bt.data(), c.data());
  auto ref = gemm(64, 32, 64, [&](int i, int k) { return bf16_value(a[i * 64 + k]); },
                  [&](int k, int j) { return bf16_value(bt[j * 64 + k]); });
  expect_near_all(ref, c, 1e-5);
}

TEST_F(MmaTest, ABtF16) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<fg::f16> a(64 * 64, false), bt(32 * 64, false);
  DeviceVec<float> c(64 * 32, true);
  for (auto& x : a.v) x = f16_from<fg::f16>(nd(rng));
  for (auto& x : bt.v) x = f16_from<fg::f16>(nd(rng));
  emu::launch(emu::Dim3{1, 1, 1}, 64, (64 + 32) * 64 * 2, mma_test_abt_f16, a.data(), bt.data(), c.data());
  auto ref = gemm(64, 32, 64, [&](int i, int k) { return f16_value(a[i * 64 + k]); },
                  [&](int k, int j) { return f16_value(bt[j * 64 + k]); });
  expect_near_all(ref, c, 1e-5);
}

TEST_F(MmaTest, ABWithOffsets) {
  std::mt19937 rng(3);
  DeviceVec<bf16> a(64 * 128, false), b(80 * 64, false);
  DeviceVec<float> c(64 * 32, true);
  fill_normal_bf16(a, rng);
  fill_normal_bf16(b, rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, (64 * 128 + 80 * 64) * 2, mma_test_ab_offsets, a.data(), b.data(), c.data());
  auto ref = gemm(64, 32, 64, [&](int i, int k) { return bf16_value(a[i * 128 + 32 + k]); },
                  [&](int k, int j) { return bf16_value(b[(16 + k) * 64 + 16 + j]); });
  expect_near_all(ref, c, 1e-5);
}

TEST_F(MmaTest, AtB) {
  std::mt19937 rng(4);
  DeviceVec<bf16> at(64 * 128, false), b(64 * 32, false);
  DeviceVec<float> c(64 * 32, true);
  fill_normal_bf16(at, rng);
  fill_normal_bf16(b, rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, (64 * 128 + 64 * 32) * 2, mma_test_atb, at.data(), b.data(), c.data());
  auto ref = gemm(64, 32, 64, [&](int i, int k) { return bf16_value(at[k * 128 + 16 + i]); },
                  [&](int k, int j) { return bf16_value(b[k * 32 + j]); });
  expect_near_all(ref, c, 1e-5);
}

TEST_F(MmaTest, RegisterA) {
  std::mt19937 rng(5);
  DeviceVec<bf16> a(64 * 64, false), bt(64 * 64, false), v(64 * 32, false), w(32 * 64, false);
  DeviceVec<float> c(64 * 32, true), d(64 * 32, true);
  fill_normal_bf16(a, rng);
  fill_normal_bf16(bt, rng);
  fill_normal_bf16(v, rng);
  fill_normal_bf16(w, rng);
  emu::launch(emu::Dim3{1, 1, 1}, 64, (2 * 64 * 64 + 2 * 64 * 32) * 2, mma_test_register_a, a.data(), bt.data(),
              v.data(), w.data(), c.data(), d.data());
  // p is rounded to bf16 before the second product, as the kernel's convert does.
  auto s = gemm(64, 64, 64, [&](int i, int k) { return bf16_value(a[i * 64 + k]); },
                [&](int k, int j) { return bf16_value(bt[j * 64 + k]); });
  auto p = [&](int i, int k) { return round_bf16(float(s[size_t(i) * 64 + k])); };
  auto ref_c = gemm(64, 32, 64, p, [&](int k, int j) { return bf16_value(v[k * 32 + j]); });
  auto ref_d = gemm(64, 32, 64, p, [&](int k, int j) { return bf16_value(w[j * 64 + k]); });
  // Tolerance: s accumulates in f32 in a different order than the reference,
  // which can flip a bf16 rounding of p (2^-8 relative) now and then.
  expect_near_all(ref_c, c, 2e-2);
  expect_near_all(ref_d, d, 2e-2);
}

}  // namespace
