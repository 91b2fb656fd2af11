//===- ReferenceCheckTest.cpp - flashgen_refcheck on the CPU -----------------===//
//
// The comparison and reference binding that flashgen-run and the GPU
// correctness tests share (runtime/tools/ReferenceCheck.h), without a GPU.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/ReferenceCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

using namespace flashgen;
using namespace flashgen::refcheck;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ReferenceCompare, EqualOutputsPass) {
  Comparison c = compare({1, -2, 3}, {1, -2, 3}, toleranceFor("bf16"));
  EXPECT_EQ(c.relError, 0);
  EXPECT_TRUE(c.passed()) << c.summary();
}

TEST(ReferenceCompare, RelativeL2Error) {
  // ||(0.03, 0.04)|| / ||(3, 4)|| = 0.05 / 5 = 1e-2.
  Comparison c = compare({3.03, 4.04}, {3, 4}, 1.0);
  EXPECT_NEAR(c.relError, 1e-2, 1e-12);
  EXPECT_NEAR(c.maxAbs, 0.04, 1e-12);
}

TEST(ReferenceCompare, NaNFailsWhateverTheError) {
  // One unwritten (poisoned) element among many exact ones.
  std::vector<double> want(1000, 1.0), got = want;
  got[517] = kNaN;
  Comparison c = compare(got, want, toleranceFor("bf16"));
  EXPECT_EQ(c.nans, 1u);
  EXPECT_EQ(c.relError, 0);
  EXPECT_FALSE(c.passed());
  EXPECT_NE(c.summary().find("nan 1"), std::string::npos) << c.summary();
}

TEST(ReferenceCompare, InfinitiesMustMatchExactly) {
  // The log-sum-exp of a row that sees no key is -inf.
  EXPECT_TRUE(compare({-kInf, 1}, {-kInf, 1}, 2e-3).passed());
  Comparison finite = compare({-1e30, 1}, {-kInf, 1}, 2e-3);
  EXPECT_EQ(finite.infMismatches, 1u);
  EXPECT_FALSE(finite.passed());
  EXPECT_EQ(compare({kInf, 1}, {-kInf, 1}, 2e-3).infMismatches, 1u);
  EXPECT_EQ(compare({kInf, 1}, {5, 1}, 2e-3).infMismatches, 1u);
}

TEST(ReferenceCompare, TolerancePerDtype) {
  EXPECT_EQ(toleranceFor("bf16"), 1e-2);
  EXPECT_EQ(toleranceFor("f32"), 2e-3);
  // A 5e-3 relative error is bf16 rounding but too much for f32 outputs.
  std::vector<double> want = {1, 2, 3}, got;
  for (double w : want)
    got.push_back(w * 1.005);
  EXPECT_TRUE(compare(got, want, toleranceFor("bf16")).passed());
  EXPECT_FALSE(compare(got, want, toleranceFor("f32")).passed());
}

TEST(ReferenceCompare, ZeroReferenceUsesAbsoluteError) {
  EXPECT_TRUE(compare({0, 0}, {0, 0}, 2e-3).passed());
  Comparison c = compare({3e-3, 4e-3}, {0, 0}, 2e-3);
  EXPECT_NEAR(c.relError, 5e-3, 1e-12);
  EXPECT_FALSE(c.passed());
}

TEST(ReferenceCompare, SizeMismatchFails) {
  Comparison c = compare({1, 2}, {1, 2, 3}, 1e-2);
  EXPECT_EQ(c.sizeMismatch, 1u);
  EXPECT_FALSE(c.passed());
}

TEST(ReferenceCompare, AsDoublesReadsBf16AndF32) {
  // bf16 1.0 is 0x3F80, -2.0 0xC000; the poison 0xFFFF is NaN.
  std::vector<uint8_t> bf16 = {0x80, 0x3F, 0x00, 0xC0, kPoison, kPoison};
  std::vector<double> v = asDoubles(bf16, DType::BF16);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], 1.0);
  EXPECT_EQ(v[1], -2.0);
  EXPECT_TRUE(std::isnan(v[2]));
  float f[2] = {0.25f, 0};
  std::vector<uint8_t> f32(reinterpret_cast<uint8_t *>(f),
                           reinterpret_cast<uint8_t *>(f) + sizeof f);
  std::memset(f32.data() + 4, kPoison, 4);
  v = asDoubles(f32, DType::F32);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], 0.25);
  EXPECT_TRUE(std::isnan(v[1]));
}

std::vector<Kernel::ParamInfo> attentionParams() {
  using Io = Kernel::ParamInfo::Io;
  return {{"q", DType::BF16, 4, Io::In, false},
          {"o", DType::BF16, 4, Io::Out, false},
          {"lse", DType::F32, 3, Io::Out, true}};
}

TEST(ReferenceBinding, ParamsInKernelOrderOptionalAbsentAsNull) {
  // The reference lists its tensors in its own order and has no lse.
  std::vector<TensorFile> files = {
      {"o", "output", "bf16", "o.expected.npy", {2, 4, 5, 8}},
      {"q", "input", "bf16", "q.bf16.npy", {2, 4, 5, 8}}};
  std::vector<Operand> ops;
  std::string error;
  ASSERT_TRUE(planOperands(files, attentionParams(), Layout::Contiguous, ops,
                           error))
      << error;
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].file, &files[1]);
  EXPECT_FALSE(ops[0].output);
  EXPECT_EQ(ops[1].file, &files[0]);
  EXPECT_TRUE(ops[1].output);
  EXPECT_EQ(ops[0].elementBytes, 2u);
  EXPECT_EQ(ops[0].bufferBytes(), 2u * 4 * 5 * 8 * 2);
  EXPECT_EQ(ops[2].file, nullptr);
  std::vector<TensorArg> args = fakeArgs(ops);
  ASSERT_EQ(args.size(), 3u);
  EXPECT_NE(args[0].data, nullptr);
  EXPECT_NE(args[0].data, args[1].data);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(args[1].data) % 16, 0u);
  EXPECT_EQ(args[2].data, nullptr);
  EXPECT_EQ(args[2].rank, 3);
  EXPECT_EQ(args[0].strides[3], 1);
  EXPECT_EQ(args[0].strides[0], 4 * 5 * 8);
}

TEST(ReferenceBinding, PaddedLayoutOffsetsTheView) {
  std::vector<TensorFile> files = {
      {"o", "output", "bf16", "o.expected.npy", {1, 2, 3, 8}},
      {"q", "input", "bf16", "q.bf16.npy", {1, 2, 3, 8}}};
  std::vector<Operand> ops;
  std::string error;
  ASSERT_TRUE(
      planOperands(files, attentionParams(), Layout::Padded, ops, error));
  EXPECT_GT(ops[0].layout.offset, 0);
  EXPECT_GT(ops[0].layout.strides[2], 8);
  char *base = static_cast<char *>(fakeDeviceAddress(0));
  EXPECT_EQ(static_cast<char *>(ops[0].arg(base).data) - base,
            ops[0].layout.offset * 2);
}

TEST(ReferenceBinding, MissingRequiredParamIsNamed) {
  std::vector<TensorFile> files = {
      {"q", "input", "bf16", "q.bf16.npy", {2, 4, 5, 8}}};
  std::vector<Operand> ops;
  std::string error;
  EXPECT_FALSE(planOperands(files, attentionParams(), Layout::Contiguous, ops,
                            error));
  EXPECT_NE(error.find("'o'"), std::string::npos) << error;
}

TEST(ReferenceBinding, UnknownDtypeIsRefused) {
  std::vector<TensorFile> files = {
      {"q", "input", "bf17", "q.npy", {2, 4, 5, 8}},
      {"o", "output", "bf16", "o.npy", {2, 4, 5, 8}}};
  std::vector<Operand> ops;
  std::string error;
  EXPECT_FALSE(planOperands(files, attentionParams(), Layout::Contiguous, ops,
                            error));
  EXPECT_NE(error.find("bf17"), std::string::npos) << error;
}

std::string tempDir() {
  char pattern[] = "/tmp/flashgen-refcheck-XXXXXX";
  const char *dir = mkdtemp(pattern);
  if (!dir)
    throw std::runtime_error("mkdtemp failed");
  return dir;
}

TEST(ReferenceMeta, ReadsTensors) {
  std::string dir = tempDir();
  std::ofstream(dir + "/meta.json")
      << R"({"name": "x", "seed": 1, "dims": {"B": 2}, "tensors": [
           {"name": "q", "role": "input", "dtype": "bf16", "shape": [2, 3],
            "file": "q.bf16.npy"},
           {"name": "o", "role": "output", "dtype": "f32", "shape": [2],
            "file": "o.expected.npy"}]})";
  std::vector<TensorFile> files = readReferenceMeta(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "q");
  EXPECT_EQ(files[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(files[1].role, "output");
  EXPECT_EQ(files[1].file, "o.expected.npy");
  std::remove((dir + "/meta.json").c_str());
  std::remove(dir.c_str());
}

TEST(ReferenceMeta, MalformedOrMissingNamesTheFile) {
  std::string dir = tempDir();
  try {
    readReferenceMeta(dir);
    ADD_FAILURE() << "no meta.json accepted";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/meta.json"), std::string::npos)
        << e.what();
  }
  std::ofstream(dir + "/meta.json")
      << R"({"tensors": [{"name": "q", "role": "input", "dtype": "bf16",
             "file": "q.bf16.npy"}]})";
  try {
    readReferenceMeta(dir);
    ADD_FAILURE() << "a tensor without a shape accepted";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("has no shape"), std::string::npos)
        << e.what();
  }
  std::remove((dir + "/meta.json").c_str());
  std::remove(dir.c_str());
}

} // namespace
