//===- GpuCase.h - one GPU correctness case: bundle + reference data -*- C++ -*-===//
//
// A case pairs a bundle kernel with the reference directory flashgen-ref wrote
// for it (meta.json + .npy files). Cases are listed in a cases.json that
// scripts/prepare-gpu-tests.sh writes; the GPU machine needs no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TEST_GPU_GPUCASE_H
#define FLASHGEN_TEST_GPU_GPUCASE_H

#include "runtime/tools/ReferenceCheck.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace flashgen::gputest {

using refcheck::TensorFile;

struct GpuCase {
  std::string label;     ///< e.g. "causal_gqa/B=2,N=1000"
  std::string bundle;    ///< bundle directory
  std::string kernel;    ///< kernel name in the bundle
  std::string reference; ///< flashgen-ref output directory of this op
  int variant = -1;      ///< -1: every variant of the kernel
  std::vector<TensorFile> tensors; ///< from reference/meta.json
  std::vector<refcheck::ScalarValue> scalars; ///< from reference/meta.json
};

/// Reads cases.json (paths in it are relative to its folder) and each case's
/// meta.json. Throws std::runtime_error naming the file on malformed input.
std::vector<GpuCase> loadCases(const std::string &casesJson);

/// gtest prints a failing test's parameter with this: the label.
void PrintTo(const GpuCase &c, std::ostream *out);

} // namespace flashgen::gputest

#endif // FLASHGEN_TEST_GPU_GPUCASE_H
