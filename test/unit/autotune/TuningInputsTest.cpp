//===- TuningInputsTest.cpp - The buffers a tuning run allocates ----------===//

#include "TestSupport.h"

#include "autotune/OutputCompare.h"
#include "autotune/TuningInputs.h"
#include "runtime/BundleData.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace flashgen;
using namespace flashgen::test;

namespace {

const KernelSpec &axpySpec(const std::shared_ptr<Bundle> &b) {
  return *b->data().manifest.findKernel("axpy");
}

/// A one-kernel bundle from a manifest fragment (no sources compiled).
std::shared_ptr<Bundle> bundleOf(const std::string &kernelJson) {
  std::string manifest =
      "{\"format\":\"flashgen-bundle\",\"version\":1,"
      "\"flashgen_version\":\"0.1.0\",\"target\":\"sm_80\",\"kernels\":[" +
      kernelJson + "]}";
  std::shared_ptr<Bundle> b;
  Status st = Bundle::fromMemory(manifest, {{"k.cu", "// empty\n"}}, "mem", b);
  EXPECT_TRUE(isOk(st));
  return b;
}

TEST(TuningInputs, PlansContiguousBuffersFromTheManifest) {
  auto bundle = loadAxpy();
  TuningInputs in;
  ASSERT_TRUE(isOk(planInputs(axpySpec(bundle), {2, 100}, {}, 0, in)));
  ASSERT_EQ(in.tensors.size(), 4u);
  const PlannedTensor &x = in.tensors[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DType::BF16);
  EXPECT_EQ(x.sizes, (std::vector<int64_t>{2, 4, 100, 16}));
  EXPECT_EQ(x.strides, (std::vector<int64_t>{6400, 1600, 16, 1}));
  EXPECT_EQ(x.bytes, 2u * 4 * 100 * 16 * 2);
  EXPECT_EQ(in.tensors[2].io, ParamIo::Out);
  EXPECT_EQ(in.tensors[3].sizes, (std::vector<int64_t>{2, 4, 100}));
  EXPECT_FALSE(in.tensors[3].absent);
  // The default of alpha fills the scalar list.
  ASSERT_EQ(in.scalars.size(), 1u);
  EXPECT_EQ(in.scalars[0].dtype, DType::None);
  // Each tensor rounded up to 256 bytes (rowsum's 3200 to 3328).
  EXPECT_EQ(in.setBytes(), 25600u + 51200 + 51200 + 3328);
}

TEST(TuningInputs, PadsRowsToStrideAlign) {
  auto b = bundleOf(R"({"name":"k","op":"t","symbols":["N"],
    "params":[{"name":"x","io":"in","dtype":"bf16","shape":["N",3,5],
               "stride_align":8},
              {"name":"o","io":"out","dtype":"f32","shape":["N"]}],
    "variants":[{"sources":["k.cu"],"launches":[{"entry":"e","grid":[1,1,1],
      "block":[32,1,1],"args":[{"tensor":"x"},{"tensor":"o"}]}]}]})");
  TuningInputs in;
  ASSERT_TRUE(
      isOk(planInputs(*b->data().manifest.findKernel("k"), {7}, {}, 0, in)));
  // Rows of 5 padded to 8 elements; the last row unpadded.
  EXPECT_EQ(in.tensors[0].strides, (std::vector<int64_t>{24, 8, 1}));
  EXPECT_EQ(in.tensors[0].bytes, uint64_t(6 * 24 + 2 * 8 + 4 + 1) * 2);
}

TEST(TuningInputs, ProblemsNameTheMissingOrUnknownSize) {
  auto bundle = loadAxpy();
  const KernelSpec &k = axpySpec(bundle);
  TuningInputs in;
  TuneProblem p;
  p.sizes = {{"B", 2}};
  Status st = planInputs(k, p, in);
  EXPECT_EQ(st.code(), StatusCode::InvalidArgument);
  EXPECT_NE(st.message().find("no size given for symbol N"), std::string::npos)
      << st.message();
  p.sizes = {{"B", 2}, {"N", 64}, {"T", 3}};
  st = planInputs(k, p, in);
  EXPECT_NE(st.message().find("has no symbol T (its symbols: B, N)"),
            std::string::npos)
      << st.message();
  p.sizes = {{"B", 2}, {"N", 65537}};
  st = planInputs(k, p, in);
  EXPECT_NE(st.message().find("out of range"), std::string::npos)
      << st.message();
  // The manifest's constraint B * N <= 1048576, checked as a launch would.
  p.sizes = {{"B", 64}, {"N", 65536}};
  st = planInputs(k, p, in);
  EXPECT_NE(st.message().find("B * N <= 1048576"), std::string::npos)
      << st.message();
  p.sizes = {{"B", 2}, {"N", 64}};
  p.omitOptional = {"o"};
  st = planInputs(k, p, in);
  EXPECT_NE(st.message().find("param o is not optional"), std::string::npos)
      << st.message();
  p.omitOptional = {"rowsum"};
  p.scalars = {{"alpha", ScalarArg::ofFloat(0.5)}};
  ASSERT_TRUE(isOk(planInputs(k, p, in)));
  EXPECT_TRUE(in.tensors[3].absent);
  EXPECT_EQ(in.absent, uint64_t(1) << 3);
  EXPECT_EQ(in.scalars[0].dtype, DType::F32);
  EXPECT_EQ(in.setBytes(), 16384u + 32768 + 32768); // rowsum not allocated
  p.scalars = {{"beta", ScalarArg::ofFloat(0.5)}};
  EXPECT_FALSE(planInputs(k, p, in).ok());
}

TEST(TuningInputs, FromLaunchArgumentsTakesSizesAndOmissionsNotData) {
  auto bundle = loadAxpy();
  int64_t sizes[4] = {3, 4, 50, 16}, osizes[4] = {3, 4, 50, 16},
          rsizes[3] = {3, 4, 50};
  alignas(16) static char dummy[16];
  TensorArg args[4] = {{dummy, DType::BF16, 4, sizes, nullptr},
                       {dummy, DType::F32, 4, sizes, nullptr},
                       {dummy, DType::F32, 4, osizes, nullptr},
                       {nullptr, DType::F32, 3, rsizes, nullptr}};
  TuningInputs in;
  ASSERT_TRUE(isOk(planInputs(axpySpec(bundle), args, 4, nullptr, 0, in)));
  EXPECT_EQ(in.symbols, (std::vector<int64_t>{3, 50}));
  EXPECT_EQ(in.absent, uint64_t(1) << 3);
  // Invalid arguments fail with the launch's own message.
  osizes[2] = 51;
  Status st = planInputs(axpySpec(bundle), args, 4, nullptr, 0, in);
  EXPECT_EQ(st.code(), StatusCode::InvalidArgument);
  EXPECT_NE(st.message().find("o: dim 2"), std::string::npos) << st.message();
}

TEST(TuningInputs, RandomDataIsDeterministicInRangeAndNeverAllZero) {
  InputDistribution uniform;
  std::vector<uint8_t> a, b, c;
  fillRandom(DType::BF16, uniform, 1000, 7, a);
  fillRandom(DType::BF16, uniform, 1000, 7, b);
  fillRandom(DType::BF16, uniform, 1000, 8, c);
  EXPECT_EQ(a.size(), 2000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double lo = 1e9, hi = -1e9;
  int zeros = 0;
  for (size_t i = 0; i < 1000; ++i) {
    uint16_t v;
    std::memcpy(&v, &a[2 * i], 2);
    float f = bf16ToFloat(v);
    lo = std::min<double>(lo, f);
    hi = std::max<double>(hi, f);
    zeros += f == 0.0f;
  }
  EXPECT_GE(lo, -1.0);
  EXPECT_LE(hi, 1.0);
  EXPECT_LT(lo, -0.9);
  EXPECT_GT(hi, 0.9);
  EXPECT_LT(zeros, 5);

  InputDistribution zero{InputDistribution::Kind::Zero, 0, 0};
  fillRandom(DType::I32, zero, 10, 1, a);
  EXPECT_EQ(a, std::vector<uint8_t>(40, 0));
  InputDistribution bits{InputDistribution::Kind::Bits01, 0, 0};
  fillRandom(DType::U8, bits, 1000, 1, a);
  int ones = 0;
  for (uint8_t v : a) {
    EXPECT_LE(v, 1);
    ones += v;
  }
  EXPECT_GT(ones, 400);
  EXPECT_LT(ones, 600);
}

TEST(TuningInputs, LargeInputsAreFilledInChunksWithTheirOwnStreams) {
  const size_t n = (size_t(5) << 20) / 2; // 2.5 chunks of f32
  InputDistribution uniform;
  std::vector<uint8_t> a, b;
  fillRandom(DType::F32, uniform, n, 11, a);
  fillRandom(DType::F32, uniform, n, 11, b);
  EXPECT_EQ(a, b); // whatever the threads did
  const size_t chunkBytes = (size_t(1) << 20) * 4;
  // Chunks do not repeat each other, and the tail chunk is filled.
  EXPECT_NE(std::memcmp(a.data(), a.data() + chunkBytes, 4096), 0);
  float last;
  std::memcpy(&last, a.data() + a.size() - 4, 4);
  EXPECT_NE(last, 0.0f);
  EXPECT_GE(last, -1.0f);
  EXPECT_LE(last, 1.0f);
}

TEST(TuningInputs, GatesOfLinearRecurrencesAreDrawnWhereTheyStayFinite) {
  KernelSpec k;
  k.op = "linear_attention";
  ParamSpec g;
  g.name = "g";
  g.dtype = DType::F32;
  InputDistribution d = inputDistribution(k, g);
  EXPECT_EQ(d.kind, InputDistribution::Kind::Uniform);
  EXPECT_LE(d.hi, 0.0); // log-decays: a positive one grows the state by e^T
  std::vector<uint8_t> bytes;
  fillRandom(DType::F32, d, 1000, 3, bytes);
  for (size_t i = 0; i < 1000; ++i) {
    float v;
    std::memcpy(&v, &bytes[4 * i], 4);
    ASSERT_LE(v, -0.01f + 1e-6f);
    ASSERT_GE(v, -1.0f);
  }
  ParamSpec igate = g, fgate = g;
  igate.name = "igate";
  fgate.name = "fgate";
  EXPECT_EQ(inputDistribution(k, igate).lo, -4.0);
  EXPECT_EQ(inputDistribution(k, fgate).hi, 6.0);
  ParamSpec q = g;
  q.name = "q";
  EXPECT_EQ(inputDistribution(k, q).lo, -1.0);
  EXPECT_EQ(inputDistribution(k, q).hi, 1.0);
  k.op = "attention"; // `g` means nothing special elsewhere
  EXPECT_EQ(inputDistribution(k, g).hi, 1.0);
  ParamSpec idx = g;
  idx.dtype = DType::I32;
  EXPECT_EQ(inputDistribution(k, idx).kind, InputDistribution::Kind::Zero);
}

TEST(TuningInputs, InputSetsDefeatL2WithinTheMemoryBudget) {
  const uint64_t MB = 1 << 20, GB = uint64_t(1) << 30;
  // Small problem: enough sets that the others exceed twice the 50 MB L2.
  EXPECT_EQ(chooseInputSets(16 * MB, 50 * MB, 80 * GB, 8), 8);
  EXPECT_EQ(chooseInputSets(40 * MB, 50 * MB, 80 * GB, 8), 4);
  // Large problem: two sets still alternate.
  EXPECT_EQ(chooseInputSets(512 * MB, 50 * MB, 80 * GB, 8), 2);
  // The cap, and the budget of half the free memory.
  EXPECT_EQ(chooseInputSets(1 * MB, 50 * MB, 80 * GB, 3), 3);
  EXPECT_EQ(chooseInputSets(10 * GB, 50 * MB, 30 * GB, 8), 1);
  // One set within 90% of free memory still runs; beyond that, none.
  EXPECT_EQ(chooseInputSets(20 * GB, 50 * MB, 23 * GB, 8), 1);
  EXPECT_EQ(chooseInputSets(20 * GB, 50 * MB, 21 * GB, 8), 0);
  EXPECT_EQ(chooseInputSets(0, 50 * MB, 1 * GB, 8), 1);
}

} // namespace
