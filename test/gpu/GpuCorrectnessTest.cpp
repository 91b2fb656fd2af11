//===- GpuCorrectnessTest.cpp - generated kernels against the float64 reference ===//
//
// For every case in $FLASHGEN_GPU_CASES (cases.json written by
// scripts/prepare-gpu-tests.sh): load the bundle, compile each variant for
// this GPU, upload the inputs flashgen-ref drew, poison every output with
// NaN bytes, launch, and compare each output with the float64 reference by
// ||out - ref|| / ||ref||. NaN never passes; every output element must have
// been written. Skips, saying why, without a GPU or without cases.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/GpuCase.h"

#include "flashgen/runtime.h"
#include "reference/Bf16.h"
#include "reference/Npy.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

using namespace flashgen;
using namespace flashgen::gputest;
namespace ref = flashgen::reference;

namespace {

/// Relative error allowed per output dtype: bf16 outputs carry about 2^-8
/// relative rounding per element; f32 state outputs are accumulated in f32
/// from bf16 inputs.
double toleranceFor(const std::string &dtype) {
  return dtype == "f32" ? 2e-3 : 1e-2;
}

std::vector<GpuCase> casesFromEnvironment() {
  const char *path = std::getenv("FLASHGEN_GPU_CASES");
  if (!path || !*path || !std::ifstream(path).good())
    return {};
  try {
    return loadCases(path);
  } catch (const std::exception &error) {
    ADD_FAILURE() << error.what();
    return {};
  }
}

/// A device buffer freed on scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  ~DeviceBuffer() {
    if (ptr)
      cudaFree(ptr);
  }
};

std::shared_ptr<Device> openDevice(std::string &why) {
  std::shared_ptr<Device> device;
  Status status = Device::open(0, device);
  if (!status.ok()) {
    why = status.toString();
    return nullptr;
  }
  return device;
}

DType dtypeOf(const std::string &name) {
  DType dtype = DType::None;
  parseDType(name, dtype);
  return dtype;
}

/// The device result of an output, read back as doubles.
std::vector<double> readBack(const DeviceBuffer &buffer, DType dtype,
                             size_t count) {
  std::vector<double> values(count);
  if (dtype == DType::BF16) {
    std::vector<uint16_t> bits(count);
    cudaMemcpy(bits.data(), buffer.ptr, count * 2, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < count; ++i)
      values[i] = ref::floatFromBf16Bits(bits[i]);
  } else {
    std::vector<float> floats(count);
    cudaMemcpy(floats.data(), buffer.ptr, count * 4, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < count; ++i)
      values[i] = floats[i];
  }
  return values;
}

class GpuCorrectness : public ::testing::TestWithParam<GpuCase> {};

TEST(GpuEnvironment, HasGpuAndCases) {
  std::string why;
  if (!openDevice(why))
    GTEST_SKIP() << "no GPU: " << why
                 << " (GPU tests run on the lent H100; see README)";
  if (casesFromEnvironment().empty())
    GTEST_SKIP() << "FLASHGEN_GPU_CASES is not set or lists no case: run "
                    "scripts/prepare-gpu-tests.sh on a machine with LLVM first";
}

TEST_P(GpuCorrectness, MatchesReference) {
  const GpuCase &c = GetParam();
  std::string why;
  std::shared_ptr<Device> device = openDevice(why);
  if (!device)
    GTEST_SKIP() << "no GPU: " << why;

  std::shared_ptr<Bundle> bundle;
  Status status = Bundle::load(c.bundle, bundle);
  ASSERT_TRUE(status.ok()) << status.toString();
  std::unique_ptr<Kernel> kernel;
  status = bundle->getKernel(c.kernel, device, kernel);
  ASSERT_TRUE(status.ok()) << status.toString();

  // Buffers in manifest param order, filled from the reference files.
  std::vector<std::string> params = kernel->paramNames();
  std::vector<DeviceBuffer> buffers(params.size());
  std::vector<std::vector<int64_t>> sizes(params.size()), strides(params.size());
  std::vector<TensorArg> args(params.size());
  std::vector<const TensorFile *> outputs(params.size(), nullptr);
  for (size_t p = 0; p < params.size(); ++p) {
    const TensorFile *file = nullptr;
    for (const TensorFile &t : c.tensors)
      if (t.name == params[p])
        file = &t;
    ASSERT_NE(file, nullptr) << "reference data has no tensor '" << params[p]
                             << "' for " << c.label;
    DType dtype = dtypeOf(file->dtype);
    size_t count = 1;
    for (int64_t d : file->shape)
      count *= size_t(d);
    sizes[p] = file->shape;
    strides[p].assign(file->shape.size(), 1);
    for (int i = int(file->shape.size()) - 2; i >= 0; --i)
      strides[p][i] = strides[p][i + 1] * file->shape[i + 1];
    buffers[p].bytes = count * dtypeSize(dtype);
    ASSERT_EQ(cudaMalloc(&buffers[p].ptr, buffers[p].bytes), cudaSuccess);
    if (file->role == "input") {
      ref::NpyArray array = ref::readNpy(c.reference + "/" + file->file);
      ASSERT_EQ(array.bytes.size(), buffers[p].bytes) << file->file;
      cudaMemcpy(buffers[p].ptr, array.bytes.data(), buffers[p].bytes,
                 cudaMemcpyHostToDevice);
    } else {
      outputs[p] = file;
    }
    args[p] = {buffers[p].ptr, dtype, int32_t(sizes[p].size()), sizes[p].data(),
               strides[p].data()};
  }

  int first = c.variant < 0 ? 0 : c.variant;
  int last = c.variant < 0 ? kernel->numVariants() - 1 : c.variant;
  for (int variant = first; variant <= last; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    status = kernel->selectVariant(variant);
    ASSERT_TRUE(status.ok()) << status.toString();
    for (size_t p = 0; p < params.size(); ++p)
      if (outputs[p]) // NaN bytes in every encoding: unwritten stays NaN
        cudaMemset(buffers[p].ptr, 0xFF, buffers[p].bytes);
    status = kernel->launch(args, {}, LaunchOptions{});
    ASSERT_TRUE(status.ok()) << status.toString();
    cudaError_t error = cudaDeviceSynchronize();
    ASSERT_EQ(error, cudaSuccess) << cudaGetErrorString(error);

    for (size_t p = 0; p < params.size(); ++p) {
      if (!outputs[p])
        continue;
      const TensorFile &file = *outputs[p];
      ref::Tensor<double> expected =
          ref::readNpyAsDouble(c.reference + "/" + file.file);
      std::vector<double> got =
          readBack(buffers[p], args[p].dtype, size_t(expected.size()));
      double diff = 0, norm = 0, maxAbs = 0;
      size_t nans = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(got[i])) {
          ++nans;
          continue;
        }
        double d = got[i] - expected[int64_t(i)];
        diff += d * d;
        norm += expected[int64_t(i)] * expected[int64_t(i)];
        maxAbs = std::max(maxAbs, std::fabs(d));
      }
      double rel = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
      std::printf("[gpu-case] %s variant %d output %s: rel_err %.3e max_abs %.3e nan %zu\n",
                  c.label.c_str(), variant, file.name.c_str(), rel, maxAbs, nans);
      EXPECT_EQ(nans, 0u) << file.name << ": " << nans
                          << " elements NaN (unwritten or invalid)";
      EXPECT_LT(rel, toleranceFor(file.dtype)) << file.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GpuCorrectness,
                         ::testing::ValuesIn(casesFromEnvironment()),
                         [](const ::testing::TestParamInfo<GpuCase> &info) {
                           std::string name = info.param.label;
                           for (char &ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GpuCorrectness);

} // namespace
