//===- WgmmaTest.cpp - wgmma.cuh on the host emulator vs host GEMMs -------===//
//
// kernels/wgmma_kernels.cu on the host emulator with the wgmma model of
// emu/wgmma_emulation.h (descriptors decoded from the PTX ISA's canonical
// layouts, fragments lane by lane): S = A B^T from shared memory (1 to 3
// slabs of K, N up to 160, zero-filled boundary rows), O = C0 + P B with P
// from registers (one wgmma per K step across slabs, or one per slab), and
// the staged 16-bit epilogue with a ragged last row. WgmmaCompileTest
// compiles the same kernels for sm_90a.
//
//===----------------------------------------------------------------------===//
#define FLASHGEN_DEVICE_EMULATION_WGMMA "wgmma_emulation.h"
#include "kernel_prelude.h"
#include "kernels/wgmma_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;
using fg::f16;

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

void expect_near_all(const std::vector<double>& ref, const std::vector<float>& got, double tol) {
  ASSERT_EQ(ref.size(), got.size());
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(std::fabs(ref[i] - got[i]) <= tol * (1.0 + std::fabs(ref[i]))) && bad++ < 5)
      ADD_FAILURE() << "element " << i << " (row " << i / (ref.size() / 128) << "): got " << got[i] << ", want "
                    << ref[i];
  EXPECT_EQ(bad, 0);
}

template <class T> float value(T x) {
  if constexpr (std::is_same<T, bf16>::value)
    return bf16_value(x);
  else
    return f16_value(x);
}
template <class T> T from(float f) {
  if constexpr (std::is_same<T, bf16>::value)
    return bf16_from<T>(f);
  else
    return f16_from<T>(f);
}

/// c = a * bt^T with the given shape; rows of bt at or past b_rows are zero-filled.
template <class T, int N, int K>
void run_abt(void (*kernel)(const T*, const T*, float*, int), int b_rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<T> a(128 * K, false), bt(N * K, false);
  DeviceVec<float> c(128 * N, true);
  for (auto& x : a.v) x = from<T>(nd(rng));
  for (auto& x : bt.v) x = from<T>(nd(rng));
  // Rows past b_rows are never read: make them NaN so that a read shows.
  for (int r = b_rows; r < N; ++r)
    for (int k = 0; k < K; ++k) bt[size_t(r) * K + k].bits = 0x7fc1;
  const size_t smem = size_t(128 + N) * K * 2 + 1024;
  emu::launch(emu::Dim3{1, 1, 1}, 256, smem, kernel, (const T*)a.data(), (const T*)bt.data(), c.data(), b_rows);
  emu_wgmma::check_and_reset();
  auto ref = gemm(128, N, K, [&](int i, int k) { return value(a[size_t(i) * K + k]); },
                  [&](int k, int j) { return j < b_rows ? value(bt[size_t(j) * K + k]) : 0.0f; });
  expect_near_all(ref, c.v, 1e-5);
}

/// c = c0 + p * b (p rounded to T in registers, b [KP][N]).
template <class T, int N, int KP>
void run_rab(void (*kernel)(const float*, const T*, float*, const float*), unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<float> p(128 * KP, false), c0(128 * N, false), c(128 * N, true);
  DeviceVec<T> b(KP * N, false);
  for (auto& x : p.v) x = nd(rng);
  for (auto& x : c0.v) x = nd(rng);
  for (auto& x : b.v) x = from<T>(nd(rng));
  const size_t smem = size_t(KP) * N * 2 + 1024;
  emu::launch(emu::Dim3{1, 1, 1}, 256, smem, kernel, (const float*)p.data(), (const T*)b.data(), c.data(),
              (const float*)c0.data());
  emu_wgmma::check_and_reset();
  auto ref = gemm(128, N, KP, [&](int i, int k) { return value(from<T>(p[size_t(i) * KP + k])); },
                  [&](int k, int j) { return value(b[size_t(k) * N + j]); });
  for (size_t i = 0; i < ref.size(); ++i) ref[i] += c0[i];
  expect_near_all(ref, c.v, 1e-5);
}

class WgmmaTest : public EmuTest {};

TEST_F(WgmmaTest, ABtBf16TwoSlabs) { run_abt<bf16, 128, 128>(wgmma_test_abt_bf16_n128_k128, 128, 1); }

TEST_F(WgmmaTest, ABtBf16ZeroFilledRows) { run_abt<bf16, 128, 128>(wgmma_test_abt_bf16_n128_k128, 77, 2); }

TEST_F(WgmmaTest, ABtF16OneSlab) { run_abt<f16, 64, 64>(wgmma_test_abt_f16_n64_k64, 64, 3); }

TEST_F(WgmmaTest, ABtBf16ThreeSlabsN160) { run_abt<bf16, 160, 192>(wgmma_test_abt_bf16_n160_k192, 160, 4); }

TEST_F(WgmmaTest, RAbBf16WholeN) { run_rab<bf16, 128, 128>(wgmma_test_rab_bf16_n128_k128, 5); }

TEST_F(WgmmaTest, RAbBf16SplitPerSlab) { run_rab<bf16, 128, 128>(wgmma_test_rab_bf16_n128_k128_split, 6); }

TEST_F(WgmmaTest, RAbF16N256K176) { run_rab<f16, 256, 176>(wgmma_test_rab_f16_n256_k176, 7); }

TEST_F(WgmmaTest, StoreRowsBf16Ragged) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  DeviceVec<bf16> a(128 * 128, false), bt(128 * 128, false);
  const long long ldo = 136;  // a row stride that is not the width
  const int rows = 101;
  DeviceVec<bf16> o(size_t(rows) * ldo, true);
  for (auto& x : a.v) x = bf16_from<bf16>(nd(rng));
  for (auto& x : bt.v) x = bf16_from<bf16>(nd(rng));
  for (auto& x : o.v) x.bits = 0x7fc1;
  emu::launch(emu::Dim3{1, 1, 1}, 256, 2 * 128 * 128 * 2 + 1024, wgmma_test_store_rows_bf16, (const bf16*)a.data(),
              (const bf16*)bt.data(), o.data(), ldo, rows);
  emu_wgmma::check_and_reset();
  auto ref = gemm(128, 128, 128, [&](int i, int k) { return bf16_value(a[size_t(i) * 128 + k]); },
                  [&](int k, int j) { return bf16_value(bt[size_t(j) * 128 + k]); });
  int bad = 0;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < int(ldo); ++j) {
      const float got = bf16_value(o[size_t(i) * ldo + j]);
      if (j >= 128) {
        if (!std::isnan(got) && bad++ < 5) ADD_FAILURE() << "padding column written at " << i << "," << j;
        continue;
      }
      const double want = round_bf16(float(ref[size_t(i) * 128 + j]));
      if (!(std::fabs(got - want) <= 1e-2 * (1 + std::fabs(want))) && bad++ < 5)
        ADD_FAILURE() << "o[" << i << "][" << j << "] = " << got << ", want " << want;
    }
  EXPECT_EQ(bad, 0);
}

}  // namespace
