//===- Tensor.h - dense row-major host tensor for the reference -*- C++ -*-===//
//
// A deliberately small container: a shape and a contiguous row-major buffer.
// The reference kernels index it with precomputed strides in their inner
// loops, so the class offers raw pointers and an element offset helper
// rather than views or broadcasting.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_TENSOR_H
#define FLASHGEN_REFERENCE_TENSOR_H

#include "reference/ReferenceError.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace flashgen::reference {

using Shape = std::vector<int64_t>;

/// "[2, 3, 4]"; used in every shape error message.
std::string shapeToString(const Shape &shape);

/// Product of the dimensions; throws ReferenceError on a negative dimension
/// or when the product overflows int64.
int64_t numElements(const Shape &shape);

template <typename T> class Tensor {
public:
  using value_type = T;

  /// An empty tensor stands for "operand not given" (e.g. no initial state).
  Tensor() = default;

  /// Zero-filled.
  explicit Tensor(Shape shape)
      : dims(std::move(shape)), storage(numElements(dims), T(0)) {}

  /// Every element `value`. A named function rather than a constructor so
  /// that Tensor(shape, {x}) always means "these values".
  static Tensor full(Shape shape, T value) {
    Tensor tensor(std::move(shape));
    std::fill(tensor.storage.begin(), tensor.storage.end(), value);
    return tensor;
  }

  Tensor(Shape shape, std::vector<T> values)
      : dims(std::move(shape)), storage(std::move(values)) {
    if (static_cast<int64_t>(storage.size()) != numElements(dims))
      throw ReferenceError("Tensor: shape " + shapeToString(dims) + " needs " +
                           std::to_string(numElements(dims)) + " values but " +
                           std::to_string(storage.size()) + " were given");
  }

  const Shape &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t dim(int64_t axis) const { return dims.at(axis); }
  int64_t size() const { return static_cast<int64_t>(storage.size()); }
  /// True for a default-constructed tensor (rank 0 and no storage).
  bool empty() const { return dims.empty() && storage.empty(); }

  T *data() { return storage.data(); }
  const T *data() const { return storage.data(); }
  std::vector<T> &values() { return storage; }
  const std::vector<T> &values() const { return storage; }

  T &operator[](int64_t flat) { return storage[flat]; }
  const T &operator[](int64_t flat) const { return storage[flat]; }

  /// Row-major offset of a full index; checked, so tests can use it freely.
  int64_t offset(std::initializer_list<int64_t> index) const {
    if (static_cast<int64_t>(index.size()) != rank())
      throw ReferenceError("Tensor: index of rank " +
                           std::to_string(index.size()) +
                           " used on a tensor of shape " + shapeToString(dims));
    int64_t flat = 0;
    int64_t axis = 0;
    for (int64_t i : index) {
      if (i < 0 || i >= dims[axis])
        throw ReferenceError("Tensor: index " + std::to_string(i) +
                             " out of range on axis " + std::to_string(axis) +
                             " of shape " + shapeToString(dims));
      flat = flat * dims[axis] + i;
      ++axis;
    }
    return flat;
  }

  T &at(std::initializer_list<int64_t> index) { return storage[offset(index)]; }
  const T &at(std::initializer_list<int64_t> index) const {
    return storage[offset(index)];
  }

private:
  Shape dims;
  std::vector<T> storage;
};

/// Element-wise conversion (e.g. double inputs to the float chunkwise form).
template <typename To, typename From>
Tensor<To> castTensor(const Tensor<From> &source) {
  if (source.empty())
    return Tensor<To>();
  std::vector<To> converted(source.values().begin(), source.values().end());
  return Tensor<To>(source.shape(), std::move(converted));
}

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_TENSOR_H
