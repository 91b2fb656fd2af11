//===- Result.h - a value or an error message -------------------*- C++ -*-===//
//
// The schedule library is built with exceptions (Z3's C++ API throws them)
// but is called from MLIR passes built without: no exception leaves it. Every
// entry point that can fail returns a Result, a value or a message that says
// what is wrong with numbers.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_SCHEDULE_RESULT_H
#define FLASHGEN_SCHEDULE_RESULT_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace flashgen::schedule {

template <typename T> class Result {
public:
  Result(T value) : value_(std::move(value)) {}

  static Result failure(std::string message) {
    Result r;
    r.error_ = std::move(message);
    return r;
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  const T &operator*() const {
    assert(ok() && "dereferencing a failed Result");
    return *value_;
  }
  T &operator*() {
    assert(ok() && "dereferencing a failed Result");
    return *value_;
  }
  const T *operator->() const { return &**this; }
  T *operator->() { return &**this; }

  /// The message of a failed Result ("" when it holds a value).
  const std::string &error() const { return error_; }

private:
  Result() = default;
  std::optional<T> value_;
  std::string error_;
};

} // namespace flashgen::schedule

#endif // FLASHGEN_SCHEDULE_RESULT_H
