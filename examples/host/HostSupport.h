//===- HostSupport.h - what the host programs share -------------*- C++ -*-===//
//
// The error handling, device buffers, captured launch and flag parsing of
// the programs in examples/host/ (decode_loop.cpp, recurrent_decode_loop.cpp): a failed
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
#include <vector>

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

/// One launch of a kernel captured as a CUDA graph on its own stream, with
/// a workspace sized for its arguments ahead of time (no allocation or host
/// synchronisation at launch): what a serving loop replays every token.
/// The arguments' device memory changes between replays, never the graph.
struct CapturedLaunch {
  cudaStream_t stream = nullptr;
  size_t workspaceBytes = 0;

  CapturedLaunch(flashgen::Kernel &kernel, const std::vector<flashgen::TensorArg> &args, const char *what) {
    check(kernel.workspaceBytes(args.data(), args.size(), nullptr, 0, workspaceBytes), "workspaceBytes");
    CHECK_CUDA(cudaMalloc(&workspace, std::max<size_t>(workspaceBytes, 1)));
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    flashgen::LaunchOptions options;
    options.stream = stream;
    options.workspace = workspace;
    options.workspaceBytes = workspaceBytes;
    CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    flashgen::Status captured = kernel.launch(args, {}, options);
    CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
    check(captured, what);
    CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  }
  ~CapturedLaunch() {
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaStreamDestroy(stream);
    cudaFree(workspace);
  }
  CapturedLaunch(const CapturedLaunch &) = delete;
  CapturedLaunch &operator=(const CapturedLaunch &) = delete;

  /// Replays the graph on `stream` between two events.
  void replay() {
    CHECK_CUDA(cudaEventRecord(start, stream));
    CHECK_CUDA(cudaGraphLaunch(exec, stream));
    CHECK_CUDA(cudaEventRecord(stop, stream));
  }
  /// The last replay's time, once the stream has synchronised.
  float elapsedMs() const {
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    return ms;
  }

private:
  void *workspace = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
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
