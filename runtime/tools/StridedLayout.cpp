//===- StridedLayout.cpp - where a logical tensor lives in a test buffer --===//

#include "runtime/tools/StridedLayout.h"

#include <algorithm>
#include <stdexcept>
#include <string>

using namespace flashgen::refcheck;

const char *flashgen::refcheck::layoutName(Layout layout) {
  switch (layout) {
  case Layout::Contiguous:
    return "contiguous";
  case Layout::HeadsInner:
    return "bnhd";
  case Layout::Padded:
    return "padded";
  }
  return "?";
}

/// Row-major strides of `sizes` visited in `order` (outermost first), each
/// outer dim followed by `gap(d)` unused elements.
template <class Gap>
static std::vector<int64_t> stridesInOrder(const std::vector<int64_t> &sizes,
                                           const std::vector<int> &order,
                                           Gap gap) {
  std::vector<int64_t> strides(sizes.size(), 1);
  int64_t next = 1; // elements one step of the dim outside the current spans
  for (int k = int(order.size()) - 1; k >= 0; --k) {
    const int d = order[k];
    strides[d] = next;
    next = strides[d] * std::max<int64_t>(sizes[d], 1) +
           (k > 0 ? gap(order[k - 1]) : 0);
  }
  return strides;
}

TensorLayout flashgen::refcheck::makeLayout(Layout layout,
                                           const std::vector<int64_t> &sizes,
                                           size_t elementBytes, bool stridedLastDim) {
  if (elementBytes == 0 || 16 % elementBytes != 0)
    throw std::invalid_argument("makeLayout: element size " +
                                std::to_string(elementBytes) +
                                " does not divide 16 bytes");
  for (int64_t s : sizes)
    if (s < 0)
      throw std::invalid_argument("makeLayout: negative size");
  const int rank = int(sizes.size());
  TensorLayout out;
  out.sizes = sizes;
  std::vector<int> order(rank);
  for (int d = 0; d < rank; ++d)
    order[d] = d;
  if (layout == Layout::HeadsInner && rank >= 4)
    std::swap(order[1], order[2]);
  else if (layout == Layout::HeadsInner && stridedLastDim && rank >= 2)
    std::swap(order[rank - 2], order[rank - 1]);

  // 16 bytes in elements: the unit of every gap, so that strides and the
  // view's start keep the alignment the runtime checks (stride_align,
  // pointer_align) and the kernels' vector loads need.
  const int64_t unit = int64_t(16 / elementBytes);
  if (layout == Layout::Padded) {
    // gap(d): unused elements after each step of dim d. Dim rank-2 steps
    // rows (the row pad); the batch dim gets three units so that its
    // stride is not the head stride times H.
    out.strides = stridesInOrder(sizes, order, [&](int d) {
      return d == 0 ? 3 * unit : unit;
    });
    out.offset = unit;
  } else {
    out.strides = stridesInOrder(sizes, order, [](int) { return int64_t(0); });
  }
  // The outermost dim's stride covers one step including its gap, so the
  // buffer ends with the last batch's gaps: bytes past the view to check.
  int64_t span = 1;
  if (rank > 0) {
    const int outer = order[0];
    span = std::max<int64_t>(sizes[outer], 1) * out.strides[outer];
    if (layout == Layout::Padded && rank == 1)
      span += 3 * unit; // a rank-1 tensor has no outer dim to pad after it
  }
  out.bufferElements = out.offset + span;
  return out;
}

std::vector<int64_t>
flashgen::refcheck::storageIndices(const TensorLayout &layout) {
  const int rank = int(layout.sizes.size());
  int64_t count = 1;
  for (int64_t s : layout.sizes)
    count *= s;
  std::vector<int64_t> indices;
  indices.reserve(size_t(count));
  if (count == 0)
    return indices;
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t at = layout.offset;
    for (int d = 0; d < rank; ++d)
      at += index[d] * layout.strides[d];
    indices.push_back(at);
    for (int d = rank - 1; d >= 0; --d) { // row-major increment
      if (++index[d] < layout.sizes[d])
        break;
      index[d] = 0;
    }
  }
  return indices;
}

std::vector<uint8_t> flashgen::refcheck::scatter(const TensorLayout &layout,
                                                const std::vector<uint8_t> &logical,
                                                size_t elementBytes,
                                                uint8_t gapByte) {
  std::vector<int64_t> at = storageIndices(layout);
  if (logical.size() != at.size() * elementBytes)
    throw std::invalid_argument("scatter: " + std::to_string(logical.size()) +
                                " bytes for " + std::to_string(at.size()) +
                                " elements of " + std::to_string(elementBytes));
  std::vector<uint8_t> buffer(size_t(layout.bufferElements) * elementBytes,
                              gapByte);
  for (size_t i = 0; i < at.size(); ++i)
    std::copy_n(logical.data() + i * elementBytes, elementBytes,
                buffer.data() + size_t(at[i]) * elementBytes);
  return buffer;
}

std::vector<uint8_t> flashgen::refcheck::gather(const TensorLayout &layout,
                                               const std::vector<uint8_t> &buffer,
                                               size_t elementBytes) {
  if (buffer.size() != size_t(layout.bufferElements) * elementBytes)
    throw std::invalid_argument("gather: buffer of " +
                                std::to_string(buffer.size()) +
                                " bytes, the layout has " +
                                std::to_string(layout.bufferElements) +
                                " elements of " + std::to_string(elementBytes));
  std::vector<int64_t> at = storageIndices(layout);
  std::vector<uint8_t> logical(at.size() * elementBytes);
  for (size_t i = 0; i < at.size(); ++i)
    std::copy_n(buffer.data() + size_t(at[i]) * elementBytes, elementBytes,
                logical.data() + i * elementBytes);
  return logical;
}

GapCheck flashgen::refcheck::checkGaps(const TensorLayout &layout,
                                      const std::vector<uint8_t> &buffer,
                                      size_t elementBytes, uint8_t gapByte) {
  if (buffer.size() != size_t(layout.bufferElements) * elementBytes)
    throw std::invalid_argument("checkGaps: buffer size does not match the "
                                "layout");
  std::vector<bool> inView(size_t(layout.bufferElements), false);
  for (int64_t at : storageIndices(layout))
    inView[size_t(at)] = true;
  GapCheck check;
  for (size_t byte = 0; byte < buffer.size(); ++byte) {
    if (inView[byte / elementBytes])
      continue;
    ++check.gapBytes;
    if (buffer[byte] != gapByte) {
      if (check.clobbered++ == 0)
        check.firstByte = int64_t(byte);
    }
  }
  return check;
}
