//===- Tensor.cpp - shape helpers of the reference tensor ----------------===//

#include "reference/Tensor.h"

#include <limits>

namespace flashgen::reference {

std::string shapeToString(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t numElements(const Shape &shape) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0)
      throw ReferenceError("Tensor: negative dimension in shape " +
                           shapeToString(shape));
    if (extent != 0 && count > std::numeric_limits<int64_t>::max() / extent)
      throw ReferenceError("Tensor: shape " + shapeToString(shape) +
                           " has more elements than int64 can count");
    count *= extent;
  }
  return count;
}

} // namespace flashgen::reference
