//===- NpyTest.cpp - .npy reading and writing -----------------------------===//

#include "reference/Npy.h"
#include "reference/Bf16.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace flashgen::reference;

namespace {

/// A per-test scratch directory, removed afterwards.
class NpyTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("flashgen-npy-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string &name) const {
    return (dir / name).string();
  }
  std::filesystem::path dir;
};

/// The header numpy itself writes (format 1.0, padded to 64 bytes),
/// built by hand from the format description.
std::string numpyStyleFile(const std::string &dict, const std::string &data,
                           char version = 1) {
  const size_t prefix = version == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY";
  file += version;
  file += '\0';
  const size_t length = header.size();
  for (size_t i = 0; i < prefix - 8; ++i)
    file += static_cast<char>((length >> (8 * i)) & 0xFF);
  return file + header + data;
}

TEST_F(NpyTest, HeaderIsWhatNumpyWrites) {
  Tensor<double> t({2, 3}, {1, 2, 3, 4, 5, 6});
  writeNpy(path("a.npy"), t);
  std::ifstream file(path("a.npy"), std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(file)),
                      std::istreambuf_iterator<char>());
  const std::string expected = numpyStyleFile(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
      std::string(reinterpret_cast<const char *>(t.data()), 48));
  EXPECT_EQ(content, expected);
  EXPECT_EQ((content.size() - 48) % 64, 0u);
}

TEST_F(NpyTest, RoundTripsEveryDtypeAndRank) {
  Tensor<float> f32({3, 1, 2}, {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f});
  Tensor<double> f64({5}, {1.0, 2.0, 1e300, -1e-300, 0.1});
  Tensor<uint16_t> u16({2, 2}, {0x3F80, 0xFF80, 0, 0xFFFF});
  Tensor<int32_t> i32({1, 3}, {-1, 0, 2147483647});
  Tensor<int64_t> i64(Shape{}, std::vector<int64_t>{-1234567890123LL});
  Tensor<float> emptyRows({0, 4});
  writeNpy(path("f32.npy"), f32);
  writeNpy(path("f64.npy"), f64);
  writeNpy(path("u16.npy"), u16);
  writeNpy(path("i32.npy"), i32);
  writeNpy(path("i64.npy"), i64);
  writeNpy(path("empty.npy"), emptyRows);
  auto rf32 = readNpyFloat32(path("f32.npy"));
  EXPECT_EQ(rf32.shape(), f32.shape());
  EXPECT_EQ(rf32.values(), f32.values());
  auto rf64 = readNpyFloat64(path("f64.npy"));
  EXPECT_EQ(rf64.shape(), f64.shape());
  EXPECT_EQ(rf64.values(), f64.values());
  EXPECT_EQ(readNpyUInt16(path("u16.npy")).values(), u16.values());
  EXPECT_EQ(readNpyInt32(path("i32.npy")).values(), i32.values());
  auto ri64 = readNpyInt64(path("i64.npy"));
  EXPECT_EQ(ri64.rank(), 0);
  EXPECT_EQ(ri64.values(), i64.values());
  EXPECT_EQ(readNpyFloat32(path("empty.npy")).shape(), (Shape{0, 4}));
}

TEST_F(NpyTest, ReadsFloat32AsDoubleExactly) {
  Tensor<float> f32({2}, {0.1f, -7.0f});
  writeNpy(path("x.npy"), f32);
  auto d = readNpyAsDouble(path("x.npy"));
  EXPECT_EQ(d[0], static_cast<double>(0.1f));
  EXPECT_EQ(d[1], -7.0);
  writeNpy(path("u.npy"), Tensor<uint16_t>({1}));
  EXPECT_THROW(readNpyAsDouble(path("u.npy")), ReferenceError);
}

TEST_F(NpyTest, Bf16BitsConvention) {
  Tensor<double> values({3}, {1.0, 0.3, -1e5});
  writeNpy(path("q.bf16.npy"), bf16BitsFromTensor(values));
  auto back = readNpyBf16AsFloat(path("q.bf16.npy"));
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(back[i], static_cast<float>(roundToBf16(values[i])));
}

TEST_F(NpyTest, ParsesOtherHeaderSpellings) {
  // Version 2.0, double quotes, keys in another order, a 1-tuple, extra
  // spaces: all legal per the format description.
  const float values[] = {4.0f, 5.0f, 6.0f};
  const std::string data(reinterpret_cast<const char *>(values), 12);
  const std::string content = numpyStyleFile(
      "{\"shape\": (3 ,), \"fortran_order\": False, \"descr\": \"<f4\"}", data,
      2);
  auto array = decodeNpy(content, "fixture");
  EXPECT_EQ(array.dtype, NpyDType::Float32);
  EXPECT_EQ(array.shape, (Shape{3}));
  EXPECT_EQ(array.bytes.size(), 12u);
  float back[3];
  std::memcpy(back, array.bytes.data(), 12);
  EXPECT_EQ(back[2], 6.0f);
}

std::string errorOf(const std::string &content) {
  try {
    decodeNpy(content, "fixture");
  } catch (const ReferenceError &error) {
    return error.what();
  }
  return "";
}

TEST_F(NpyTest, MalformedFilesAreRejectedWithReasons) {
  const std::string f8(8, '\0');
  EXPECT_NE(errorOf("PK\x03\x04 not npy").find("missing \\x93NUMPY magic"),
            std::string::npos);
  EXPECT_NE(
      errorOf(
          numpyStyleFile(
              "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", f8))
          .find("big-endian"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          numpyStyleFile(
              "{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", f8))
          .find("Fortran-order"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          numpyStyleFile(
              "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", f8))
          .find("dtype '<c16' is not supported"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          numpyStyleFile(
              "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8))
          .find("holds 8 data bytes but shape [2]"),
      std::string::npos);
  EXPECT_NE(
      errorOf(numpyStyleFile("{'descr': '<f8', 'fortran_order': False}", f8))
          .find("no 'shape' entry"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          numpyStyleFile(
              "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", f8))
          .find("non-negative integers"),
      std::string::npos);
  std::string truncated = numpyStyleFile(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f8);
  EXPECT_NE(errorOf(truncated.substr(0, 30)).find("runs past the end"),
            std::string::npos);
  std::string future = truncated;
  future[6] = 9;
  EXPECT_NE(errorOf(future).find("unsupported format version 9"),
            std::string::npos);
}

TEST_F(NpyTest, WrongDtypeAndMissingFileNameThePath) {
  writeNpy(path("f.npy"), Tensor<float>({2}));
  try {
    readNpyFloat64(path("f.npy"));
    ADD_FAILURE() << "float32 file read as float64";
  } catch (const ReferenceError &error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("f.npy"), std::string::npos);
    EXPECT_NE(message.find("<f4"), std::string::npos);
  }
  try {
    readNpy(path("missing.npy"));
    ADD_FAILURE() << "missing file read";
  } catch (const ReferenceError &error) {
    EXPECT_NE(std::string(error.what()).find("missing.npy"), std::string::npos);
  }
  EXPECT_THROW(writeNpy(path("no/such/dir/x.npy"), Tensor<float>({1})),
               ReferenceError);
  NpyArray inconsistent;
  inconsistent.shape = {3};
  inconsistent.bytes.resize(4);
  EXPECT_THROW(encodeNpy(inconsistent), ReferenceError);
}

} // namespace
