//===- HostSupport.h - what the host programs share -------------*- C++ -*-===//
//
// The error handling, device buffers and flag parsing of the programs in
// examples/host/ (decode_loop.cpp, recurrent_decode_loop.cpp): a failed
// CUDA call or runtime status prints what failed and exits 1; a flag
// without its value exits 2.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_EXAMPLES_HOST_HOSTSUPPORT_H
#define FLASHGEN_EXAMPLES_HOST_HOSTSUPPORT_H

#include "flashgen/runtime.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#define CHECK_CUDA(call)                                                       \
  do {                                                                         \
    cudaError_t err_ = (call);                                                 \
    if (err_ != cudaSuccess) {                                                 \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(err_));       \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

namespace host {

inline void check(const flashgen::Status &status, const char *what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.toString().c_str());
    std::exit(1);
  }
}

/// A device buffer that frees itself.
template <class T> struct DeviceArray {
  T *ptr = nullptr;
  size_t count = 0;
  explicit DeviceArray(size_t n) : count(n) { CHECK_CUDA(cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(T))); }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray &) = delete;
  DeviceArray &operator=(const DeviceArray &) = delete;
};

/// The value of flag argv[i] (argv[i + 1]), advancing i past it.
inline int intFlag(int &i, int argc, char **argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s needs a value\n", argv[i]);
    std::exit(2);
  }
  return std::atoi(argv[++i]);
}

} // namespace host

#endif // FLASHGEN_EXAMPLES_HOST_HOSTSUPPORT_H
