//===- StridedLayoutTest.cpp - the GPU suite's layouts, checked on the host ===//
//
// The GPU correctness suite trusts these layouts to place the reference data
// where the strides it passes say, and the gap check to notice a write
// outside a view. Both run here without a GPU.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/StridedLayout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

using namespace flashgen::refcheck;

namespace {

/// Logical tensor of `count` bf16-sized elements, element i holding i (its
/// two bytes), so every element is distinguishable.
std::vector<uint8_t> numbered(int64_t count) {
  std::vector<uint8_t> bytes(size_t(count) * 2);
  for (int64_t i = 0; i < count; ++i) {
    bytes[size_t(i) * 2] = uint8_t(i & 0xFF);
    bytes[size_t(i) * 2 + 1] = uint8_t(i >> 8);
  }
  return bytes;
}

int64_t elementAt(const std::vector<uint8_t> &buffer, int64_t element) {
  return buffer[size_t(element) * 2] | (int64_t(buffer[size_t(element) * 2 + 1]) << 8);
}

TEST(StridedLayout, ContiguousIsRowMajorWithoutGaps) {
  TensorLayout l = makeLayout(Layout::Contiguous, {2, 3, 5, 8}, 2);
  EXPECT_EQ(l.strides, (std::vector<int64_t>{120, 40, 8, 1}));
  EXPECT_EQ(l.offset, 0);
  EXPECT_EQ(l.bufferElements, 240);
  std::vector<uint8_t> buffer = scatter(l, numbered(240), 2, 0xFF);
  EXPECT_EQ(buffer, numbered(240)); // the reference file's bytes, unchanged
  EXPECT_EQ(checkGaps(l, buffer, 2, 0xFF).gapBytes, 0u);
}

TEST(StridedLayout, HeadsInnerStoresBHNDAsBNHD) {
  const int64_t B = 2, H = 3, N = 5, D = 8;
  TensorLayout l = makeLayout(Layout::HeadsInner, {B, H, N, D}, 2);
  // The strides of x.transpose(1, 2) for a contiguous [B, N, H, D] x.
  EXPECT_EQ(l.sizes, (std::vector<int64_t>{B, H, N, D}));
  EXPECT_EQ(l.strides, (std::vector<int64_t>{N * H * D, D, H * D, 1}));
  EXPECT_EQ(l.bufferElements, B * H * N * D);
  std::vector<uint8_t> buffer = scatter(l, numbered(B * H * N * D), 2, 0xFF);
  // Read the buffer as a contiguous [B, N, H, D] tensor: element (b, n, h,
  // d) must be logical element (b, h, n, d).
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d)
          ASSERT_EQ(elementAt(buffer, ((b * N + n) * H + h) * D + d),
                    ((b * H + h) * N + n) * D + d)
              << "b=" << b << " n=" << n << " h=" << h << " d=" << d;
  EXPECT_EQ(gather(l, buffer, 2), numbered(B * H * N * D));
  EXPECT_EQ(checkGaps(l, buffer, 2, 0xFF).gapBytes, 0u);
}

TEST(StridedLayout, HeadsInnerKeepsTheLastDimContiguous) {
  // [B, H, K, V] states become [B, K, H, V]; [B, H, T] tensors and [B, H]
  // stay row-major, as the runtime wants their last dims at stride 1.
  EXPECT_EQ(makeLayout(Layout::HeadsInner, {2, 4, 16, 8}, 4).strides,
            (std::vector<int64_t>{512, 8, 32, 1}));
  EXPECT_EQ(makeLayout(Layout::HeadsInner, {2, 4, 150}, 4).strides,
            (std::vector<int64_t>{600, 150, 1}));
  EXPECT_EQ(makeLayout(Layout::HeadsInner, {2, 4}, 4).strides,
            (std::vector<int64_t>{4, 1}));
}

TEST(StridedLayout, HeadsInnerStoresStridedGatesTimeMajor) {
  // A strided_last_dim param: [B, H, T] gates as [B, T, H] (element (b, h,
  // t) at (b * T + t) * H + h), packed [T, H] as [H, T]; rank 4 as always.
  const int64_t B = 2, H = 4, T = 150;
  TensorLayout l = makeLayout(Layout::HeadsInner, {B, H, T}, 2, /*stridedLastDim=*/true);
  EXPECT_EQ(l.strides, (std::vector<int64_t>{T * H, 1, H}));
  EXPECT_EQ(l.bufferElements, B * H * T);
  std::vector<uint8_t> buffer = scatter(l, numbered(B * H * T), 2, 0xFF);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        ASSERT_EQ(elementAt(buffer, (b * T + t) * H + h), (b * H + h) * T + t)
            << "b=" << b << " h=" << h << " t=" << t;
  EXPECT_EQ(gather(l, buffer, 2), numbered(B * H * T));
  EXPECT_EQ(makeLayout(Layout::HeadsInner, {T, H}, 4, true).strides,
            (std::vector<int64_t>{1, T}));
  EXPECT_EQ(makeLayout(Layout::HeadsInner, {2, 4, 16, 8}, 4, true).strides,
            (std::vector<int64_t>{512, 8, 32, 1}));
  // Contiguous and padded layouts are the same with or without the flag.
  EXPECT_EQ(makeLayout(Layout::Padded, {B, H, T}, 4, true).strides,
            makeLayout(Layout::Padded, {B, H, T}, 4).strides);
}

TEST(StridedLayout, PaddedLeavesGapsEverywhereAndKeeps16ByteAlignment) {
  const int64_t B = 2, H = 3, N = 5, D = 8;
  TensorLayout l = makeLayout(Layout::Padded, {B, H, N, D}, 2);
  // bf16: 16 bytes are 8 elements. Rows D + 8, heads one 8-element gap
  // more, batches 24 more, the view 8 elements into the buffer.
  EXPECT_EQ(l.strides, (std::vector<int64_t>{H * (N * 16 + 8) + 24,
                                              N * 16 + 8, 16, 1}));
  EXPECT_EQ(l.offset, 8);
  EXPECT_EQ(l.bufferElements, 8 + B * l.strides[0]);
  for (size_t bytes : {size_t(2), size_t(4)}) {
    TensorLayout a = makeLayout(Layout::Padded, {2, 3, 37, 72}, bytes);
    EXPECT_EQ(a.offset * int64_t(bytes) % 16, 0);
    for (size_t d = 0; d + 1 < a.strides.size(); ++d) {
      EXPECT_EQ(a.strides[d] * int64_t(bytes) % 16, 0) << "dim " << d;
      EXPECT_GT(a.strides[d], a.strides[d + 1] * a.sizes[d + 1]) << "dim " << d;
    }
  }
  // The gaps: row pads, head and batch gaps, the bytes before the view.
  std::vector<uint8_t> buffer = scatter(l, numbered(B * H * N * D), 2, 0xFF);
  GapCheck check = checkGaps(l, buffer, 2, 0xFF);
  EXPECT_EQ(check.gapBytes, size_t(l.bufferElements - B * H * N * D) * 2);
  EXPECT_EQ(check.clobbered, 0u);
  EXPECT_EQ(gather(l, buffer, 2), numbered(B * H * N * D));
}

TEST(StridedLayout, ViewsAreInjectiveAndInsideTheBuffer) {
  for (Layout layout : kAllLayouts)
    for (const std::vector<int64_t> &sizes :
         std::vector<std::vector<int64_t>>{{2, 3, 37, 64}, {1, 16, 150},
                                           {2, 4}, {3, 2, 64, 128}}) {
      TensorLayout l = makeLayout(layout, sizes, 4);
      std::vector<int64_t> at = storageIndices(l);
      std::set<int64_t> distinct(at.begin(), at.end());
      EXPECT_EQ(distinct.size(), at.size()) << layoutName(layout);
      EXPECT_GE(*distinct.begin(), 0);
      EXPECT_LT(*distinct.rbegin(), l.bufferElements) << layoutName(layout);
    }
}

TEST(StridedLayout, GapCheckCatchesWritesOutsideTheView) {
  TensorLayout l = makeLayout(Layout::Padded, {2, 3, 5, 8}, 2);
  const std::vector<uint8_t> clean = scatter(l, numbered(240), 2, 0xFF);
  auto clobber = [&](int64_t byte) {
    std::vector<uint8_t> buffer = clean;
    buffer[size_t(byte)] = 0;
    return checkGaps(l, buffer, 2, 0xFF);
  };
  // Before the view, in row 0's pad (a row written D + 1 wide), in the gap
  // after head 0, in the batch gap, and the buffer's last byte.
  const int64_t rowPad = (l.offset + 8) * 2;
  const int64_t headGap = (l.offset + 5 * l.strides[2]) * 2;
  const int64_t batchGap = (l.offset + 3 * l.strides[1]) * 2;
  for (int64_t byte : {int64_t(0), rowPad, headGap, batchGap,
                       l.bufferElements * 2 - 1}) {
    GapCheck check = clobber(byte);
    EXPECT_EQ(check.clobbered, 1u) << "byte " << byte;
    EXPECT_EQ(check.firstByte, byte);
  }
  // A write inside the view is the kernel's job, not a clobber.
  EXPECT_EQ(clobber(l.offset * 2).clobbered, 0u);
}

TEST(StridedLayout, RejectsWhatItCannotLayOut) {
  EXPECT_THROW(makeLayout(Layout::Padded, {2, 3}, 3), std::invalid_argument);
  EXPECT_THROW(makeLayout(Layout::Padded, {2, -1}, 2), std::invalid_argument);
  TensorLayout l = makeLayout(Layout::Padded, {2, 8}, 2);
  EXPECT_THROW(scatter(l, numbered(15), 2, 0xFF), std::invalid_argument);
  EXPECT_THROW(gather(l, std::vector<uint8_t>(3), 2), std::invalid_argument);
}

} // namespace
