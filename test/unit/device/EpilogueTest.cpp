//===- EpilogueTest.cpp - epilogue.cuh on the host emulator --------------===//
#include "kernel_prelude.h"
#include "kernels/epilogue_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;

class EpilogueTest : public EmuTest {};

void check_store(int rows_valid, int direct) {
  constexpr long long kStride = 72;  // elements between rows (16-byte multiple)
  const int rows_alloc = std::max(rows_valid, 1);
  DeviceVec<bf16> dst(size_t(rows_alloc) * kStride, true);
  for (auto& x : dst.v) x.bits = 0xdead;
  emu::launch(emu::Dim3{1, 1, 1}, 64, 64 * 64 * 2, epilogue_test_store, dst.data(), kStride, rows_valid, direct);
  int bad = 0;
  for (int r = 0; r < rows_valid; ++r)
    for (int c = 0; c < kStride; ++c) {
      const uint16_t want = c < 64 ? emu::float_to_bf16_bits(float(r) + float(c) / 64.0f) : uint16_t(0xdead);
      if (dst[size_t(r) * kStride + c].bits != want && bad++ < 5)
        ADD_FAILURE() << "(" << r << ", " << c << "): got " << dst[size_t(r) * kStride + c].bits;
    }
  EXPECT_EQ(bad, 0) << "rows_valid " << rows_valid << " direct " << direct;
}

// Rows past rows_valid lie outside the registered allocation: a write there
// aborts the emulator, so these cases also prove the bound.
TEST_F(EpilogueTest, StagedStoreRespectsRowBound) {
  for (int valid : {64, 50, 32, 7}) check_store(valid, 0);
}

TEST_F(EpilogueTest, DirectStoreRespectsRowBound) {
  for (int valid : {64, 33, 1}) check_store(valid, 1);
}

}  // namespace
