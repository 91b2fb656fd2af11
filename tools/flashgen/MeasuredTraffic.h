//===- MeasuredTraffic.h - measured DRAM bytes per kernel -------*- C++ -*-===//
//
// Reads the file bench/traffic/measure.py writes on the GPU machine (Nsight
// Compute's dram__bytes_read.sum and dram__bytes_write.sum per kernel, summed
// over the kernel's launches), so that `flashgen explain --measured FILE` can
// put the measured bytes beside the modeled ones and the lower bound:
//
//   {"format": "flashgen-traffic", "version": 1,
//    "kernels": [{"kernel": "mha_d128", "dims": {"B": 2, "N": 8192},
//                 "dram_bytes_read": 270532608, "dram_bytes_write": 67371008,
//                 ...}]}
//
// Keys not named here are informative and ignored. Every error names the file
// and the entry that is wrong.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_TOOLS_FLASHGEN_MEASUREDTRAFFIC_H
#define FLASHGEN_TOOLS_FLASHGEN_MEASUREDTRAFFIC_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flashgen::cli {

/// One kernel's DRAM traffic at one set of dynamic sizes.
struct MeasuredKernel {
  std::string kernel; ///< the bundle's kernel name, the spec's function name
  std::map<std::string, int64_t> dims; ///< the dynamic sizes it ran at
  int64_t bytesRead = 0;
  int64_t bytesWritten = 0;
  int64_t bytes() const { return bytesRead + bytesWritten; }
};

/// The kernels of a measured-traffic file.
class MeasuredTraffic {
public:
  /// Reads and checks `path`; the error says which file and what is wrong.
  static llvm::Expected<MeasuredTraffic> load(llvm::StringRef path);

  /// The measurement of `kernel` at `dims`; nullptr when the file has none
  /// of `kernel`, an error when it has `kernel` only at other sizes (the
  /// bytes would belong to another problem).
  llvm::Expected<const MeasuredKernel *>
  find(llvm::StringRef kernel, const llvm::StringMap<int64_t> &dims) const;

  /// The kernels measured, in file order (for "it measures: ..." messages).
  std::vector<std::string> kernelNames() const;

  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::vector<MeasuredKernel> kernels_;
};

/// "B=2 N=8192": the sizes as a user passes them with --dim, sorted by name.
std::string formatDims(const std::map<std::string, int64_t> &dims);

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGEN_MEASUREDTRAFFIC_H
