//===- Npy.cpp - read and write NumPy .npy files -------------------------===//
//
// Format (numpy/lib/format.py, "NPY format"): the magic "\x93NUMPY", a
// major and minor version byte, the header length (uint16 in version 1,
// uint32 in versions 2 and 3), then an ASCII/UTF-8 Python dict literal
// with keys 'descr', 'fortran_order' and 'shape', padded with spaces and a
// final '\n' so that the data starts at a multiple of 64 bytes.
//
//===----------------------------------------------------------------------===//

#include "reference/Npy.h"

#include "reference/Bf16.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace flashgen::reference {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLength = 6;
constexpr size_t kAlignment = 64;

bool hostIsLittleEndian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

void requireLittleEndianHost() {
  // The payload is copied as-is; a big-endian host would need byte swaps.
  if (!hostIsLittleEndian())
    throw ReferenceError("npy: this host is big-endian; only little-endian "
                         "hosts are supported");
}

/// Minimal reader for the header's dict literal; `source` names the file.
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &source)
      : text(text), source(source) {}

  /// Position just after `'key':` (single or double quotes).
  size_t valueOf(const char *key) const {
    for (const char quote : {'\'', '"'}) {
      const std::string needle = std::string(1, quote) + key + quote;
      size_t at = text.find(needle);
      if (at == std::string::npos)
        continue;
      at += needle.size();
      at = skipSpaces(at);
      if (at < text.size() && text[at] == ':')
        return skipSpaces(at + 1);
    }
    fail(std::string("header has no '") + key + "' entry");
  }

  std::string quotedString(size_t at) const {
    if (at >= text.size() || (text[at] != '\'' && text[at] != '"'))
      fail("'descr' is not a quoted string");
    const char quote = text[at];
    const size_t end = text.find(quote, at + 1);
    if (end == std::string::npos)
      fail("unterminated 'descr' string");
    return text.substr(at + 1, end - at - 1);
  }

  bool boolean(size_t at) const {
    if (text.compare(at, 4, "True") == 0)
      return true;
    if (text.compare(at, 5, "False") == 0)
      return false;
    fail("'fortran_order' is neither True nor False");
  }

  Shape tuple(size_t at) const {
    if (at >= text.size() || text[at] != '(')
      fail("'shape' is not a tuple");
    Shape shape;
    ++at;
    while (true) {
      at = skipSpaces(at);
      if (at >= text.size())
        fail("unterminated 'shape' tuple");
      if (text[at] == ')')
        return shape;
      if (!std::isdigit(static_cast<unsigned char>(text[at])))
        fail("'shape' holds something other than non-negative integers");
      int64_t extent = 0;
      while (at < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[at]))) {
        if (extent > (INT64_MAX - 9) / 10)
          fail("a 'shape' entry is too large");
        extent = extent * 10 + (text[at] - '0');
        ++at;
      }
      if (at < text.size() && text[at] == 'L') // Python 2 long suffix
        ++at;
      shape.push_back(extent);
      at = skipSpaces(at);
      if (at < text.size() && text[at] == ',')
        ++at;
    }
  }

  [[noreturn]] void fail(const std::string &what) const {
    throw ReferenceError("npy: " + source + ": " + what + " (header: " + text +
                         ")");
  }

private:
  size_t skipSpaces(size_t at) const {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
      ++at;
    return at;
  }

  const std::string &text;
  const std::string &source;
};

NpyDType dtypeFromDescr(const std::string &descr, const HeaderParser &parser) {
  for (NpyDType dtype : {NpyDType::Float32, NpyDType::Float64, NpyDType::UInt16,
                         NpyDType::Int32, NpyDType::Int64})
    if (descr == npyDescr(dtype))
      return dtype;
  if (!descr.empty() && descr[0] == '>')
    parser.fail("big-endian dtype '" + descr + "' is not supported");
  parser.fail("dtype '" + descr +
              "' is not supported (use <f4, <f8, <u2, <i4 or <i8)");
}

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw ReferenceError("npy: cannot open '" + path + "' for reading");
  std::string content((std::istreambuf_iterator<char>(file)),
                      std::istreambuf_iterator<char>());
  if (file.bad())
    throw ReferenceError("npy: error while reading '" + path + "'");
  return content;
}

template <typename T>
void writeTensor(const std::string &path, const Tensor<T> &tensor,
                 NpyDType dtype) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = tensor.shape();
  array.bytes.resize(tensor.size() * sizeof(T));
  if (!array.bytes.empty())
    std::memcpy(array.bytes.data(), tensor.data(), array.bytes.size());
  writeNpy(path, array);
}

template <typename T>
Tensor<T> tensorFromArray(const NpyArray &array, NpyDType dtype,
                          const std::string &path) {
  if (array.dtype != dtype)
    throw ReferenceError("npy: '" + path + "' holds dtype " +
                         npyDescr(array.dtype) + " but " + npyDescr(dtype) +
                         " was expected");
  Tensor<T> tensor(array.shape);
  if (!array.bytes.empty())
    std::memcpy(tensor.data(), array.bytes.data(), array.bytes.size());
  return tensor;
}

template <typename T>
Tensor<T> readTensor(const std::string &path, NpyDType dtype) {
  return tensorFromArray<T>(readNpy(path), dtype, path);
}

} // namespace

const char *npyDescr(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float32:
    return "<f4";
  case NpyDType::Float64:
    return "<f8";
  case NpyDType::UInt16:
    return "<u2";
  case NpyDType::Int32:
    return "<i4";
  case NpyDType::Int64:
    return "<i8";
  }
  return "?";
}

int64_t npyItemSize(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float32:
  case NpyDType::Int32:
    return 4;
  case NpyDType::Float64:
  case NpyDType::Int64:
    return 8;
  case NpyDType::UInt16:
    return 2;
  }
  return 0;
}

std::string encodeNpy(const NpyArray &array) {
  requireLittleEndianHost();
  const int64_t expected = numElements(array.shape) * npyItemSize(array.dtype);
  if (static_cast<int64_t>(array.bytes.size()) != expected)
    throw ReferenceError("npy: an array of dtype " +
                         std::string(npyDescr(array.dtype)) + " and shape " +
                         shapeToString(array.shape) + " needs " +
                         std::to_string(expected) + " bytes, not " +
                         std::to_string(array.bytes.size()));
  std::string dict = "{'descr': '" + std::string(npyDescr(array.dtype)) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i)
    dict += std::to_string(array.shape[i]) + ", ";
  if (array.shape.size() > 1) // "(2, 3)" but "(5,)" and "()"
    dict.erase(dict.size() - 2);
  else if (array.shape.size() == 1)
    dict.erase(dict.size() - 1);
  dict += "), }";

  // Version 1.0 stores the header length in 16 bits; larger headers (only
  // possible with absurd ranks) go to version 2.0.
  size_t prefix = kMagicLength + 2 + 2;
  size_t total =
      (prefix + dict.size() + 1 + kAlignment - 1) / kAlignment * kAlignment;
  const bool version2 = total - prefix > 0xFFFF;
  if (version2) {
    prefix = kMagicLength + 2 + 4;
    total =
        (prefix + dict.size() + 1 + kAlignment - 1) / kAlignment * kAlignment;
  }
  const size_t headerLength = total - prefix;
  dict.append(headerLength - dict.size() - 1, ' ');
  dict += '\n';

  std::string content(kMagic, kMagicLength);
  content += static_cast<char>(version2 ? 2 : 1);
  content += static_cast<char>(0);
  for (size_t i = 0; i < (version2 ? 4u : 2u); ++i)
    content += static_cast<char>((headerLength >> (8 * i)) & 0xFF);
  content += dict;
  content.append(reinterpret_cast<const char *>(array.bytes.data()),
                 array.bytes.size());
  return content;
}

NpyArray decodeNpy(const std::string &content, const std::string &source) {
  requireLittleEndianHost();
  auto fail = [&](const std::string &what) -> ReferenceError {
    return ReferenceError("npy: " + source + ": " + what);
  };
  if (content.size() < kMagicLength + 4 ||
      content.compare(0, kMagicLength, kMagic, kMagicLength) != 0)
    throw fail("not a .npy file (missing \\x93NUMPY magic)");
  const auto major = static_cast<uint8_t>(content[kMagicLength]);
  size_t lengthBytes;
  if (major == 1)
    lengthBytes = 2;
  else if (major == 2 || major == 3)
    lengthBytes = 4;
  else
    throw fail("unsupported format version " + std::to_string(major));
  const size_t lengthAt = kMagicLength + 2;
  if (content.size() < lengthAt + lengthBytes)
    throw fail("truncated header");
  size_t headerLength = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |=
        static_cast<size_t>(static_cast<uint8_t>(content[lengthAt + i]))
        << (8 * i);
  const size_t dataAt = lengthAt + lengthBytes + headerLength;
  if (content.size() < dataAt)
    throw fail("header length " + std::to_string(headerLength) +
               " runs past the end of the file");
  const std::string header =
      content.substr(lengthAt + lengthBytes, headerLength);
  const HeaderParser parser(header, source);

  NpyArray array;
  array.dtype =
      dtypeFromDescr(parser.quotedString(parser.valueOf("descr")), parser);
  if (parser.boolean(parser.valueOf("fortran_order")))
    parser.fail("Fortran-order arrays are not supported; save a C-order "
                "copy (np.ascontiguousarray)");
  array.shape = parser.tuple(parser.valueOf("shape"));

  int64_t count;
  try {
    count = numElements(array.shape);
  } catch (const ReferenceError &) {
    parser.fail("'shape' has too many elements");
  }
  const int64_t itemSize = npyItemSize(array.dtype);
  if (count > INT64_MAX / itemSize)
    parser.fail("'shape' has too many elements");
  const size_t payload = content.size() - dataAt;
  if (static_cast<int64_t>(payload) != count * itemSize)
    throw fail("holds " + std::to_string(payload) + " data bytes but shape " +
               shapeToString(array.shape) + " of " + npyDescr(array.dtype) +
               " needs " + std::to_string(count * itemSize));
  array.bytes.assign(content.begin() + dataAt, content.end());
  return array;
}

NpyArray readNpy(const std::string &path) {
  return decodeNpy(readFile(path), "'" + path + "'");
}

void writeNpy(const std::string &path, const NpyArray &array) {
  const std::string content = encodeNpy(array);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file)
    throw ReferenceError("npy: cannot open '" + path + "' for writing");
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file)
    throw ReferenceError("npy: error while writing '" + path + "'");
}

void writeNpy(const std::string &path, const Tensor<float> &tensor) {
  writeTensor(path, tensor, NpyDType::Float32);
}
void writeNpy(const std::string &path, const Tensor<double> &tensor) {
  writeTensor(path, tensor, NpyDType::Float64);
}
void writeNpy(const std::string &path, const Tensor<uint16_t> &tensor) {
  writeTensor(path, tensor, NpyDType::UInt16);
}
void writeNpy(const std::string &path, const Tensor<int32_t> &tensor) {
  writeTensor(path, tensor, NpyDType::Int32);
}
void writeNpy(const std::string &path, const Tensor<int64_t> &tensor) {
  writeTensor(path, tensor, NpyDType::Int64);
}

Tensor<float> readNpyFloat32(const std::string &path) {
  return readTensor<float>(path, NpyDType::Float32);
}
Tensor<double> readNpyFloat64(const std::string &path) {
  return readTensor<double>(path, NpyDType::Float64);
}
Tensor<uint16_t> readNpyUInt16(const std::string &path) {
  return readTensor<uint16_t>(path, NpyDType::UInt16);
}
Tensor<int32_t> readNpyInt32(const std::string &path) {
  return readTensor<int32_t>(path, NpyDType::Int32);
}
Tensor<int64_t> readNpyInt64(const std::string &path) {
  return readTensor<int64_t>(path, NpyDType::Int64);
}

Tensor<double> readNpyAsDouble(const std::string &path) {
  const NpyArray array = readNpy(path);
  if (array.dtype == NpyDType::Float64)
    return tensorFromArray<double>(array, NpyDType::Float64, path);
  if (array.dtype == NpyDType::Float32)
    return castTensor<double>(
        tensorFromArray<float>(array, NpyDType::Float32, path));
  throw ReferenceError("npy: '" + path + "' holds dtype " +
                       npyDescr(array.dtype) +
                       "; only <f4 and <f8 can be read as double");
}

Tensor<float> readNpyBf16AsFloat(const std::string &path) {
  return tensorFromBf16Bits(readNpyUInt16(path));
}

} // namespace flashgen::reference
