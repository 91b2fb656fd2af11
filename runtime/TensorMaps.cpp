//===- TensorMaps.cpp - TMA tensor maps of a launch's tensors -------------===//

#include "runtime/TensorMaps.h"

#include <cstring>

namespace flashgen {

namespace {

bool sameRequest(const TensorMapRequest &a, const TensorMapRequest &b) {
  if (a.data != b.data || a.dtype != b.dtype || a.rank != b.rank ||
      a.boxRows != b.boxRows || a.boxCols != b.boxCols ||
      a.swizzleBytes != b.swizzleBytes)
    return false;
  for (int d = 0; d < a.rank; ++d)
    if (a.sizes[d] != b.sizes[d] || a.strides[d] != b.strides[d])
      return false;
  return true;
}

} // namespace

void viewPackedAsBatch(TensorMapRequest &r) {
  const int64_t rows = r.sizes[0], heads = r.sizes[1], cols = r.sizes[2];
  const int64_t rowStride = r.strides[0], headStride = r.strides[1],
                colStride = r.strides[2];
  r.rank = 4;
  r.sizes[0] = 1, r.sizes[1] = heads, r.sizes[2] = rows, r.sizes[3] = cols;
  r.strides[0] = rowStride, r.strides[1] = headStride, r.strides[2] = rowStride,
  r.strides[3] = colStride;
}

bool tiledMapArgs(const TensorMapRequest &r, TiledMapArgs &out,
                  std::string &why) {
  int64_t elementBytes = 0;
  switch (r.dtype) {
  case DType::BF16:
    out.dataType = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    elementBytes = 2;
    break;
  case DType::F16:
    out.dataType = CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
    elementBytes = 2;
    break;
  default:
    why = "only bf16 and f16 tensors are copied with TMA";
    return false;
  }
  if (r.rank < 2 || r.rank > 5) {
    why = "a tensor map has 2 to 5 dims, the tensor has " +
          std::to_string(r.rank);
    return false;
  }
  if (reinterpret_cast<uintptr_t>(r.data) % 16 != 0) {
    why = "the data pointer is not 16-byte aligned";
    return false;
  }
  if (r.strides[r.rank - 1] != 1) {
    why = "the last dim is not contiguous";
    return false;
  }
  if (r.swizzleBytes != 128 || r.boxCols * elementBytes > 128) {
    why = "the box row must fit the 128-byte swizzle";
    return false;
  }
  out.rank = static_cast<cuuint32_t>(r.rank);
  for (int i = 0; i < r.rank; ++i) {
    int d = r.rank - 1 - i; // innermost first
    if (r.sizes[d] <= 0 || r.sizes[d] > (int64_t(1) << 32)) {
      why = "dim " + std::to_string(d) + " has size " +
            std::to_string(r.sizes[d]) + " (1 to 2^32)";
      return false;
    }
    out.dims[i] = static_cast<cuuint64_t>(r.sizes[d]);
    if (i > 0) {
      int64_t bytes = r.strides[d] * elementBytes;
      if (bytes <= 0 || bytes % 16 != 0 || bytes >= (int64_t(1) << 40)) {
        why = "dim " + std::to_string(d) + " has a stride of " +
              std::to_string(bytes) +
              " bytes (TMA needs a positive multiple of 16 below 2^40)";
        return false;
      }
      out.strideBytes[i - 1] = static_cast<cuuint64_t>(bytes);
    }
    out.box[i] = 1;
  }
  if (r.boxRows < 1 || r.boxRows > 256 || r.boxCols < 1 || r.boxCols > 256) {
    why = "a box side is 1 to 256 elements";
    return false;
  }
  out.box[0] = static_cast<cuuint32_t>(r.boxCols);
  out.box[1] = static_cast<cuuint32_t>(r.boxRows);
  out.swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
  return true;
}

bool TensorMapCache::get(const CudaDriver &driver, const TensorMapRequest &r,
                         CUtensorMap &out) {
  if (!driver.tensorMapEncodeTiled)
    return false;
  std::lock_guard<std::mutex> lock(mutex);
  for (const Entry &e : entries)
    if (e.used && sameRequest(e.request, r)) {
      out = e.map;
      return true;
    }
  TiledMapArgs a;
  std::string why;
  if (!tiledMapArgs(r, a, why))
    return false;
  cuuint32_t elementStrides[kMaxRank];
  for (cuuint32_t i = 0; i < a.rank; ++i)
    elementStrides[i] = 1;
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  // Rows past the tensor read as zeros (OOB_FILL_NONE), as the cp.async
  // path zero-fills them; 256-byte L2 promotion as for streamed tiles.
  CUresult result = driver.tensorMapEncodeTiled(
      &map, a.dataType, a.rank, const_cast<void *>(r.data), a.dims,
      a.strideBytes, a.box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      a.swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS)
    return false;
  Entry &e = entries[next];
  next = (next + 1) % kEntries;
  e.request = r;
  e.map = map;
  e.used = true;
  out = map;
  return true;
}

} // namespace flashgen
