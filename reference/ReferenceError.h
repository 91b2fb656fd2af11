//===- ReferenceError.h - reference library errors --------------*- C++ -*-===//
//
// Every check in reference/ that rejects its input throws ReferenceError with
// a message naming the op, the argument and what was expected, e.g.
//   "linear_attention: 'v' has shape [2, 3, 9, 4] but [2, 3, 8, *] was
//   expected".
// Callers that cannot use exceptions (MLIR code built with -fno-exceptions)
// call the validate*() functions first; they return the same message instead
// of throwing.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_REFERENCEERROR_H
#define FLASHGEN_REFERENCE_REFERENCEERROR_H

#include <stdexcept>
#include <string>

namespace flashgen::reference {

/// Raised for invalid shapes, attributes or files; never for numerical
/// results (a NaN produced by a user's score_mod propagates as a value).
class ReferenceError : public std::runtime_error {
public:
  explicit ReferenceError(const std::string &message)
      : std::runtime_error(message) {}
};

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_REFERENCEERROR_H
