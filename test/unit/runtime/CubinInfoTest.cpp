//===- CubinInfoTest.cpp - Reading cubins without cuobjdump ---------------===//

#include "TestSupport.h"
#include "runtime/CubinInfo.h"
#include "runtime/NvrtcCompiler.h"

#include <gtest/gtest.h>

using namespace flashgen;
using namespace flashgen::test;

namespace {

std::string compileToCubin(const std::string &source, const std::string &arch) {
  NvrtcInput in;
  in.sourceName = "probe.cu";
  in.sourceText = source;
  in.options = nvrtcOptionsFor(arch, {});
  NvrtcOutput out;
  Status st = nvrtcCompile(in, false, out);
  EXPECT_TRUE(isOk(st));
  return out.cubin;
}

TEST(CubinInfo, ParameterTableAndLaunchBounds) {
  // Parameter sizes and C alignment as nvcc lays them out.
  std::string cubin = compileToCubin(R"(
extern "C" __global__ void __launch_bounds__(128) probe(
    const float *p, long long s0, int n, float f, char c, double d, long long s1) {
  if (threadIdx.x == 0 && n > 0) ((float *)p)[s0 + s1] = f + c + (float)d;
}
extern "C" __global__ void other(int a) { if (a) __trap(); }
)",
                                     "sm_90a");
  std::vector<CubinFunction> fns;
  std::string err;
  ASSERT_TRUE(readCubin(cubin, fns, err)) << err;
  const CubinFunction *f = findCubinFunction(fns, "probe");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->hasParamInfo);
  EXPECT_GT(f->registers, 0);
  EXPECT_EQ(f->maxThreads[0], 128);
  std::vector<CubinParam> params = f->params;
  std::sort(params.begin(), params.end(),
            [](const CubinParam &a, const CubinParam &b) {
              return a.ordinal < b.ordinal;
            });
  const int expected[7][2] = {{0, 8},  {8, 8},  {16, 4}, {20, 4},
                              {24, 1}, {32, 8}, {40, 8}};
  ASSERT_EQ(params.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(params[i].ordinal, i);
    EXPECT_EQ(params[i].offset, expected[i][0]) << "param " << i;
    EXPECT_EQ(params[i].size, expected[i][1]) << "param " << i;
  }
  const CubinFunction *o = findCubinFunction(fns, "other");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->maxThreads[0], 0); // no launch bounds
  EXPECT_EQ(o->params.size(), 1u);
}

TEST(CubinInfo, DamagedImagesAreErrorsNotCrashes) {
  std::vector<CubinFunction> fns;
  std::string err;
  EXPECT_FALSE(readCubin("", fns, err));
  EXPECT_FALSE(readCubin(std::string(64, 'x'), fns, err));
  EXPECT_EQ(err, "not an ELF image");
  std::string cubin = compileToCubin(
      "extern \"C\" __global__ void k(int *p) { *p = 1; }", "sm_80");
  ASSERT_TRUE(readCubin(cubin, fns, err)) << err;
  // Truncation at every 97th byte and byte flips must never crash.
  for (size_t n = 0; n < cubin.size(); n += 97) {
    std::vector<CubinFunction> partial;
    readCubin(cubin.substr(0, n), partial, err);
  }
  for (size_t i = 0; i < cubin.size(); i += 13) {
    std::string flipped = cubin;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
    std::vector<CubinFunction> any;
    readCubin(flipped, any, err);
  }
  EXPECT_FALSE(readCubin(cubin.substr(0, cubin.size() / 2), fns, err));
}

} // namespace
