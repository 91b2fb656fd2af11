//===- DeviceHeaders.h - the device library's files, for NVRTC tests -*- C++ -*-===//
//
// The headers of codegen/device/ by their path below it ("core/ptx.cuh"),
// sorted, found recursively: the role folders (core/, memory/, matmul/,
// attention/, recurrence/) and the umbrella at the top. The NVRTC tests
// hand each over as "flashgen/device/<path>", as the runtime does.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_TEST_UNIT_DEVICE_DEVICEHEADERS_H
#define FLASHGEN_TEST_UNIT_DEVICE_DEVICEHEADERS_H

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace fgtest {

inline std::vector<std::string> deviceHeaderPaths(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".cuh")
      paths.push_back(std::filesystem::relative(it->path(), dir).generic_string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace fgtest

#endif  // FLASHGEN_TEST_UNIT_DEVICE_DEVICEHEADERS_H
