//===- Npy.h - read and write NumPy .npy files ------------------*- C++ -*-===//
//
// The exchange format between the CPU side (reference outputs, generated
// inputs) and GPU tests, which are built without LLVM, and with Python
// tooling (numpy.load reads every file written here). Version 1.0 files are
// written; versions 1.0, 2.0 and 3.0 are read. Only little-endian, C-order
// arrays of the dtypes below are supported; anything else is rejected with
// a message naming the file and the dtype found.
//
// bf16 has no NumPy dtype: bf16 tensors are stored as their raw bits with
// dtype '<u2' (uint16), and by convention in a file named "*.bf16.npy";
// numpy users view them with ml_dtypes:
//   np.load("q.bf16.npy").view(ml_dtypes.bfloat16)
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_NPY_H
#define FLASHGEN_REFERENCE_NPY_H

#include "reference/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen::reference {

enum class NpyDType { Float32, Float64, UInt16, Int32, Int64 };

/// NumPy's descr string, e.g. "<f4".
const char *npyDescr(NpyDType dtype);
int64_t npyItemSize(NpyDType dtype);

/// A decoded file: dtype, shape and the raw little-endian element bytes.
struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  Shape shape;
  std::vector<uint8_t> bytes;
};

/// The whole file content for an array; throws ReferenceError when the
/// byte count does not match dtype and shape.
std::string encodeNpy(const NpyArray &array);
/// Parses file content; `source` names it in error messages.
NpyArray decodeNpy(const std::string &content, const std::string &source);

/// Reads / writes a file; throw ReferenceError naming the path on I/O
/// failure or malformed content.
NpyArray readNpy(const std::string &path);
void writeNpy(const std::string &path, const NpyArray &array);

void writeNpy(const std::string &path, const Tensor<float> &tensor);
void writeNpy(const std::string &path, const Tensor<double> &tensor);
void writeNpy(const std::string &path, const Tensor<uint16_t> &tensor);
void writeNpy(const std::string &path, const Tensor<int32_t> &tensor);
void writeNpy(const std::string &path, const Tensor<int64_t> &tensor);

/// Exact-dtype readers: throw if the file holds another dtype, so a
/// float64 expected output is never silently read as float32.
Tensor<float> readNpyFloat32(const std::string &path);
Tensor<double> readNpyFloat64(const std::string &path);
Tensor<uint16_t> readNpyUInt16(const std::string &path);
Tensor<int32_t> readNpyInt32(const std::string &path);
Tensor<int64_t> readNpyInt64(const std::string &path);

/// Reads float32 or float64 (exactly) as double; rejects other dtypes.
Tensor<double> readNpyAsDouble(const std::string &path);

/// bf16 convention: write the bits with writeNpy(path, Tensor<uint16_t>)
/// (see bf16BitsFromTensor); this reads them back as the floats they are.
Tensor<float> readNpyBf16AsFloat(const std::string &path);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_NPY_H
