//===- CopyTest.cpp - copy.cuh and smem_tile.cuh on the host emulator ----===//
#include "kernel_prelude.h"
#include "kernels/copy_kernels.cu"

#include "test_support.h"

namespace {

using namespace emu_test;
using fg::bf16;

class CopyTest : public EmuTest {};

/// Loads a rows x cols tile from a source with row_stride (>= cols) holding
/// `avail` rows, rows_valid = avail - first, and checks the round trip.
template <class K>
void check_copy(K kernel, int threads, int rows, int cols, long long row_stride, int avail, int rows_valid) {
  std::mt19937 rng(rows * 131 + cols + rows_valid);
  DeviceVec<bf16> src(size_t(std::max(avail, 1)) * row_stride, false);
  fill_normal_bf16(src, rng);
  DeviceVec<bf16> out(size_t(rows) * cols, true);
  emu::launch(emu::Dim3{1, 1, 1}, threads, size_t(rows) * cols * 2, kernel, (const bf16*)src.data(), row_stride,
              rows_valid, out.data());
  int bad = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const uint16_t want = r < rows_valid ? src[size_t(r) * row_stride + c].bits : 0;
      if (out[size_t(r) * cols + c].bits != want && bad++ < 5)
        ADD_FAILURE() << "(" << r << ", " << c << "): got " << out[size_t(r) * cols + c].bits << ", want " << want;
    }
  EXPECT_EQ(bad, 0) << rows << "x" << cols << " rows_valid " << rows_valid;
}

TEST_F(CopyTest, OneChunkColumnPerThread128ByteRows) {
  for (int valid : {48, 31, 1, 0, -5}) check_copy(copy_test_48x64, 64, 48, 64, 200, std::max(valid, 0), valid);
}

TEST_F(CopyTest, TwoRowsPerLine) {
  for (int valid : {32, 17, 8}) check_copy(copy_test_32x32, 32, 32, 32, 32, valid, valid);
}

TEST_F(CopyTest, GeneralPath) {
  for (int valid : {16, 9}) check_copy(copy_test_16x256, 128, 16, 256, 264, valid, valid);
}

// The swizzle: the 8 row addresses of one ldmatrix 8x8 matrix (rows r0..r0+7,
// r0 % 8 == 0, one 16-byte chunk column) must fall in 8 different 16-byte
// bank groups, and every row must be a permutation of its chunks.
template <int COLS> void check_swizzle() {
  using Tile = fg::smem_tile<bf16, 64, COLS>;
  for (int r = 0; r < 64; ++r) {
    std::vector<int> seen(Tile::kChunks, 0);
    for (int c = 0; c < Tile::kChunks; ++c) {
      const unsigned off = Tile::offset(r, c);
      ASSERT_EQ(off / Tile::kRowBytes, unsigned(r)) << "chunk leaves its row";
      ++seen[(off % Tile::kRowBytes) / 16];
    }
    for (int x : seen) ASSERT_EQ(x, 1) << "row " << r << " is not a permutation";
  }
  for (int r0 = 0; r0 < 64; r0 += 8)
    for (int c = 0; c < Tile::kChunks; ++c) {
      std::vector<int> groups(8, 0);
      for (int i = 0; i < 8; ++i) ++groups[(Tile::offset(r0 + i, c) / 16) % 8];
      for (int g : groups) EXPECT_EQ(g, 1) << "bank conflict, cols " << COLS << " rows " << r0 << " chunk " << c;
    }
  // frag_addr (the ldmatrix form) agrees with chunk offsets.
  for (int r0 = 0; r0 < 64; r0 += 8)
    for (int c0 = 0; c0 < Tile::kChunks; c0 += 2)
      for (int lr = 0; lr < 8 && r0 + lr < 64; ++lr)
        for (int lc = 0; lc < 2; ++lc) {
          const Tile t{0};
          EXPECT_EQ(t.frag_addr(r0, c0, lr, lc), Tile::offset(r0 + lr, c0 + lc));
        }
}

TEST(SmemTileTest, SwizzleIsConflictFreeAndAPermutation) {
  check_swizzle<32>();
  check_swizzle<64>();
  check_swizzle<128>();
  check_swizzle<256>();
}

}  // namespace
