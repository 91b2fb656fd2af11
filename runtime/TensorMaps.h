//===- TensorMaps.h - TMA tensor maps of a launch's tensors -----*- C++ -*-===//
//
// A kernel whose manifest args hold "tensor_map" entries (the flash3
// producer's TMA copies, codegen/device/memory/tma.cuh) gets a CUtensorMap
// per entry, encoded here at launch from the bound tensor's pointer, sizes
// and strides (or a scratch buffer's place and shape in the workspace) with
// the driver's cuTensorMapEncodeTiled. Encoding costs a few
// microseconds, so a small cache keyed by everything the map depends on
// keeps repeated launches on the same buffers cheap.
//
// When a map cannot be encoded (a stride that is not a multiple of 16
// bytes, a last dim that is not contiguous, a driver without the entry
// point, FLASHGEN_TMA=0) every map of the launch is passed as zeros, and the
// kernel copies with cp.async instead: the launch never fails for it.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_TENSORMAPS_H
#define FLASHGEN_RUNTIME_TENSORMAPS_H

#include "flashgen/runtime.h"
#include "runtime/CudaDriver.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <mutex>

namespace flashgen {

/// What a tensor map is encoded from. `sizes` and `strides` are the
/// tensor's, in elements, outermost first ([B, H, rows, D]).
struct TensorMapRequest {
  const void *data = nullptr;
  DType dtype = DType::None;
  int rank = 0;
  int64_t sizes[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int boxRows = 0;
  int boxCols = 0;
  int swizzleBytes = 0;
};

/// A packed batch's [T, H, D] tensor (dialect/Varlen.h) as the [1, H, T, D]
/// tensor the kernels' copies address: row coordinate = the sequence's
/// first packed row + its row, batch coordinate 0. (The size-1 dim keeps
/// the row stride, a valid TMA stride whenever the rows' is.)
void viewPackedAsBatch(TensorMapRequest &r);

/// The cuTensorMapEncodeTiled arguments for `r` (innermost dim first), or
/// false with `why` naming the rule the tensor breaks. Pure CPU code: unit
/// tested without a driver.
struct TiledMapArgs {
  CUtensorMapDataType dataType;
  cuuint32_t rank;
  cuuint64_t dims[kMaxRank];
  cuuint64_t strideBytes[kMaxRank]; ///< rank - 1 entries
  cuuint32_t box[kMaxRank];
  CUtensorMapSwizzle swizzle;
};
bool tiledMapArgs(const TensorMapRequest &r, TiledMapArgs &out,
                  std::string &why);

/// A few recently encoded maps, shared by the launches of one kernel.
class TensorMapCache {
public:
  /// Encodes (or finds) the map of `r` into `out`; false when it cannot.
  bool get(const CudaDriver &driver, const TensorMapRequest &r,
           CUtensorMap &out);

private:
  struct Entry {
    TensorMapRequest request;
    CUtensorMap map;
    bool used = false;
  };
  static constexpr int kEntries = 8;
  std::mutex mutex;
  Entry entries[kEntries];
  int next = 0;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_TENSORMAPS_H
