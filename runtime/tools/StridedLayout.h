//===- StridedLayout.h - where a logical tensor lives in a test buffer -*- C++ -*-===//
//
// The GPU correctness suite (test/gpu) launches every case with its tensors
// in several memory layouts, and flashgen-run in the one it is asked for: the reference data is one logical [B, H, N, D] tensor per
// operand, and a layout says where each of its elements sits in a device
// buffer, which the kernel then reads through the strides passed with it.
// The runtime hands those strides to the kernel as they are (no copy), so
// a kernel that assumed contiguity, or indexed one stride with another,
// computes wrong results or writes outside its view; the gaps a layout
// leaves make the latter visible. Pure host code, unit-tested on the CPU
// (test/gpu/StridedLayoutTest.cpp); part of flashgen_refcheck
// (runtime/tools/ReferenceCheck.h).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_RUNTIME_TOOLS_STRIDEDLAYOUT_H
#define FLASHGEN_RUNTIME_TOOLS_STRIDEDLAYOUT_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flashgen::refcheck {

enum class Layout {
  /// Row-major in the logical order, no gaps: what the suite always ran.
  Contiguous,
  /// Dims 1 and 2 swapped in memory for rank >= 4: a [B, H, N, D] operand
  /// stored as [B, N, H, D] (PyTorch's x.transpose(1, 2) of a [B, N, H, D]
  /// tensor), [B, H, K, V] states as [B, K, H, V]. A param whose kernels
  /// stride its last dim (strided_last_dim: a recurrence's [B, H, T] gates)
  /// has its last two dims swapped: [B, H, T] stored time-major as [B, T,
  /// H], as flash-linear-attention keeps gates, packed [T, H] as [H, T].
  /// Other lower ranks ([B, H, K] normalisers, lse) stay contiguous: the
  /// runtime refuses a strided last dim there (the GPU test checks that
  /// refusal). No gaps.
  HeadsInner,
  /// Row-major with gaps: every row padded by 16 bytes, each outer dim one
  /// more 16-byte gap, the batch dim three, and the view starting 16 bytes
  /// into the buffer. Strides and the start stay multiples of 16 bytes, as
  /// kernels that move rows in 16-byte pieces require.
  Padded,
};

constexpr Layout kAllLayouts[] = {Layout::Contiguous, Layout::HeadsInner,
                                  Layout::Padded};

/// "contiguous", "bnhd", "padded": test-name suffixes and log labels.
const char *layoutName(Layout layout);

struct TensorLayout {
  std::vector<int64_t> sizes;   ///< logical sizes (the kernel's dim order)
  std::vector<int64_t> strides; ///< in elements, per logical dim
  int64_t offset = 0;           ///< elements from the buffer start to element 0
  int64_t bufferElements = 0;   ///< elements the whole buffer holds
};

/// The layout of a tensor of `sizes` with `elementBytes`-byte elements (1,
/// 2, 4 or 8: the 16-byte gaps are whole elements); `stridedLastDim` for a
/// param whose kernels take any last-dim stride (see HeadsInner).
TensorLayout makeLayout(Layout layout, const std::vector<int64_t> &sizes,
                        size_t elementBytes, bool stridedLastDim = false);

/// Storage element (from the buffer start) of every logical element, in
/// logical row-major order.
std::vector<int64_t> storageIndices(const TensorLayout &layout);

/// A buffer of layout.bufferElements elements holding `logical` (row-major,
/// logical order) in the view and `gapByte` in every other byte.
std::vector<uint8_t> scatter(const TensorLayout &layout,
                             const std::vector<uint8_t> &logical,
                             size_t elementBytes, uint8_t gapByte);

/// The view of `buffer` as a row-major logical tensor.
std::vector<uint8_t> gather(const TensorLayout &layout,
                            const std::vector<uint8_t> &buffer,
                            size_t elementBytes);

struct GapCheck {
  size_t gapBytes = 0;     ///< bytes of the buffer outside the view
  size_t clobbered = 0;    ///< of those, how many no longer hold gapByte
  int64_t firstByte = -1;  ///< the first clobbered byte's offset, or -1
};

/// Whether every byte of `buffer` outside the view still holds `gapByte`:
/// a kernel that wrote outside its output view changed one of them.
GapCheck checkGaps(const TensorLayout &layout, const std::vector<uint8_t> &buffer,
                   size_t elementBytes, uint8_t gapByte);

} // namespace flashgen::refcheck

#endif // FLASHGEN_RUNTIME_TOOLS_STRIDEDLAYOUT_H
